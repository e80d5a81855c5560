/**
 * bench/s3: what S3 costs and how fast the broker is on a real S3 server (MinIO on loopback,
 * started by hack/minio.sh). Not a test: prints figures for docs/performance.md.
 *
 *   1. produce: --gib GiB of 1 KiB records through one broker (librdkafka, acks=all, linger 5 ms):
 *      MB/s, S3 PUTs per GiB, p50/p99 produce latency (default 250 ms WAL flush interval).
 *   2. idle cost: 10 records/s for --idle-seconds: PUTs per second.
 *   3. catch-up read: a restarted broker (empty caches) consumes the whole topic from offset 0:
 *      MB/s and GETs per GiB.
 *   4. long run: S3Stream alone on MinIO, 16 streams at --long-mbps for --long-seconds, with
 *      compaction on and off: live objects and metadata size at the end.
 *
 *   5. storage latency: S3Stream alone, 2 streams at --rate5-mbps (default 20) in 100 KiB appends
 *      for 20 s: append -> durable p50/p99 and where the WAL spent the time (seal, upload slot,
 *      PUT, ack), on an empty store and again while compaction splits a 1 GiB backlog.
 *   6. storage catch-up: 1 GiB appended to 1 (and 4) streams at once, read back by a fresh client
 *      (empty caches) stream by stream and in lockstep: MB/s, GETs per GiB.
 *
 *   npm run build && node dist/bench/s3.js [--gib 1] [--idle-seconds 60] [--long-seconds 300] [--long-modes on,off] [--skip 1,2,3,4,5,6]
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { S3ObjectStore } from '../broker/src/s3stream/object-store/s3.js';
import { openStreamClient, walFlushTimings } from '../broker/src/s3stream/stream-client.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const GiB = 1 << 30;
const MiB = 1 << 20;
const gib = Number(arg('gib', '1'));
const idleSeconds = Number(arg('idle-seconds', '60'));
const longSeconds = Number(arg('long-seconds', '300'));
const longMBps = Number(arg('long-mbps', '2'));
/** Part 4's modes: 'on,off' (default, one after the other) or one of them, to run both at once in two processes. */
const longModes = arg('long-modes', 'on,off').split(',').filter((m) => m === 'on' || m === 'off').map((m) => m === 'on');
const skip = new Set(arg('skip', '').split(',').filter(Boolean));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

// --- MinIO -------------------------------------------------------------------------------------
const stateDir = await mkdtemp(join(tmpdir(), 'automq-bench-minio-'));
const env = new Map<string, string>();
for (const line of execFileSync(join(root, 'hack/minio.sh'), ['start', stateDir], { encoding: 'utf8' }).split('\n')) {
  const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
  if (m) env.set(m[1]!, m[2]!);
}
const endpoint = env.get('MINIO_ENDPOINT')!;
const bucket = env.get('MINIO_BUCKET')!;
process.env['AWS_ACCESS_KEY_ID'] = env.get('AWS_ACCESS_KEY_ID');
process.env['AWS_SECRET_ACCESS_KEY'] = env.get('AWS_SECRET_ACCESS_KEY');
process.env['AWS_REGION'] = 'us-east-1';
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
const stopMinio = async (): Promise<void> => {
  execFileSync(join(root, 'hack/minio.sh'), ['stop', stateDir]);
  await rm(stateDir, { recursive: true, force: true });
};

// --- broker ------------------------------------------------------------------------------------
interface Running {
  port: number;
  metricsPort: number;
  stop(): Promise<void>;
}
async function startBroker(prefix: string): Promise<Running> {
  const dataDir = await mkdtemp(join(tmpdir(), 'automq-bench-'));
  const port = await freePort();
  const metricsPort = await freePort();
  const url = `s3://${bucket}/${prefix}?endpoint=${encodeURIComponent(endpoint)}&region=us-east-1&pathStyle=true`;
  const p = spawn(
    process.execPath,
    [join(root, 'dist/broker/src/cli/main.js'), 'standalone', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--metrics-port', String(metricsPort), '--object-store', url, '--log-level', 'warn'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  for (let i = 0; ; i++) {
    try {
      await metrics(metricsPort);
      break;
    } catch {
      if (i > 300) throw new Error('broker did not start within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    port,
    metricsPort,
    stop: async () => {
      p.kill('SIGTERM');
      await new Promise((r) => p.on('exit', r));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

type Metrics = Map<string, number>;
async function metrics(port: number): Promise<Metrics> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out: Metrics = new Map();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith('s3stream_')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}
const req = (m: Metrics, type: string): number => m.get(`s3stream_requests_total{type="${type}"}`) ?? 0;
const putClass = (m: Metrics): number => req(m, 'put') + req(m, 'multipart_create') + req(m, 'multipart_part') + req(m, 'multipart_complete');

function client(mode: 'produce' | 'consume', port: number, extra: string[]): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const p = spawn('/usr/bin/python3', [join(root, 'bench/s3_clients.py'), mode, '--bootstrap', `127.0.0.1:${port}`, ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>) : reject(new Error(`${mode} exited ${code}`))));
  });
}

/**
 * A fresh S3Stream client (empty caches) reads streams from their start in 4 MiB fetches, like a
 * catch-up consumer: 'one-by-one' reads each stream to its end before the next, 'lockstep' does
 * one fetch per stream in turn, as a consumer of all partitions does. `ids` undefined = all.
 */
async function readStreamsBack(store: S3ObjectStore, nodeId: number, ids: number[] | undefined, mode: 'one-by-one' | 'lockstep') {
  const sc = await openStreamClient({ store, nodeId, compactionIntervalMs: 0 }, { sweepOrphans: false });
  const streams = await Promise.all((ids ?? sc.listStreams().map((info) => info.id)).map((id) => sc.openStream(id)));
  const g0 = sc.stats();
  const t0 = Date.now();
  let got = 0;
  const pos = streams.map((s) => s.startOffset());
  const step = async (k: number): Promise<void> => {
    const s = streams[k]!;
    const batches = await s.fetch(pos[k]!, s.confirmOffset(), 4 * MiB);
    for (const bt of batches) got += bt.payload.length;
    pos[k] = batches[batches.length - 1]!.baseOffset + batches[batches.length - 1]!.count;
  };
  if (mode === 'one-by-one') {
    for (let k = 0; k < streams.length; k++) while (pos[k]! < streams[k]!.confirmOffset()) await step(k);
  } else {
    while (streams.some((s, k) => pos[k]! < s.confirmOffset())) {
      for (let k = 0; k < streams.length; k++) if (pos[k]! < streams[k]!.confirmOffset()) await step(k);
    }
  }
  const secs = (Date.now() - t0) / 1000;
  const g1 = sc.stats();
  const nonEmpty = streams.filter((s) => s.confirmOffset() > s.startOffset()).length;
  await sc.close();
  const gets = g1.objectStoreRequests.get - g0.objectStoreRequests.get;
  return {
    nonEmpty,
    objects: { wal: g1.walObjectsLive, stream: g1.streamObjects },
    bytes: got,
    seconds: secs,
    mb_per_s: +(got / secs / 1e6).toFixed(1),
    gets,
    gets_per_gib: Math.round(gets / (got / GiB)),
    read_amplification: +((g1.bytesDownloaded - g0.bytesDownloaded) / got).toFixed(2),
  };
}

const results: Record<string, unknown> = {};
try {
  const prefix = `bench-${Date.now().toString(36)}`;
  if (!skip.has('1') || !skip.has('3')) {
    const b = await startBroker(prefix);
    const m0 = await metrics(b.metricsPort);
    const bytes = Math.round(gib * GiB);
    const r = await client('produce', b.port, ['--bytes', String(bytes)]);
    const m1 = await metrics(b.metricsPort);
    const gibDone = (r['records']! * 1024) / GiB;
    const puts = putClass(m1) - putClass(m0);
    const walPuts = (m1.get('s3stream_wal_objects_written') ?? 0) - (m0.get('s3stream_wal_objects_written') ?? 0);
    results['produce'] = { ...r, gib: +gibDone.toFixed(3), puts, puts_per_gib: Math.round(puts / gibDone), wal_objects_per_gib: Math.round(walPuts / gibDone) };
    console.log('1. produce', JSON.stringify(results['produce']));

    // Below saturation: latency is then the broker's (WAL flush + PUT), not the client's queue.
    const rate = Number(arg('rate', '20000'));
    // The topic is created first: auto-creating a topic under load delays its first second of
    // records by ~1 s (a Kafka-layer effect, measured separately as 1c).
    const fixed = await client('produce', b.port, ['--topic', 'bench-fixed', '--create-topic', '--rate', String(rate), '--seconds', '20']);
    results['produce_fixed_rate'] = { rate, ...fixed };
    console.log('1b. produce at a fixed rate', JSON.stringify(results['produce_fixed_rate']));
    const auto = await client('produce', b.port, ['--topic', 'bench-fixed-auto', '--rate', String(rate), '--seconds', '20']);
    results['produce_fixed_rate_auto_created_topic'] = { rate, ...auto };
    console.log('1c. produce at a fixed rate to an auto-created topic', JSON.stringify(results['produce_fixed_rate_auto_created_topic']));

    await b.stop();

    if (!skip.has('2')) {
      // Its own broker and prefix: the first broker compacts the 1 GiB backlog meanwhile, which is
      // not what an idle broker costs.
      const ib = await startBroker(`${prefix}-idle`);
      await client('produce', ib.port, ['--topic', 'bench-idle', '--create-topic', '--rate', '10', '--seconds', '1']);
      const i0 = await metrics(ib.metricsPort);
      const t0 = Date.now();
      const idle = await client('produce', ib.port, ['--topic', 'bench-idle', '--rate', '10', '--seconds', String(idleSeconds)]);
      const secs = (Date.now() - t0) / 1000;
      const i1 = await metrics(ib.metricsPort);
      const puts = putClass(i1) - putClass(i0);
      const wal = (i1.get('s3stream_wal_objects_written') ?? 0) - (i0.get('s3stream_wal_objects_written') ?? 0);
      delete (idle as Record<string, unknown>)['p99_ms_by_second'];
      results['idle'] = { ...idle, puts, puts_per_s: +(puts / secs).toFixed(2), wal_objects_per_s: +(wal / secs).toFixed(2), other_puts: puts - wal };
      console.log('2. idle', JSON.stringify(results['idle']));
      await ib.stop();
    }

    if (!skip.has('3')) {
      const c = await startBroker(prefix); // new process: empty LogCache and BlockCache
      const c0 = await metrics(c.metricsPort);
      const read = await client('consume', c.port, ['--bytes', String(r['records']! * 1024)]);
      const c1 = await metrics(c.metricsPort);
      if (process.env["BENCH_DEBUG"]) console.log([...c0], [...c1]);
      const gets = req(c1, 'get') - req(c0, 'get');
      const down = (c1.get('s3stream_transfer_bytes_total{direction="down"}') ?? 0) - (c0.get('s3stream_transfer_bytes_total{direction="down"}') ?? 0);
      const readGib = read['bytes']! / GiB;
      results['catchup'] = { ...read, gets, gets_per_gib: Math.round(gets / readGib), read_amplification: +(down / read['bytes']!).toFixed(2) };
      console.log('3. catch-up (broker)', JSON.stringify(results['catchup']));
      await c.stop();
      // The broker scans every partition at open (producer state, max timestamp), which already
      // reads the log; so also measure the storage path alone: a fresh S3Stream client (empty
      // caches) reads every stream from its start in 4 MiB fetches, like a catch-up consumer.
      const store = new S3ObjectStore({ bucket, keyPrefix: `${prefix}/`, endpoint, region: 'us-east-1', forcePathStyle: true });
      // 'one-by-one': each stream read to its end before the next; 'lockstep': one 4 MiB fetch per
      // stream in turn, as a consumer of all partitions does.
      const readBack = async (mode: 'one-by-one' | 'lockstep'): Promise<Record<string, unknown>> => {
        const { nonEmpty, objects, ...r } = await readStreamsBack(store, 99, undefined, mode);
        return { mode, streams: nonEmpty, objects, ...r };
      };
      const runs = [await readBack('one-by-one'), await readBack('lockstep')];
      // Then as a long-retained topic is stored: compacted into per-stream objects.
      const cc = await openStreamClient({ store, nodeId: 98, compactionIntervalMs: 0, objectDeleteGraceMs: 0 }, { sweepOrphans: false });
      for (let i = 0; i < 8 && cc.stats().walObjectsLive > 0; i++) await cc.compactNow();
      await cc.close();
      runs.push({ compacted: true, ...(await readBack('one-by-one')) });
      await store.close();
      results['catchup_storage'] = runs;
      console.log('3. catch-up (storage)', JSON.stringify(results['catchup_storage']));
    }
  }

  const pct = (xs: number[], q: number): number => {
    const v = [...xs].sort((a, b) => a - b);
    return v.length === 0 ? NaN : +v[Math.min(v.length - 1, Math.floor(q * v.length))]!.toFixed(1);
  };
  const newStore = (name: string): S3ObjectStore =>
    new S3ObjectStore({ bucket, keyPrefix: `${name}-${Date.now().toString(36)}/`, endpoint, region: 'us-east-1', forcePathStyle: true });
  /** Appends `bytes` to the streams as fast as back-pressure allows (100 KiB appends). */
  const fill = async (streams: { append(p: Buffer, c: number): { durable: Promise<void> }; ready(): Promise<void> }[], bytes: number): Promise<void> => {
    const payload = Buffer.alloc(100 * 1024, 3);
    let last: Promise<void> = Promise.resolve();
    for (let n = 0; n * payload.length < bytes; n++) {
      const s = streams[n % streams.length]!;
      await s.ready();
      last = s.append(payload, 100).durable;
    }
    await last;
  };

  if (!skip.has('5')) {
    const mbps = Number(arg('rate5-mbps', '20'));
    for (const backlog of [false, true]) {
      const store = newStore(`lat-${backlog ? 'compacting' : 'idle'}`);
      const sc = await openStreamClient({ store, nodeId: 1, compactionIntervalMs: 0, objectDeleteGraceMs: 10_000 });
      const streams = await Promise.all([sc.createStream(), sc.createStream()]);
      let compacting: Promise<void> = Promise.resolve();
      if (backlog) {
        await fill(streams, GiB);
        compacting = (async () => {
          for (let i = 0; i < 8; i++) await sc.compactNow(); // 256 MiB of WAL per round
        })();
      }
      const skipTimings = walFlushTimings(sc).length;
      const payload = Buffer.alloc(100 * 1024, 5);
      const perSec = (mbps * 1e6) / payload.length;
      const lat: number[] = [];
      const t0 = performance.now();
      const pending: Promise<void>[] = [];
      let n = 0;
      let maxLag = 0;
      while (performance.now() - t0 < 20_000) {
        const due = Math.floor(((performance.now() - t0) / 1000) * perSec);
        maxLag = Math.max(maxLag, due - n);
        for (; n < due; n++) {
          const s = streams[n % 2]!;
          const at = performance.now();
          pending.push(s.append(payload, 100).durable.then(() => void lat.push(performance.now() - at)));
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      await Promise.all(pending);
      const tm = walFlushTimings(sc).slice(skipTimings);
      const phase = (f: (t: (typeof tm)[number]) => number) => ({ p50: pct(tm.map(f), 0.5), p99: pct(tm.map(f), 0.99) });
      const r = {
        backlog_compaction: backlog,
        mbps,
        appends: lat.length,
        p50_ms: pct(lat, 0.5),
        p99_ms: pct(lat, 0.99),
        max_ms: pct(lat, 1),
        generator_max_lag_appends: maxLag,
        flushes: tm.length,
        flush_from_first_append_ms: {
          sealed: phase((t) => t.sealed),
          upload_slot: phase((t) => t.started - t.sealed),
          put: phase((t) => t.uploaded - t.started),
          ack_wait: phase((t) => t.acked - t.uploaded),
          acked: phase((t) => t.acked),
        },
      };
      results[`storage_latency_${backlog ? 'compacting' : 'idle'}`] = r;
      console.log('5. storage latency', JSON.stringify(r));
      await compacting;
      await sc.close();
      await store.close();
    }
  }

  if (!skip.has('6')) {
    // 1 GiB written to N streams at once (a topic with N partitions: every WAL object holds all of
    // them side by side), read back by a fresh client (empty caches) one stream after the other,
    // and, for N > 1, in lockstep (one 4 MiB fetch per stream in turn, as a consumer does).
    for (const n of (arg('streams6', '1,4')).split(',').map(Number)) {
      const store = newStore(`catchup-${n}`);
      const w = await openStreamClient({ store, nodeId: 1, compactionIntervalMs: 0 });
      const created = await Promise.all(Array.from({ length: n }, () => w.createStream()));
      await fill(created, gib * GiB);
      await w.close();
      const modes: ('one-by-one' | 'lockstep')[] = n === 1 ? ['one-by-one'] : ['one-by-one', 'lockstep'];
      for (const mode of modes) {
        const { nonEmpty: _nonEmpty, objects, ...read } = await readStreamsBack(store, 2, created.map((c) => c.id), mode);
        const r = { streams: n, mode, ...read, wal_objects: objects.wal };
        results[`catchup_${n}_streams_${mode}`] = r;
        console.log('6. catch-up (storage)', JSON.stringify(r));
      }
      await store.close();
    }
  }

  if (!skip.has('4')) {
    for (const compaction of longModes) {
      const store = new S3ObjectStore({ bucket, keyPrefix: `long-${compaction ? 'on' : 'off'}-${Date.now().toString(36)}/`, endpoint, region: 'us-east-1', forcePathStyle: true });
      const sc = await openStreamClient({
        store,
        nodeId: 1,
        compactionIntervalMs: compaction ? 20_000 : 0,
        objectDeleteGraceMs: 10_000,
      });
      const streams = await Promise.all(Array.from({ length: 16 }, () => sc.createStream()));
      const payload = Buffer.alloc(16 * 1024, 7);
      const perTick = Math.max(1, Math.round((longMBps * 1e6) / payload.length / 10));
      const end = Date.now() + longSeconds * 1000;
      let n = 0;
      while (Date.now() < end) {
        for (let i = 0; i < perTick; i++) {
          const s = streams[n++ % streams.length]!;
          await s.ready();
          s.append(payload, 16);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      await sc.flush();
      const st = sc.stats();
      await sc.close();
      const objects = await store.list('');
      const count = (p: string): number => objects.filter((o) => o.key.startsWith(p)).length;
      const bytes = (p: string): number => objects.filter((o) => o.key.startsWith(p)).reduce((s, o) => s + o.size, 0);
      const r = {
        compaction,
        seconds: longSeconds,
        data_mib: +((n * payload.length) / MiB).toFixed(0),
        objects_total: objects.length,
        wal_objects: count('wal/'),
        stream_objects: count('data/'),
        meta_objects: count('meta/'),
        meta_bytes: bytes('meta/'),
        newest_snapshot_bytes: objects.filter((o) => o.key.startsWith('meta/snapshot/')).slice(-1)[0]?.size ?? 0,
        wal_objects_written: st.walObjectsWritten,
        live_wal_objects_in_metadata: st.walObjectsLive,
        live_stream_objects_in_metadata: st.streamObjects,
      };
      results[`long_compaction_${compaction ? 'on' : 'off'}`] = r;
      console.log('4. long run', JSON.stringify(r));
      await store.close();
    }
  }
} finally {
  await stopMinio();
}
console.log(JSON.stringify(results));
