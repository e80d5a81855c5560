import { expect } from 'chai';
import type { Stream, StreamClient } from '../../../broker/src/s3stream/api.js';
import { OffsetOutOfRangeError } from '../../../broker/src/s3stream/api.js';
import { planCompaction } from '../../../broker/src/s3stream/compaction/planner.js';
import type { PlannerObject } from '../../../broker/src/s3stream/compaction/planner.js';
import { openStreamClient } from '../../../broker/src/s3stream/stream-client.js';
import { MemoryObjectStore } from '../../../broker/src/s3stream/object-store/memory.js';
import { TestStore, fastInternal, fastOptions, payload, waitFor } from './helpers.js';

async function readAll(s: Stream): Promise<{ baseOffset: number; payload: Buffer }[]> {
  const out: { baseOffset: number; count: number; payload: Buffer }[] = [];
  let pos = s.startOffset();
  while (pos < s.confirmOffset()) {
    const got = await s.fetch(pos, s.confirmOffset(), 256 * 1024);
    if (got.length === 0) throw new Error(`no data at ${pos}`);
    out.push(...got);
    pos = got[got.length - 1]!.baseOffset + got[got.length - 1]!.count;
  }
  return out;
}

async function dataObjects(store: MemoryObjectStore): Promise<string[]> {
  return [...(await store.list('wal/')), ...(await store.list('data/'))].map((o) => o.key);
}

describe('s3stream compaction planner', () => {
  const cfg = { targetObjectBytes: 100, smallObjectBytes: 50, maxWalBytesPerRound: 1000 };
  const wal = (id: number, ranges: [number, number, number, number][], size = 100): PlannerObject => ({
    id,
    kind: 'wal',
    size,
    ranges: ranges.map(([streamId, start, end, bytes]) => ({ streamId, start, end, bytes })),
  });
  const so = (id: number, streamId: number, start: number, end: number, size: number): PlannerObject => ({
    id,
    kind: 'stream',
    size,
    ranges: [{ streamId, start, end, bytes: size }],
  });

  it('splits WAL objects into per-stream objects cut at the target size', () => {
    const plans = planCompaction(
      [
        wal(1, [
          [7, 0, 10, 60],
          [8, 0, 5, 30],
        ]),
        wal(2, [
          [7, 10, 20, 60],
          [8, 5, 9, 10],
        ]),
      ],
      cfg,
    );
    expect(plans).to.have.length(1);
    expect(plans[0]!.kind).to.equal('split');
    expect(plans[0]!.sources).to.deep.equal([1, 2]);
    expect(plans[0]!.outputs.map((o) => [o.streamId, o.pieces.map((p) => [p.objectId, p.start, p.end])])).to.deep.equal([
      [7, [[1, 0, 10]]],
      [7, [[2, 10, 20]]],
      [8, [[1, 0, 5], [2, 5, 9]]],
    ]);
  });

  it('bounds the WAL bytes per round, oldest first', () => {
    const objects = [wal(3, [[1, 20, 30, 10]], 600), wal(1, [[1, 0, 10, 10]], 600), wal(2, [[1, 10, 20, 10]], 600)];
    expect(planCompaction(objects, cfg)[0]!.sources).to.deep.equal([1]);
  });

  it('merges runs of small stream objects of one stream, never across a big one', () => {
    const plans = planCompaction(
      [so(1, 5, 0, 10, 20), so(2, 5, 10, 20, 20), so(3, 5, 20, 30, 90), so(4, 5, 30, 40, 20), so(5, 5, 40, 50, 20), so(6, 6, 0, 1, 20)],
      cfg,
    );
    expect(plans.map((p) => [p.kind, p.sources])).to.deep.equal([
      ['merge', [1, 2]],
      ['merge', [4, 5]],
    ]);
  });
});

describe('s3stream compaction and retention', () => {
  let store: MemoryObjectStore;
  let client: StreamClient;
  let clock: number;
  beforeEach(async () => {
    store = new MemoryObjectStore();
    clock = 1_000_000;
    client = await openStreamClient(fastOptions(store, { walFlushBytes: 2048, now: () => clock }), {
      ...fastInternal,
      compactionTargetObjectBytes: 8 * 1024,
    });
  });
  afterEach(() => client.close());

  for (const blockBytes of [undefined, 256]) {
  // 256 B blocks: every WAL block is full-size, so compaction moves blocks whole (addBlock).
  it(`reduces the object count and preserves every byte, also for a fresh client (${blockBytes === undefined ? 're-blocked records' : 'whole blocks moved'})`, async () => {
    if (blockBytes !== undefined) {
      await client.close();
      client = await openStreamClient(fastOptions(store, { walFlushBytes: 2048, objectBlockBytes: blockBytes, now: () => clock }), {
        ...fastInternal,
        compactionTargetObjectBytes: 8 * 1024,
      });
    }
    const streams = [await client.createStream(), await client.createStream(), await client.createStream()];
    for (let i = 0; i < 60; i++) {
      // One WAL object per round: the worst case for object count.
      await Promise.all(streams.map((s, k) => s.append(payload(k * 1000 + i, 300), 1).durable));
    }
    const before = await dataObjects(store);
    const walBefore = client.stats().walObjectsLive;
    expect(walBefore).to.equal(60);
    await client.compactNow();
    const st = client.stats();
    expect(st.walObjectsLive).to.equal(0);
    expect(st.streamObjects).to.be.within(3, 9);
    const after = await dataObjects(store);
    expect(after.length).to.be.lessThan(before.length / 2);
    expect(after.every((k) => k.startsWith('data/'))).to.equal(true); // released WAL objects were deleted
    const check = async (c: StreamClient): Promise<void> => {
      for (const [k, s] of streams.entries()) {
        const got = await readAll(await c.openStream(s.id));
        expect(got.map((b) => b.baseOffset)).to.deep.equal(Array.from({ length: 60 }, (_, i) => i));
        got.forEach((b, i) => expect(b.payload.equals(payload(k * 1000 + i, 300)), `stream ${k} offset ${i}`).to.equal(true));
      }
    };
    await check(client);
    await client.close();
    client = await openStreamClient(fastOptions(store), fastInternal);
    await check(client);
  });
  }

  it('merges small stream objects over several rounds', async () => {
    const s = await client.createStream();
    for (let round = 0; round < 6; round++) {
      await Promise.all(Array.from({ length: 4 }, (_, i) => s.append(payload(round * 10 + i, 300), 1).durable));
      await client.compactNow();
    }
    // Each round's split makes a ~1.3 KiB object; merges fold them together until a merged object
    // is no longer small (half the 8 KiB target): 6 splits end up as at most 3 objects.
    expect(client.stats().streamObjects).to.be.at.most(3);
    expect((await readAll(s)).map((b) => b.payload.readUInt32BE(0))).to.deep.equal(
      Array.from({ length: 24 }, (_, n) => Math.floor(n / 4) * 10 + (n % 4)),
    );
  });

  it('trim, retainBytes and retainSince move the start in whole ranges and free whole objects', async () => {
    const s = await client.createStream();
    for (let i = 0; i < 10; i++) {
      clock = 1_000_000 + i * 1000;
      await s.append(payload(i, 1000), 10).durable; // one WAL object (one range) per append
      await client.flush();
    }
    expect(s.sizeBytes()).to.equal(10 * 1024 + 10 * 24);
    // Data appended before t=1_003_000 is offsets [0, 30).
    expect(await s.retainSince(1_003_000)).to.equal(30);
    expect(await s.retainBytes(3 * 1048)).to.equal(70);
    expect(s.sizeBytes()).to.equal(3 * 1048);
    await s.trim(75);
    expect(s.startOffset()).to.equal(75);
    let err: unknown;
    await s.fetch(74, 100, 100).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(OffsetOutOfRangeError);
    const first = await s.fetch(75, 100, 1);
    expect(first[0]!.baseOffset).to.equal(70); // the batch containing the start offset
    await client.compactNow();
    // Only the objects holding [70, 100) remain (compacted into one stream object).
    expect(await dataObjects(store)).to.have.length(1);
    await client.close();
    client = await openStreamClient(fastOptions(store), fastInternal);
    expect(client.listStreams()[0]).to.include({ startOffset: 75, nextOffset: 100 });
    await expect((await readAll(await client.openStream(s.id))).length).to.equal(3);
  });

  it('keeps released objects for the grace period', async () => {
    await client.close();
    client = await openStreamClient(fastOptions(store, { objectDeleteGraceMs: 60_000, now: () => clock }), fastInternal);
    const s = await client.createStream();
    await s.append(payload(0, 100), 1).durable;
    await s.append(payload(1, 100), 1).durable;
    await client.flush();
    await client.compactNow();
    expect((await store.list('wal/')).length).to.be.greaterThan(0); // released, not yet deleted
    clock += 60_000;
    await client.compactNow();
    expect(await store.list('wal/')).to.deep.equal([]);
    expect((await readAll(s)).length).to.equal(2);
  });

  it('a stream deleted while compaction copies it: the others are intact, nothing is left behind', async () => {
    await client.close();
    const test = new TestStore(store);
    client = await openStreamClient(fastOptions(test, { walFlushBytes: 2048, now: () => clock }), fastInternal);
    const a = await client.createStream();
    const b = await client.createStream();
    for (let i = 0; i < 10; i++) await Promise.all([a.append(payload(i, 300), 1).durable, b.append(payload(100 + i, 300), 1).durable]);
    test.holdPuts = (k) => k.startsWith('data/');
    const compacting = client.compactNow();
    await waitFor(() => test.heldKeys().length > 0, 'the first compaction output upload');
    await client.deleteStream(a.id);
    test.holdPuts = undefined;
    for (const k of test.heldKeys()) test.release(k);
    await compacting;
    await client.compactNow(); // collects what the first round released
    expect(client.stats().streamObjects).to.equal(1);
    expect(client.stats().walObjectsLive).to.equal(0);
    expect(await dataObjects(store)).to.have.length(1);
    expect((await readAll(b)).map((x) => x.payload.readUInt32BE(0))).to.deep.equal(Array.from({ length: 10 }, (_, i) => 100 + i));
  });

  it('deleteStream frees its objects and forgets it across restarts', async () => {
    const a = await client.createStream();
    const b = await client.createStream();
    await Promise.all([a.append(payload(1, 500), 1).durable, b.append(payload(2, 500), 1).durable]);
    await client.compactNow();
    expect(client.stats().streamObjects).to.equal(2);
    await client.deleteStream(a.id);
    expect(client.listStreams().map((x) => x.id)).to.deep.equal([b.id]);
    await client.compactNow();
    expect(client.stats().streamObjects).to.equal(1);
    expect(await store.list('data/')).to.have.length(1);
    let err: unknown;
    await client.openStream(a.id).catch((e: unknown) => (err = e));
    expect(String(err)).to.match(/does not exist/);
    await client.close();
    client = await openStreamClient(fastOptions(store), fastInternal);
    expect(client.listStreams().map((x) => x.id)).to.deep.equal([b.id]);
    // Stream ids are never reused (they come in blocks, so the next one is not necessarily 2).
    expect((await client.createStream()).id).to.be.greaterThan(b.id);
  });
});
