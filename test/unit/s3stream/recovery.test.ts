import { expect } from 'chai';
import type { Stream, StreamClient } from '../../../broker/src/s3stream/api.js';
import { MetadataFencedError } from '../../../broker/src/s3stream/api.js';
import { openStreamClient } from '../../../broker/src/s3stream/stream-client.js';
import { FileObjectStore } from '../../../broker/src/s3stream/object-store/file.js';
import { MemoryObjectStore } from '../../../broker/src/s3stream/object-store/memory.js';
import type { ObjectStore } from '../../../broker/src/s3stream/object-store/object-store.js';
import { META_LOG_PREFIX } from '../../../broker/src/s3stream/metadata/metadata-log.js';
import { TestStore, fastInternal, fastOptions, payload, stateOf, tempDir, waitFor } from './helpers.js';

/** Commits stay batched "forever": only WAL objects hold the acked appends when we crash. */
const lazyCommits = { ...fastInternal, metadataCommitDelayMs: 3_600_000 };

async function readAll(s: Stream): Promise<{ baseOffset: number; count: number; payload: Buffer }[]> {
  const out: { baseOffset: number; count: number; payload: Buffer }[] = [];
  let pos = s.startOffset();
  while (pos < s.confirmOffset()) {
    const got = await s.fetch(pos, s.confirmOffset(), 1 << 20);
    if (got.length === 0) throw new Error(`no data at ${pos} below confirm ${s.confirmOffset()}`);
    out.push(...got);
    const last = got[got.length - 1]!;
    pos = last.baseOffset + last.count;
  }
  return out;
}

/** Appends `n` batches of 2 offsets; batch i carries payload(seed + i). */
function appendMany(s: Stream, seed: number, n: number, size = 100): Promise<void>[] {
  return Array.from({ length: n }, (_, i) => s.append(payload(seed + i, size), 2).durable);
}

function scenario(name: string, makeStore: () => Promise<{ store: ObjectStore; cleanup: () => Promise<void> }>): void {
  describe(`s3stream crash recovery (${name})`, () => {
    let inner: ObjectStore;
    let cleanup: () => Promise<void>;
    const clients: StreamClient[] = [];
    beforeEach(async () => ({ store: inner, cleanup } = await makeStore()));
    afterEach(async () => {
      for (const c of clients.splice(0)) await c.close().catch(() => undefined);
      await cleanup();
    });

    it('recovers streams, acked appends only in WAL objects, KV and trims after a kill without close', async () => {
      const t1 = new TestStore(inner);
      const a = await openStreamClient(fastOptions(t1), lazyCommits);
      const streams = [await a.createStream(), await a.createStream(), await a.createStream()];
      await Promise.all(streams.flatMap((s, i) => appendMany(s, i * 1000, 40)));
      await a.kv.put('topic/a', Buffer.from('config-a'));
      await streams[1]!.trim(10);
      await Promise.all(streams.flatMap((s, i) => appendMany(s, i * 1000 + 40, 10)));
      // Acked appends are only in WAL objects: the lazy commit records were never written.
      const logsBefore = (await inner.list(META_LOG_PREFIX)).length;
      t1.sever(); // kill -9: nothing of client a reaches the store any more

      const logged: { msg: string; fields?: Record<string, unknown> }[] = [];
      const b = await openStreamClient(fastOptions(inner, { log: (_l, msg, fields) => logged.push({ msg, ...(fields ? { fields } : {}) }) }), lazyCommits);
      clients.push(b);
      const recovered = logged.find((l) => l.msg.startsWith('recovered WAL objects'));
      expect(recovered?.fields?.['objects'], 'WAL objects replayed at open').to.be.greaterThan(0);
      expect(b.listStreams().map((s) => [s.id, s.startOffset, s.nextOffset])).to.deep.equal([
        [0, 0, 100],
        [1, 10, 100],
        [2, 0, 100],
      ]);
      expect(b.kv.get('topic/a')!.toString()).to.equal('config-a');
      expect((await inner.list(META_LOG_PREFIX)).length).to.be.greaterThan(logsBefore);
      for (let i = 0; i < 3; i++) {
        const s = await b.openStream(i);
        expect(s.confirmOffset()).to.equal(100);
        const got = await readAll(s);
        const first = i === 1 ? 5 : 0;
        expect(got.map((x) => x.baseOffset)).to.deep.equal(Array.from({ length: 50 - first }, (_, k) => (first + k) * 2));
        got.forEach((x, k) => expect(x.payload.equals(payload(i * 1000 + first + k, 100)), `stream ${i} batch ${k}`).to.equal(true));
        // Offsets continue after the recovered end.
        expect(s.append(payload(9, 10), 1).baseOffset).to.equal(100);
      }
      await b.flush();

      // Second crash of the new owner, after it appended more: still nothing lost.
      const c = await openStreamClient(fastOptions(inner), lazyCommits);
      clients.push(c);
      expect(c.listStreams().map((s) => s.nextOffset)).to.deep.equal([101, 101, 101]);
      const s0 = await c.openStream(0);
      const got = await readAll(s0);
      expect(got[got.length - 1]!.payload.equals(payload(9, 10))).to.equal(true);
    });

    it('after compaction and a crash, a fresh client reads every byte', async () => {
      const t1 = new TestStore(inner);
      const a = await openStreamClient(fastOptions(t1, { walFlushBytes: 4096 }), lazyCommits);
      const s = await a.createStream();
      await Promise.all(appendMany(s, 0, 100, 500));
      await a.compactNow();
      expect(a.stats().walObjectsLive).to.equal(0);
      await Promise.all(appendMany(s, 100, 20, 500));
      t1.sever();
      const b = await openStreamClient(fastOptions(inner), lazyCommits);
      clients.push(b);
      const got = await readAll(await b.openStream(s.id));
      expect(got).to.have.length(120);
      got.forEach((x, k) => expect(x.payload.equals(payload(k, 500)), `batch ${k}`).to.equal(true));
    });
  });
}

scenario('memory store', async () => ({ store: new MemoryObjectStore(), cleanup: async () => undefined }));
scenario('file store', async () => {
  const t = await tempDir();
  return { store: new FileObjectStore(t.dir), cleanup: t.cleanup };
});

describe('s3stream takeover by a second client (zombie fencing)', () => {
  it('fences the old client: its later appends never ack, the new one has everything it acked', async () => {
    const store = new MemoryObjectStore();
    const a = await openStreamClient(fastOptions(store), lazyCommits);
    const s = await a.createStream();
    await Promise.all(appendMany(s, 0, 10));
    const b = await openStreamClient(fastOptions(store), lazyCommits);
    // Everything a acked is visible to b.
    expect(b.listStreams()[0]!.nextOffset).to.equal(20);
    const late = s.append(payload(99, 10), 1);
    let err: unknown;
    await late.durable.catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(MetadataFencedError);
    await waitFor(async () => (await stateOf(a.kv.put('x', Buffer.from('1')))) === 'rejected', 'old client refusing KV writes');
    expect(() => s.append(payload(100, 10), 1)).to.throw(MetadataFencedError);
    const s2 = await b.openStream(s.id);
    expect(s2.append(payload(10, 10), 1).baseOffset).to.equal(20);
    await b.flush();
    // Reopening after both: the fenced client's unacked object is not replayed.
    await b.close();
    const c = await openStreamClient(fastOptions(store), lazyCommits);
    const s3 = await c.openStream(s.id);
    const got = await readAll(s3);
    expect(got.map((x) => x.baseOffset)).to.deep.equal([...Array.from({ length: 10 }, (_, i) => i * 2), 20]);
    await c.close();
    await a.close().catch(() => undefined);
  });

  it('sweeps orphans after open: a fenced writer\'s WAL object and an uncommitted compaction output', async () => {
    const store = new MemoryObjectStore();
    const a = await openStreamClient(fastOptions(store), lazyCommits);
    const s = await a.createStream();
    await s.append(payload(0, 10), 1).durable;
    const b = await openStreamClient(fastOptions(store), lazyCommits);
    await s.append(payload(1, 10), 1).durable.catch(() => undefined); // uploaded, never acked
    await a.close().catch(() => undefined);
    const orphanData = 'data/00000000000000000999';
    await store.put(orphanData, Buffer.from('uncommitted'));
    const walBefore = (await store.list('wal/')).map((o) => o.key);
    expect(walBefore).to.have.length(2);
    await b.close();
    const c = await openStreamClient(fastOptions(store), { ...lazyCommits, sweepOrphans: true });
    await waitFor(async () => (await store.head(orphanData)) === undefined, 'orphan data object deletion');
    await waitFor(async () => (await store.list('wal/')).length === 1, 'fenced WAL object deletion');
    expect((await store.list('wal/')).map((o) => o.key)).to.deep.equal([walBefore[0]]);
    const got = await readAll(await c.openStream(s.id));
    expect(got.map((x) => x.baseOffset)).to.deep.equal([0]);
    await c.close();
  });

  it('rejects an open on a store whose log another client just extended', async () => {
    const store = new MemoryObjectStore();
    const a = await openStreamClient(fastOptions(store), fastInternal);
    await a.createStream();
    const b = await openStreamClient(fastOptions(store), fastInternal);
    let err: unknown;
    await a.createStream().catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(MetadataFencedError);
    expect(b.listStreams()).to.have.length(1);
    await b.close();
    await a.close().catch(() => undefined);
  });

  it('recovers WAL objects of another node id that died', async () => {
    const store = new TestStore();
    const a = await openStreamClient(fastOptions(store, { nodeId: 1 }), lazyCommits);
    const s = await a.createStream();
    await Promise.all(appendMany(s, 0, 5));
    store.sever();
    const b = await openStreamClient(fastOptions(store.inner, { nodeId: 2 }), lazyCommits);
    expect(b.listStreams()[0]!.nextOffset).to.equal(10);
    await b.close();
  });
});
