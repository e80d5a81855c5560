// The broker process on MinIO (`automq standalone --object-store s3://...`), as users run it:
// startup errors for a bad store, produce/consume, kill -9 and restart, and S3 faults through the
// fault-injecting proxy (no acked record lost, none twice, service resumes, memory bounded).
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Producer } from 'kafkajs';
import { Proc, freePorts, removeDir, repoRoot, tempDir } from '../helpers/broker.js';
import { kafkaFor, withAdmin } from '../helpers/kafka-admin.js';
import { S3FaultProxy } from './fault-proxy.js';
import { MINIO_START_TIMEOUT_MS, minio } from './minio.hooks.js';
import type { Minio } from './minio.hooks.js';
import { s3Url, uniquePrefix, waitUntil } from './helpers.js';

const brokerMain = path.join(repoRoot, 'dist/broker/src/cli/main.js');

interface S3Broker {
  proc: Proc;
  bootstrap: string;
  metricsPort: number;
  stop(): Promise<void>;
  kill9(): Promise<void>;
}

function brokerEnv(m: Minio, over: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AWS_ACCESS_KEY_ID: m.accessKeyId,
    AWS_SECRET_ACCESS_KEY: m.secretAccessKey,
    AWS_REGION: m.region,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // No shared config/credentials files or instance metadata lookups from the developer's machine.
    AWS_CONFIG_FILE: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...over,
  };
}

async function startS3Broker(objectStore: string, env: NodeJS.ProcessEnv, port?: number): Promise<S3Broker> {
  const [p, metricsPort] = port !== undefined ? [port, (await freePorts(1))[0]!] : await freePorts(2);
  const dataDir = await tempDir('automq-s3-broker-');
  const proc = await Proc.start(
    process.execPath,
    [brokerMain, 'standalone', '--data-dir', dataDir, '--listen', `127.0.0.1:${p}`, '--metrics-port', String(metricsPort), '--object-store', objectStore, '--wal-flush-interval-ms', '50'],
    { cwd: repoRoot, env, maxLines: 50_000 },
  );
  const cleanup = async (): Promise<void> => removeDir(dataDir);
  try {
    await waitUntil(
      () => {
        if (!proc.running) throw new Error(`broker exited early ${JSON.stringify(proc.exit)}:\n${proc.outputTail(30)}`);
        return proc.stdoutLines.some((l) => l.includes('"broker ready"'));
      },
      () => `"broker ready":\n${proc.outputTail(30)}`,
      60_000,
    );
  } catch (err) {
    await proc.stop(2000);
    await cleanup();
    throw err;
  }
  return {
    proc,
    bootstrap: `127.0.0.1:${p}`,
    metricsPort: metricsPort!,
    stop: async () => {
      await proc.stop(15_000);
      await cleanup();
    },
    kill9: async () => {
      await proc.stop(0, 'SIGKILL');
      await cleanup();
    },
  };
}

/** Resident memory of a process, from /proc. */
function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name) && !line.startsWith('#')) sum += Number(line.split(' ').pop());
  return sum;
}

/** Sends numbered records in small batches until stopped; records which ones were acked. */
function keepProducing(producer: Producer, topic: string): { acked: string[]; sent: () => number; stop: () => Promise<void> } {
  const acked: string[] = [];
  let n = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const values = Array.from({ length: 20 }, () => `r-${n++}`);
      try {
        await producer.send({ topic, acks: -1, messages: values.map((value, i) => ({ value, partition: i % 2 })) });
        acked.push(...values);
      } catch {
        // Not acked: may or may not be stored, but never twice (idempotent producer).
      }
    }
  })();
  return {
    acked,
    sent: () => n,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

async function consumeAll(bootstrap: string, topic: string, expected: number): Promise<string[]> {
  const consumer = kafkaFor(bootstrap, 'automq-s3-reader').consumer({ groupId: `g-${Date.now()}-${Math.random()}` });
  const values: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void values.push(message.value!.toString()) });
    await waitUntil(() => values.length >= expected, () => `${expected} records (got ${values.length})`, 60_000);
    // Whatever else is in the log arrives with the same fetches; give duplicates a chance to show.
    const endOffsets = await withAdmin(bootstrap, (a) => a.fetchTopicOffsets(topic));
    const total = endOffsets.reduce((s, p) => s + Number(p.high), 0);
    await waitUntil(() => values.length >= total, () => `all ${total} stored records (got ${values.length})`, 60_000);
  } finally {
    await consumer.disconnect();
  }
  return values;
}

function checkExactlyOnce(acked: string[], read: string[], sent: number): void {
  const seen = new Set<string>();
  const twice = read.filter((v) => (seen.has(v) ? true : (seen.add(v), false)));
  expect(twice, `records read twice: ${twice.slice(0, 5).join(', ')}`).to.have.length(0);
  const lost = acked.filter((v) => !seen.has(v));
  expect(lost, `acked records lost: ${lost.slice(0, 5).join(', ')}`).to.have.length(0);
  const unknown = read.filter((v) => !/^r-\d+$/.test(v) || Number(v.slice(2)) >= sent);
  expect(unknown, 'records nobody sent').to.have.length(0);
}

describe('broker on MinIO', function () {
  this.timeout(180_000);
  let m: Minio;
  const stops: (() => Promise<void>)[] = [];

  before(async function () {
    this.timeout(MINIO_START_TIMEOUT_MS);
    m = await minio();
  });
  afterEach(async () => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => undefined);
  });

  for (const c of [
    { name: 'a missing bucket', url: () => s3Url({ ...m, bucket: 'no-such-bucket-automq' }, 'x'), env: () => brokerEnv(m), re: /S3 bucket 'no-such-bucket-automq' at http:\/\/127\.0\.0\.1:\d+ does not exist/ },
    { name: 'wrong credentials', url: () => s3Url(m, 'x'), env: () => brokerEnv(m, { AWS_SECRET_ACCESS_KEY: 'wrong-secret' }), re: /rejected the credentials \(SignatureDoesNotMatch\)/ },
    { name: 'an unknown access key', url: () => s3Url(m, 'x'), env: () => brokerEnv(m, { AWS_ACCESS_KEY_ID: 'nobody' }), re: /rejected the credentials \(InvalidAccessKeyId\)/ },
  ]) {
    it(`${c.name} at startup: one clear error line and a non-zero exit`, async () => {
      const dataDir = await tempDir('automq-s3-bad-');
      stops.push(() => removeDir(dataDir));
      const proc = await Proc.start(process.execPath, [brokerMain, 'standalone', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--metrics-port', '0', '--object-store', c.url()], {
        cwd: repoRoot,
        env: c.env(),
      });
      const exit = await proc.waitExit(60_000);
      expect(exit.code, proc.outputTail(20)).to.equal(1);
      expect(proc.stderrLines, proc.outputTail(20)).to.have.length(1);
      expect(proc.stderrLines[0]).to.match(c.re);
      expect(proc.stdoutLines.join('\n'), 'no stack trace').not.to.match(/\n\s+at /);
    });
  }

  it('produces and consumes on MinIO; after kill -9 a restarted broker has every acked record exactly once', async () => {
    const url = s3Url(m, uniquePrefix('broker'));
    const env = brokerEnv(m);
    const b1 = await startS3Broker(url, env);
    stops.push(() => b1.stop());
    const topic = 'orders';
    await withAdmin(b1.bootstrap, (a) => a.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true }));
    const producer = kafkaFor(b1.bootstrap, 'p1').producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const p = keepProducing(producer, topic);
    await waitUntil(() => p.acked.length >= 2000, () => `2000 acked records (${p.acked.length})`, 60_000);
    await b1.kill9();
    // Disconnect first: the in-flight send then fails at once instead of retrying a dead broker.
    const stopped = p.stop();
    await producer.disconnect().catch(() => undefined);
    await stopped;
    const port = Number(b1.bootstrap.split(':')[1]);
    const b2 = await startS3Broker(url, env, port);
    stops.push(() => b2.stop());
    const read = await consumeAll(b2.bootstrap, topic, p.acked.length);
    checkExactlyOnce(p.acked, read, p.sent());
    expect(await metric(b2.metricsPort, 's3stream_requests_total{type="get"}')).to.be.greaterThan(0);
  });

  for (const fault of [
    { name: '503 on 40% of S3 requests', rule: { fault: { kind: 'status' as const, status: 503 as const }, probability: 0.4 }, windowMs: 3000 },
    { name: 'an S3 outage (every request stalls)', rule: { fault: { kind: 'stall' as const } }, windowMs: 12_000 },
  ]) {
    it(`${fault.name}: acked records survive, none twice, the broker resumes, RSS stays bounded`, async () => {
      const proxy = await S3FaultProxy.start(m.endpoint, 5);
      stops.push(() => proxy.close());
      const url = s3Url(m, uniquePrefix('broker-fault'), proxy.endpoint, '&timeoutMs=2000');
      const b = await startS3Broker(url, brokerEnv(m));
      stops.push(() => b.stop());
      const topic = 'events';
      await withAdmin(b.bootstrap, (a) => a.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true }));
      const producer = kafkaFor(b.bootstrap, 'p-fault').producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      stops.push(() => producer.disconnect());
      const p = keepProducing(producer, topic);
      await waitUntil(() => p.acked.length >= 1000, () => `1000 acked records (${p.acked.length})`, 60_000);
      const rssBefore = rssBytes(b.proc.pid);
      proxy.set(fault.rule);
      let rssPeak = rssBefore;
      const deadline = Date.now() + fault.windowMs;
      await waitUntil(() => {
        rssPeak = Math.max(rssPeak, rssBytes(b.proc.pid));
        return Date.now() >= deadline;
      }, 'the fault window', fault.windowMs + 5000);
      expect(proxy.injected, 'faults injected').to.be.greaterThan(3);
      const ackedAtClear = p.acked.length;
      proxy.clear();
      await waitUntil(() => p.acked.length >= ackedAtClear + 1000, () => `1000 more acks after the fault cleared (${p.acked.length - ackedAtClear})`, 90_000);
      await p.stop();
      expect(b.proc.running, b.proc.outputTail(20)).to.equal(true);
      expect(rssPeak - rssBefore, `RSS growth during the fault (before ${rssBefore >> 20} MiB)`).to.be.below(256 * 1024 * 1024);
      const read = await consumeAll(b.bootstrap, topic, p.acked.length);
      checkExactlyOnce(p.acked, read, p.sent());
      expect(await metric(b.metricsPort, 's3stream_request_retries_total')).to.be.greaterThan(0);
    });
  }
});
