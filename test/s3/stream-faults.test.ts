// S3Stream on MinIO behind a fault-injecting proxy. Under each fault a producer keeps appending
// (awaiting ready(), as the broker does); then the fault clears (or the client "dies" mid-fault and
// a new one recovers). Checked every time:
//   - no acked record is lost;
//   - no record appears twice, offsets stay contiguous (also records never acked);
//   - service resumes after the fault clears (new appends become durable, reads work);
//   - memory stays bounded (unflushed bytes never pass the configured bound; heap growth bounded).
import { expect } from 'chai';
import type { Stream, StreamClient } from '../../broker/src/s3stream/api.js';
import { openStreamClient } from '../../broker/src/s3stream/stream-client.js';
import type { InternalOptions } from '../../broker/src/s3stream/stream-client.js';
import type { S3ObjectStore } from '../../broker/src/s3stream/object-store/s3.js';
import { TestStore } from '../unit/s3stream/helpers.js';
import { S3FaultProxy } from './fault-proxy.js';
import type { FaultRule } from './fault-proxy.js';
import { MINIO_START_TIMEOUT_MS, minio } from './minio.hooks.js';
import type { Minio } from './minio.hooks.js';
import { s3Store, uniquePrefix, waitUntil } from './helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const RECORD = KiB;
const MAX_UNFLUSHED = 2 * MiB;
const internal: InternalOptions = { metadataCommitDelayMs: 50, sweepOrphans: false, storeRetry: { baseDelayMs: 20, maxDelayMs: 300 } };

function record(id: number): Buffer {
  const b = Buffer.alloc(RECORD, id % 251);
  b.writeUInt32BE(id, 0);
  return b;
}

interface Producer {
  appended: Map<number, number>; // id -> stream index
  acked: Set<number>;
  maxUnflushed: number;
  stop(): Promise<void>;
}

/** Appends 1 KiB records round-robin to the streams, awaiting ready() before each (back-pressure). */
function produce(client: StreamClient, streams: Stream[], ackGate: { open: boolean }): Producer {
  const p: Producer = { appended: new Map(), acked: new Set(), maxUnflushed: 0, stop: async () => undefined };
  let running = true;
  let id = 0;
  const loop = (async () => {
    while (running) {
      const si = id % streams.length;
      const s = streams[si]!;
      await s.ready();
      if (!running) break;
      const n = id++;
      let durable: Promise<void>;
      try {
        durable = s.append(record(n), 1).durable;
      } catch {
        break; // fenced or closed: the client died
      }
      p.appended.set(n, si);
      durable.then(
        () => {
          if (ackGate.open) p.acked.add(n);
        },
        () => undefined,
      );
      p.maxUnflushed = Math.max(p.maxUnflushed, client.stats().walUnflushedBytes);
      // Pacing (~4 MB/s offered), not synchronization: lets timers and I/O run.
      if (n % 8 === 7) await new Promise((r) => setTimeout(r, 2));
    }
  })();
  p.stop = async () => {
    running = false;
    await loop;
  };
  return p;
}

async function readAll(s: Stream): Promise<number[]> {
  const ids: number[] = [];
  let pos = s.startOffset();
  let expected = pos;
  while (pos < s.confirmOffset()) {
    const got = await s.fetch(pos, s.confirmOffset(), MiB);
    if (got.length === 0) throw new Error(`stream ${s.id}: no data at ${pos} below confirm ${s.confirmOffset()}`);
    for (const b of got) {
      if (b.baseOffset !== expected) throw new Error(`stream ${s.id}: offset gap or overlap: batch at ${b.baseOffset}, expected ${expected}`);
      expected = b.baseOffset + b.count;
      ids.push(b.payload.readUInt32BE(0));
    }
    pos = expected;
  }
  return ids;
}

/** The checks shared by every scenario. Returns the ids read. */
function checkDelivery(p: Producer, readByStream: number[][]): void {
  const seen = new Map<number, number>();
  readByStream.forEach((ids, si) => {
    for (const id of ids) {
      expect(seen.has(id), `record ${id} appears twice`).to.equal(false);
      seen.set(id, si);
      expect(p.appended.get(id), `record ${id} read from stream ${si} was appended to stream ${p.appended.get(id)}`).to.equal(si);
    }
    // Per stream, records come back in append order.
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!, `stream ${si} out of order at ${i}`).to.equal(true);
  });
  const lost = [...p.acked].filter((id) => !seen.has(id));
  expect(lost, `acked records lost: ${lost.slice(0, 10).join(', ')}`).to.have.length(0);
}

describe('S3Stream on MinIO under S3 faults', function () {
  this.timeout(120_000);
  let m: Minio;
  let proxy: S3FaultProxy;
  const cleanups: (() => Promise<void>)[] = [];

  before(async function () {
    this.timeout(MINIO_START_TIMEOUT_MS);
    m = await minio();
    proxy = await S3FaultProxy.start(m.endpoint, 42);
  });
  after(() => proxy?.close());
  afterEach(async () => {
    proxy.clear();
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  async function open(prefix: string, viaProxy: boolean): Promise<{ client: StreamClient; store: TestStore; s3: S3ObjectStore }> {
    const s3 = s3Store(m, prefix, viaProxy ? { endpoint: proxy.endpoint, requestTimeoutMs: 1500, minThroughputBytesPerSec: 128 * KiB } : {});
    const store = new TestStore(s3);
    const client = await openStreamClient(
      { store, nodeId: 1, walFlushIntervalMs: 20, walFlushBytes: 256 * KiB, walMaxUnflushedBytes: MAX_UNFLUSHED, logCacheBytes: 4 * MiB, blockCacheBytes: 4 * MiB, compactionIntervalMs: 0, objectDeleteGraceMs: 0 },
      internal,
    );
    cleanups.push(async () => {
      await client.close();
      await s3.close();
    });
    return { client, store, s3 };
  }

  const putsOnly = (r: { method: string }): boolean => r.method === 'PUT';
  const faults: { name: string; rule: FaultRule }[] = [
    { name: '500 on half the PUTs', rule: { fault: { kind: 'status', status: 500 }, match: putsOnly, probability: 0.5 } },
    { name: '503 SlowDown on 30% of all requests', rule: { fault: { kind: 'status', status: 503 }, probability: 0.3 } },
    { name: '500 after MinIO applied the PUT (ambiguous writes)', rule: { fault: { kind: 'status-after-apply', status: 500 }, match: putsOnly, probability: 0.5 } },
    { name: 'connection resets on 30% of requests', rule: { fault: { kind: 'reset' }, probability: 0.3 } },
    { name: 'connection reset after MinIO applied the request', rule: { fault: { kind: 'reset-after-apply' }, probability: 0.3 } },
    { name: 'stalled responses (full outage: nothing answers)', rule: { fault: { kind: 'stall' } } },
    { name: 'slow bandwidth (256 KiB/s each way)', rule: { fault: { kind: 'slow', bytesPerSec: 256 * KiB } } },
  ];

  for (const f of faults) {
    it(`${f.name}: no acked record lost, none twice, service resumes, memory bounded`, async () => {
      const prefix = uniquePrefix('fault');
      const { client } = await open(prefix, true);
      const streams = [await client.createStream(), await client.createStream()];
      const gate = { open: true };
      const heapBefore = process.memoryUsage().heapUsed;
      const p = produce(client, streams, gate);
      await waitUntil(() => p.acked.size >= 300, 'the first 300 acks before the fault', 20_000);
      const injectedBefore = proxy.injected;
      proxy.set(f.rule, 7);
      await waitUntil(() => proxy.injected - injectedBefore >= 5, () => `the proxy to inject 5 faults (injected ${proxy.injected - injectedBefore})`, 20_000);
      const ackedAtFault = p.acked.size;
      // Let the fault act for a while under load (a time window, not a synchronization).
      // A stall must outlast the request deadline (1.5 s + 2 s for a 256 KiB body) to cause retries.
      await new Promise((r) => setTimeout(r, f.rule.fault.kind === 'stall' ? 4500 : 2000));
      const peakHeap = process.memoryUsage().heapUsed;
      const during = client.stats();
      proxy.clear();
      if (process.env['DEBUG_FAULTS']) console.log(f.name, { retries: during.objectStoreRetries, errors: during.objectStoreErrors, maxUnflushed: p.maxUnflushed, heapMiB: (peakHeap - heapBefore) / MiB, appended: p.appended.size });
      // The fault really hit the client: failed requests were retried (a slow link only delays).
      if (f.rule.fault.kind !== 'slow') expect(during.objectStoreRetries, 'retries during the fault').to.be.greaterThan(0);
      // Service resumes: appends made after the fault cleared become durable.
      await waitUntil(() => p.acked.size >= ackedAtFault + 300, () => `300 more acks after the fault cleared (acked ${p.acked.size}, appended ${p.appended.size})`, 60_000);
      await p.stop();
      await client.flush();
      expect(p.acked.size, 'everything appended is acked once the fault is gone').to.equal(p.appended.size);
      expect(p.maxUnflushed, 'unflushed bytes stay within walMaxUnflushedBytes (+ one record)').to.be.at.most(MAX_UNFLUSHED + 2 * RECORD);
      expect(peakHeap - heapBefore, 'heap growth under the fault').to.be.below(96 * MiB);
      if (f.rule.fault.kind === 'stall' || f.rule.fault.kind === 'slow') {
        // The producer outran the store: back-pressure held it at the bound instead of buffering more.
        expect(p.maxUnflushed, 'back-pressure engaged').to.be.at.least(MAX_UNFLUSHED - 16 * RECORD);
      }
      checkDelivery(p, await Promise.all(streams.map(readAll)));
      // A fresh client (recovery path, directly on MinIO) reads the same.
      await client.close();
      const fresh = await open(prefix, false);
      const reopened = await Promise.all(streams.map((s) => fresh.client.openStream(s.id)));
      const read = await Promise.all(reopened.map(readAll));
      checkDelivery(p, read);
      expect(read.reduce((n, ids) => n + ids.length, 0)).to.equal(p.appended.size);
    });
  }

  for (const f of [faults[5]!, faults[2]!]) {
    it(`client dies during "${f.name}": a new client recovers every acked record, none twice`, async () => {
      const prefix = uniquePrefix('crash');
      const a = await open(prefix, true);
      const streams = [await a.client.createStream(), await a.client.createStream()];
      const gate = { open: true };
      const p = produce(a.client, streams, gate);
      await waitUntil(() => p.acked.size >= 300, 'the first 300 acks', 20_000);
      const before = proxy.injected;
      proxy.set(f.rule, 11);
      await waitUntil(() => proxy.injected - before >= 5, 'the proxy to inject 5 faults', 20_000);
      // kill -9: from now on nothing of client a reaches the store, and later acks do not count.
      gate.open = false;
      a.store.sever();
      await p.stop();
      proxy.clear();
      const b = await open(prefix, false);
      const read = await Promise.all(streams.map(async (s) => readAll(await b.client.openStream(s.id))));
      checkDelivery(p, read);
      // Service continues on the new client.
      const s0 = await b.client.openStream(streams[0]!.id);
      const { baseOffset, durable } = s0.append(record(1_000_000), 1);
      await durable;
      expect(baseOffset).to.equal(read[0]!.length + 0);
      // Client a never resolves anything again; its cleanup must not wait for it.
      cleanups.splice(cleanups.indexOf(cleanups[0]!), 1);
      await a.s3.close();
    });
  }
});
