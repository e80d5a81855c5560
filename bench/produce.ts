/**
 * bench/produce: 1 KiB records from a librdkafka producer (linger 5 ms, batch 1 MiB, acks=all)
 * for 30 s against a standalone broker started as `npm start` starts it (own data dir, free
 * ports). Prints MB/s, records/s, p50/p99 produce latency and the broker's peak RSS.
 *
 * A second phase at a fixed rate (default 10,000 records/s) measures latency below saturation.
 *
 *   npm run build && node dist/bench/produce.js [--seconds 30] [--size 1024] [--rate 10000]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const seconds = Number(arg('seconds', '30'));
const size = Number(arg('size', '1024'));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

async function rss(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return Number(/^process_resident_memory_bytes (\S+)/m.exec(text)?.[1] ?? NaN);
}

const dataDir = await mkdtemp(join(tmpdir(), 'automq-bench-'));
const port = await freePort();
const metricsPort = await freePort();
const broker = spawn(
  process.execPath,
  [join(root, 'dist/broker/src/cli/main.js'), 'standalone', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--metrics-port', String(metricsPort), '--log-level', 'warn'],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
let ready = false;
broker.stdout.on('data', () => undefined);
for (let i = 0; i < 200 && !ready; i++) {
  try {
    await rss(metricsPort);
    ready = true;
  } catch {
    await new Promise((r) => setTimeout(r, 100));
  }
}
if (!ready) throw new Error('broker did not start within 20 s');

let peakRss = await rss(metricsPort);
const sampler = setInterval(() => {
  rss(metricsPort).then((v) => (peakRss = Math.max(peakRss, v)), () => undefined);
}, 500);

async function phase(rate: number): Promise<Record<string, number>> {
  const producer = spawn(
    '/usr/bin/python3',
    [join(root, 'bench/produce_librdkafka.py'), '--bootstrap', `127.0.0.1:${port}`, '--seconds', String(seconds), '--size', String(size), '--rate', String(rate)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  producer.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => producer.on('exit', resolve));
  if (code !== 0) throw new Error(`producer exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>;
}

// Phase 1 saturates the broker (throughput; latency then includes the client's own queue).
// Phase 2 runs at a fixed rate well below saturation, so latency reflects the broker (WAL flush).
const r = await phase(0);
const fixedRate = Number(arg('rate', '10000'));
const lat = await phase(fixedRate);
clearInterval(sampler);
peakRss = Math.max(peakRss, await rss(metricsPort));
broker.kill('SIGTERM');
await new Promise((resolve) => broker.on('exit', resolve));
await rm(dataDir, { recursive: true, force: true });
console.log(`bench/produce: ${size} B records, librdkafka linger.ms=5 batch.size=1MiB acks=all, ${seconds} s`);
console.log(`  throughput   ${r['mb_per_s']} MB/s, ${r['records_per_s']} records/s (${r['records']} acked, ${r['errors']} errors)`);
console.log(`  latency      p50 ${r['p50_ms']} ms, p99 ${r['p99_ms']} ms at saturation (includes the client's queue)`);
console.log(`  latency      p50 ${lat['p50_ms']} ms, p99 ${lat['p99_ms']} ms at a fixed ${fixedRate} records/s (${lat['mb_per_s']} MB/s, ${lat['errors']} errors)`);
console.log(`  broker RSS   peak ${(peakRss / 1048576).toFixed(0)} MiB`);
console.log(JSON.stringify({ saturated: r, fixedRate: { rate: fixedRate, ...lat }, peak_rss_mib: Math.round(peakRss / 1048576) }));
