/**
 * bench/metadata-moves (issue 5): metadata log size and controller replay time after --moves
 * partition moves, on the S3Stream metadata owner alone (no brokers, no RPC), so the figures are
 * the metadata log's own. Not a test: prints figures for docs/performance.md.
 *
 * Setup: a MetadataOwner with the production defaults of openStreamClient (snapshot every 1000
 * records or 250 log objects, lazy commits 30 s / 64, compaction every 60 s, delete grace 60 s),
 * 3 registered nodes, --topics x --partitions streams, `topics/<t>` and `leaders/<t>` KV entries.
 *
 * One move, as kafka-controller.ts + cluster-node.ts do it:
 *   1. the old leader releases: its WAL object holding the partition's last data is written
 *      (a real object, so compaction and GC run on real objects) and committed with an urgent
 *      `commitWal` (StreamClient.commit -> replica.syncCommits);
 *   2. the controller records the new leader: a KV put of the whole `leaders/<topic>` JSON with
 *      epoch + 1, one at a time (the controller's serial chain; --kv concurrent lifts that);
 *   3. the new leader opens the stream: an urgent `openStream` with the next stream epoch.
 * --inflight moves run at once (the controller moves 16 at a time); concurrent appends share log
 * objects, as they do in the owner.
 *
 * Replay: --opens fresh processes each open the owner (load newest snapshot + later log objects,
 * write the `open` record); median open time and the heap/RSS the state takes.
 *
 *   npm run build && node dist/bench/metadata-moves.js [--moves 100000] [--store file|minio]
 *       [--inflight 16] [--topics 100] [--partitions 12] [--opens 5] [--kv serial|concurrent]
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { z } from 'zod';
import { FileObjectStore } from '../broker/src/s3stream/object-store/file.js';
import { InstrumentedObjectStore } from '../broker/src/s3stream/object-store/instrumented.js';
import type { ObjectStore } from '../broker/src/s3stream/object-store/object-store.js';
import { S3ObjectStore } from '../broker/src/s3stream/object-store/s3.js';
import { ObjectWriter } from '../broker/src/s3stream/object/format.js';
import type { NodeRegistration } from '../broker/src/s3stream/metadata/channel.js';
import { MetadataOwner } from '../broker/src/s3stream/metadata/owner.js';
import { metadataOwnerOptions } from '../broker/src/s3stream/stream-client.js';
import type { MetadataOwnerOptions } from '../broker/src/s3stream/metadata/owner.js';
import { rangeRecordsOf } from '../broker/src/s3stream/metadata/records.js';
import { padSeq } from '../broker/src/s3stream/util/binary.js';

const MiB = 1024 * 1024;
const root = join(fileURLToPath(import.meta.url), '..', '..', '..');

const flagsSchema = z.object({
  moves: z.coerce.number().int().nonnegative(),
  store: z.enum(['file', 'minio']),
  inflight: z.coerce.number().int().positive(),
  topics: z.coerce.number().int().positive(),
  partitions: z.coerce.number().int().positive(),
  opens: z.coerce.number().int().positive(),
  kv: z.enum(['serial', 'concurrent']),
});
const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
};

/** Where the store is, for the replay child processes (they open it anew). */
const storeSpecSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('file'), dir: z.string() }),
  z.object({ kind: z.literal('minio'), endpoint: z.string(), bucket: z.string(), prefix: z.string() }),
]);
type StoreSpec = z.infer<typeof storeSpecSchema>;

function openStore(spec: StoreSpec): ObjectStore {
  return spec.kind === 'file'
    ? new FileObjectStore(spec.dir)
    : new S3ObjectStore({ bucket: spec.bucket, keyPrefix: spec.prefix, endpoint: spec.endpoint, region: 'us-east-1', forcePathStyle: true });
}

/** Counts uploads per key prefix (meta/log, meta/snapshot, wal, data): where the PUT bytes go. */
class UploadTally implements ObjectStore {
  readonly puts = new Map<string, { count: number; bytes: number }>();
  constructor(private readonly inner: ObjectStore) {}
  get description(): string {
    return this.inner.description;
  }
  get multipart(): ObjectStore['multipart'] {
    return this.inner.multipart;
  }
  private count(key: string, bytes: number): void {
    const kind = key.startsWith('meta/') ? key.split('/').slice(0, 2).join('/') : key.split('/')[0]!;
    const t = this.puts.get(kind) ?? { count: 0, bytes: 0 };
    t.count++;
    t.bytes += bytes;
    this.puts.set(kind, t);
  }
  async put(key: string, body: Buffer): Promise<void> {
    await this.inner.put(key, body);
    this.count(key, body.length);
  }
  async putIfAbsent(key: string, body: Buffer): Promise<boolean> {
    const created = await this.inner.putIfAbsent(key, body);
    if (created) this.count(key, body.length);
    return created;
  }
  get(key: string, range?: Parameters<ObjectStore['get']>[1]): Promise<Buffer> {
    return this.inner.get(key, range);
  }
  head(key: string): ReturnType<ObjectStore['head']> {
    return this.inner.head(key);
  }
  list(prefix: string, startAfter?: string): ReturnType<ObjectStore['list']> {
    return this.inner.list(prefix, startAfter);
  }
  delete(keys: readonly string[]): Promise<void> {
    return this.inner.delete(keys);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

const log: MetadataOwnerOptions['log'] = (level, msg, fields) => {
  if (level === 'warn' || level === 'error') console.error(`[${level}] ${msg} ${JSON.stringify(fields ?? {})}`);
};

/** The owner options openStreamClient uses with default StreamClientOptions. */
function ownerOptions(store: InstrumentedObjectStore, node: number): MetadataOwnerOptions {
  return { ...metadataOwnerOptions({ nodeId: node, log }), store, node };
}

async function metaFigures(store: ObjectStore): Promise<{ logObjects: number; logBytes: number; snapshots: number; snapshotBytes: number; newestSnapshotBytes: number }> {
  const logs = await store.list('meta/log/');
  const snaps = await store.list('meta/snapshot/');
  const sum = (xs: { size: number }[]): number => xs.reduce((s, o) => s + o.size, 0);
  return {
    logObjects: logs.length,
    logBytes: sum(logs),
    snapshots: snaps.length,
    snapshotBytes: sum(snaps),
    newestSnapshotBytes: snaps.sort((a, b) => (a.key < b.key ? -1 : 1)).at(-1)?.size ?? 0,
  };
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function heapAfterGc(): number {
  gc();
  return +(process.memoryUsage().heapUsed / MiB).toFixed(1);
}

// ---- replay child: one fresh process opens the owner once ----------------------------------------

async function replayChild(spec: StoreSpec): Promise<void> {
  const store = new InstrumentedObjectStore(openStore(spec), { log });
  // Warm the store client (S3 connection, file handles) so the open measures the metadata work.
  await store.list('meta/snapshot/');
  gc();
  const before = process.memoryUsage();
  const t0 = performance.now();
  const owner = await MetadataOwner.open(ownerOptions(store, 9));
  const openMs = performance.now() - t0;
  gc();
  const after = process.memoryUsage();
  const c = store.counters();
  const result = {
    open_ms: +openMs.toFixed(1),
    seq: owner.seq,
    gets: c.requests.get,
    lists: c.requests.list,
    bytes_read: c.bytesDownloaded,
    heap_used_delta_mib: +((after.heapUsed - before.heapUsed) / MiB).toFixed(1),
    rss_delta_mib: +((after.rss - before.rss) / MiB).toFixed(1),
    rss_mib: +(after.rss / MiB).toFixed(1),
    streams: owner.state.streams.size,
    objects: owner.state.objects.size,
    ranges: [...owner.state.streams.values()].reduce((s, x) => s + x.ranges.length, 0),
  };
  await owner.close();
  await store.close();
  console.log(JSON.stringify(result));
}

function runChild(spec: StoreSpec): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--replay-child'], {
      env: { ...process.env, BENCH_REPLAY_STORE: JSON.stringify(spec) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) return reject(new Error(`replay child (pid ${child.pid}) exited with ${code}: ${out}`));
      try {
        resolve(JSON.parse(line) as Record<string, number>);
      } catch {
        reject(new Error(`replay child printed no result: ${out}`));
      }
    });
  });
}

// ---- the moves --------------------------------------------------------------------------------

interface Leader {
  leader: number;
  epoch: number;
}

async function bench(flags: z.infer<typeof flagsSchema>, spec: StoreSpec): Promise<Record<string, unknown>> {
  const tally = new UploadTally(openStore(spec));
  const store = new InstrumentedObjectStore(tally, { log });
  const owner = await MetadataOwner.open(ownerOptions(store, 1));
  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v), 'utf8').toString('base64');
  const kvPut = (key: string, v: unknown): Promise<number> => owner.appendOwn([{ t: 'kv', put: [[key, b64(v)]], del: [] }]);

  // Brokers: registration gives each its WAL writer epoch; the controller records them in the KV.
  const nodeIds = [1, 2, 3];
  const reg = new Map<number, NodeRegistration>();
  for (const n of nodeIds) {
    reg.set(n, await owner.registerNode(n));
    await kvPut(`brokers/${n}`, { nodeId: n, host: '10.0.0.' + n, port: 9092, rack: null, incarnation: 'x'.repeat(24), state: 'alive' });
  }
  await kvPut('cluster/controller', { nodeId: 1, host: '10.0.0.1', port: 9092, epoch: owner.epoch });

  // Per node: next WAL seq and a block of object ids (the WAL allocates them 1000 at a time).
  const wal = new Map<number, { seq: number; ids: { next: number; end: number } }>();
  for (const n of nodeIds) wal.set(n, { seq: reg.get(n)!.walStartSeq, ids: { next: 0, end: 0 } });
  const objectId = async (n: number): Promise<number> => {
    const w = wal.get(n)!;
    if (w.ids.next >= w.ids.end) {
      const blk = await owner.allocateIds(n, reg.get(n)!.writerEpoch, 'object', 1000);
      w.ids = { next: blk.start, end: blk.start + blk.count };
    }
    return w.ids.next++;
  };

  // Topics: streams created by the node that leads them (ids in blocks of 16, as StreamClient does).
  const topics: { name: string; streams: number[]; leaders: Leader[] }[] = [];
  for (let t = 0; t < flags.topics; t++) {
    const name = `topic-${String(t).padStart(4, '0')}`;
    const first = nodeIds[t % nodeIds.length]!;
    const blk = await owner.allocateIds(first, reg.get(first)!.writerEpoch, 'stream', Math.max(16, flags.partitions));
    const streams = Array.from({ length: flags.partitions }, (_, p) => blk.start + p);
    await owner.append(first, reg.get(first)!.writerEpoch, streams.map((id) => ({ t: 'createStream' as const, id })), false);
    await kvPut(`topics/${name}`, {
      name,
      id: t.toString(16).padStart(32, '0'),
      partitions: streams.map((streamId) => ({ streamId, leaderEpoch: 0 })),
      configs: {},
      createdAtMs: Date.now(),
    });
    const leaders = streams.map((_, p) => ({ leader: nodeIds[(t + p) % nodeIds.length]!, epoch: 1 }));
    await kvPut(`leaders/${name}`, leaders);
    await Promise.all(
      streams.map((id, p) => owner.append(leaders[p]!.leader, reg.get(leaders[p]!.leader)!.writerEpoch, [{ t: 'openStream', id, epoch: 1 }], false)),
    );
    topics.push({ name, streams, leaders });
  }
  await owner.flush();
  const setup = { ...(await metaFigures(store)), seq: owner.seq };
  console.error(`setup: ${topics.length} topics, ${topics.length * flags.partitions} streams, log seq ${owner.seq}`);

  const payload = Buffer.alloc(512, 7);
  let kvChain: Promise<unknown> = Promise.resolve();
  const serialKv = <T>(task: () => Promise<T>): Promise<T> => {
    if (flags.kv === 'concurrent') return task();
    const run = kvChain.then(task);
    kvChain = run.catch(() => undefined);
    return run;
  };
  const streamOffset = new Map<number, number>();

  const move = async (i: number): Promise<void> => {
    const total = topics.length * flags.partitions;
    const k = i % total;
    const topic = topics[Math.floor(k / flags.partitions)]!;
    const p = k % flags.partitions;
    const sid = topic.streams[p]!;
    const from = topic.leaders[p]!.leader;
    const to = nodeIds[(nodeIds.indexOf(from) + 1) % nodeIds.length]!;
    const fromReg = reg.get(from)!;

    // 1. Old leader: its last WAL object for the partition, committed at release.
    const w = wal.get(from)!;
    const seq = w.seq++;
    const id = await objectId(from);
    const key = `wal/${from}/${padSeq(seq)}`;
    const base = streamOffset.get(sid) ?? 0;
    const writer = new ObjectWriter(512 * 1024, fromReg.writerEpoch);
    writer.add(sid, { baseOffset: base, count: 4, appendTimeMs: Date.now(), payload });
    const { body, index } = writer.finish();
    streamOffset.set(sid, base + 4);
    await store.putIfAbsent(key, body);
    await owner.append(from, fromReg.writerEpoch, [{ t: 'commitWal', node: from, seq, object: { id, key, size: body.length, kind: 'wal', ranges: rangeRecordsOf(index) } }], false);

    // 2. Controller: new leader and epoch in leaders/<topic> (the whole topic's list).
    await serialKv(async () => {
      const next = [...topic.leaders];
      next[p] = { leader: to, epoch: next[p]!.epoch + 1 };
      topic.leaders = next;
      await kvPut(`leaders/${topic.name}`, next);
    });

    // 3. New leader opens the stream with the next epoch.
    const s = owner.state.streams.get(sid)!;
    await owner.append(to, reg.get(to)!.writerEpoch, [{ t: 'openStream', id: sid, epoch: s.epoch + 1 }], false);
  };

  const samples: Record<string, number>[] = [];
  const sampleEvery = Math.max(1, Math.floor(flags.moves / 10));
  const logObjects0 = owner.stats().logObjectsWritten;
  const records0 = owner.stats().recordsWritten;
  const puts0 = store.counters().requests.put;
  const tally0 = new Map([...tally.puts].map(([k, v]) => [k, { ...v }]));
  const t0 = performance.now();
  let started = 0;
  let done = 0;
  let nextSample = sampleEvery;
  let sampling: Promise<void> = Promise.resolve();
  const worker = async (): Promise<void> => {
    while (started < flags.moves) {
      await move(started++);
      done++;
      if (done >= nextSample) {
        nextSample += sampleEvery;
        const at = done;
        const secs = (performance.now() - t0) / 1000;
        const st = owner.state;
        const ranges = [...st.streams.values()].reduce((s, x) => s + x.ranges.length, 0);
        sampling = sampling.then(async () => {
          const m = await metaFigures(store);
          const row = {
            moves: at,
            seconds: +secs.toFixed(1),
            seq: owner.seq,
            meta_log_objects: m.logObjects,
            meta_bytes: m.logBytes + m.snapshotBytes,
            newest_snapshot_bytes: m.newestSnapshotBytes,
            state_objects: st.objects.size,
            state_ranges: ranges,
            heap_used_after_gc_mib: heapAfterGc(),
          };
          samples.push(row);
          console.error(`progress ${JSON.stringify(row)}`);
        });
      }
    }
  };
  await Promise.all(Array.from({ length: flags.inflight }, () => worker()));
  await owner.flush();
  const moveSeconds = (performance.now() - t0) / 1000;
  await sampling;
  const st = owner.stats();
  const state = owner.state;
  const endState = {
    streams: state.streams.size,
    objects: state.objects.size,
    released_objects: [...state.objects.values()].filter((o) => o.releasedAtMs !== undefined).length,
    ranges: [...state.streams.values()].reduce((s, x) => s + x.ranges.length, 0),
    kv_keys: state.kv.size,
  };
  await owner.close();
  const end = await metaFigures(store);
  const walLeft = (await store.list('wal/')).length;
  const dataObjects = (await store.list('data/')).length;
  await store.close();

  const opens: Record<string, number>[] = [];
  for (let i = 0; i < flags.opens; i++) {
    const r = await runChild(spec);
    opens.push(r);
    console.error(`replay ${i + 1}/${flags.opens}: ${JSON.stringify(r)}`);
  }
  const median = (f: (r: Record<string, number>) => number): number => {
    const v = opens.map(f).sort((a, b) => a - b);
    return v[Math.floor(v.length / 2)]!;
  };
  return {
    store: flags.store,
    moves: flags.moves,
    inflight: flags.inflight,
    kv: flags.kv,
    streams: topics.length * flags.partitions,
    setup_log_objects: setup.logObjects,
    moves_per_s: +(flags.moves / moveSeconds).toFixed(0),
    move_seconds: +moveSeconds.toFixed(1),
    log_objects_written: st.logObjectsWritten - logObjects0,
    records_written: st.recordsWritten - records0,
    records_per_log_object: +((st.recordsWritten - records0) / Math.max(1, st.logObjectsWritten - logObjects0)).toFixed(2),
    puts_during_moves: store.counters().requests.put - puts0,
    uploads_during_moves: Object.fromEntries(
      [...tally.puts].map(([k, v]) => [k, { count: v.count - (tally0.get(k)?.count ?? 0), mib: +((v.bytes - (tally0.get(k)?.bytes ?? 0)) / MiB).toFixed(1) }]),
    ),
    meta_bytes_end: end.logBytes + end.snapshotBytes,
    meta_log_objects_end: end.logObjects,
    meta_log_bytes_end: end.logBytes,
    snapshots_end: end.snapshots,
    newest_snapshot_bytes: end.newestSnapshotBytes,
    wal_objects_left: walLeft,
    data_objects: dataObjects,
    end_state: endState,
    replay_open_ms_median: median((r) => r.open_ms!),
    replay_open_ms_all: opens.map((r) => r.open_ms),
    replay_gets: median((r) => r.gets!),
    replay_bytes_read: median((r) => r.bytes_read!),
    replay_heap_used_delta_mib: median((r) => r.heap_used_delta_mib!),
    replay_rss_delta_mib: median((r) => r.rss_delta_mib!),
    replay_rss_mib: median((r) => r.rss_mib!),
    samples,
  };
}

// ---- main -------------------------------------------------------------------------------------

if (process.argv.includes('--replay-child')) {
  await replayChild(storeSpecSchema.parse(JSON.parse(process.env['BENCH_REPLAY_STORE'] ?? 'null')));
} else {
  const flags = flagsSchema.parse({
    moves: arg('moves', '100000'),
    store: arg('store', 'file'),
    inflight: arg('inflight', '16'),
    topics: arg('topics', '100'),
    partitions: arg('partitions', '12'),
    opens: arg('opens', '5'),
    kv: arg('kv', 'serial'),
  });
  const stateDir = await mkdtemp(join(tmpdir(), 'automq-bench-meta-'));
  let stopMinio = async (): Promise<void> => undefined;
  try {
    let spec: StoreSpec;
    if (flags.store === 'minio') {
      const env = new Map<string, string>();
      for (const line of execFileSync(join(root, 'hack/minio.sh'), ['start', stateDir], { encoding: 'utf8' }).split('\n')) {
        const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
        if (m) env.set(m[1]!, m[2]!);
      }
      stopMinio = async () => {
        execFileSync(join(root, 'hack/minio.sh'), ['stop', stateDir]);
      };
      process.env['AWS_ACCESS_KEY_ID'] = env.get('AWS_ACCESS_KEY_ID');
      process.env['AWS_SECRET_ACCESS_KEY'] = env.get('AWS_SECRET_ACCESS_KEY');
      process.env['AWS_REGION'] = 'us-east-1';
      process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
      spec = { kind: 'minio', endpoint: env.get('MINIO_ENDPOINT')!, bucket: env.get('MINIO_BUCKET')!, prefix: `meta-moves-${Date.now().toString(36)}/` };
    } else {
      spec = { kind: 'file', dir: join(stateDir, 'store') };
    }
    console.log(JSON.stringify(await bench(flags, spec)));
  } finally {
    await stopMinio();
    await rm(stateDir, { recursive: true, force: true });
  }
}
