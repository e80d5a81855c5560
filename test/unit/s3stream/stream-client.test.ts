import { expect } from 'chai';
import type { StreamClient } from '../../../broker/src/s3stream/api.js';
import { OffsetOutOfRangeError, StreamClosedError, StreamFencedError } from '../../../broker/src/s3stream/api.js';
import { openStreamClient } from '../../../broker/src/s3stream/stream-client.js';
import { TestStore, fastInternal, fastOptions, payload, stateOf, waitFor } from './helpers.js';

describe('s3stream stream client', () => {
  let store: TestStore;
  let client: StreamClient;
  beforeEach(async () => {
    store = new TestStore();
    client = await openStreamClient(fastOptions(store), fastInternal);
  });
  afterEach(() => client.close());

  it('assigns offsets synchronously and contiguously; durable promises resolve in append order', async () => {
    const s = await client.createStream();
    const order: number[] = [];
    const results = [3, 1, 5, 2].map((count) => s.append(payload(count, 10), count));
    expect(results.map((r) => r.baseOffset)).to.deep.equal([0, 3, 4, 9]);
    expect(s.nextOffset()).to.equal(11);
    expect(s.confirmOffset()).to.equal(0);
    results.forEach((r, i) => void r.durable.then(() => order.push(i)));
    await Promise.all(results.map((r) => r.durable));
    expect(order).to.deep.equal([0, 1, 2, 3]);
    expect(s.confirmOffset()).to.equal(11);
    expect(client.listStreams()).to.deep.equal([{ id: s.id, epoch: 0, startOffset: 0, nextOffset: 11 }]);
  });

  it('fetch returns whole batches from the one containing startOffset, at least one, within maxBytes and endOffset', async () => {
    const s = await client.createStream();
    for (let i = 0; i < 10; i++) s.append(payload(i, 100), 5); // batches at 0,5,...,45
    await client.flush();
    const base = (bs: { baseOffset: number }[]) => bs.map((b) => b.baseOffset);
    expect(base(await s.fetch(7, 50, 1 << 20))).to.deep.equal([5, 10, 15, 20, 25, 30, 35, 40, 45]);
    expect(base(await s.fetch(7, 50, 1))).to.deep.equal([5]); // first batch even if larger than maxBytes
    expect(base(await s.fetch(7, 50, 250))).to.deep.equal([5, 10]);
    expect(base(await s.fetch(7, 50, 200))).to.deep.equal([5, 10]);
    expect(base(await s.fetch(0, 12, 1 << 20))).to.deep.equal([0, 5, 10]);
    expect(await s.fetch(50, 60, 100)).to.deep.equal([]);
    const got = await s.fetch(20, 25, 1000);
    expect(got).to.have.length(1);
    expect(got[0]!.count).to.equal(5);
    expect(got[0]!.payload.equals(payload(4, 100))).to.equal(true);
    for (const bad of [-1, 51]) {
      let err: unknown;
      await s.fetch(bad, 60, 100).catch((e: unknown) => (err = e));
      expect(err).to.be.instanceOf(OffsetOutOfRangeError);
      expect(err).to.include({ startOffset: 0, endOffset: 50 });
    }
  });

  it('never returns data past confirmOffset', async () => {
    const s = await client.createStream();
    await s.append(payload(0, 10), 1).durable;
    store.holdPuts = (k) => k.startsWith('wal/');
    const pending = s.append(payload(1, 10), 1);
    expect(s.nextOffset()).to.equal(2);
    expect(s.confirmOffset()).to.equal(1);
    expect((await s.fetch(0, 100, 1 << 20)).map((b) => b.baseOffset)).to.deep.equal([0]);
    let err: unknown;
    await s.fetch(2, 100, 100).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(OffsetOutOfRangeError);
    await waitFor(() => store.heldKeys().length > 0, 'the WAL upload to reach the gate');
    store.holdPuts = undefined;
    for (const k of store.heldKeys()) store.release(k);
    await pending.durable;
    expect((await s.fetch(0, 100, 1 << 20)).map((b) => b.baseOffset)).to.deep.equal([0, 1]);
  });

  it('serves reads from objects when the LogCache holds nothing', async () => {
    await client.close();
    client = await openStreamClient(fastOptions(store, { logCacheBytes: 0, objectBlockBytes: 1024 }), fastInternal);
    const s = await client.createStream();
    for (let i = 0; i < 50; i++) s.append(payload(i, 200), 1);
    await client.flush();
    expect(client.stats().logCacheBytes).to.equal(0);
    const got = await s.fetch(0, 50, 1 << 20);
    expect(got.map((b) => b.baseOffset)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i));
    got.forEach((b, i) => expect(b.payload.equals(payload(i, 200)), `offset ${i}`).to.equal(true));
    expect(client.stats().blockCacheMisses).to.be.greaterThan(0);
    const before = client.stats().objectStoreRequests.get;
    await s.fetch(10, 20, 1 << 20); // now from the BlockCache
    expect(client.stats().objectStoreRequests.get).to.equal(before);
    expect(client.stats().blockCacheHits).to.be.greaterThan(0);
  });

  it('a catch-up read over many WAL objects costs one GET per object: whole stream ranges, no index GET', async () => {
    await client.close();
    client = await openStreamClient(fastOptions(store, { objectBlockBytes: 1024 }), fastInternal);
    const a = await client.createStream();
    const b = await client.createStream();
    const objects = 12;
    for (let f = 0; f < objects; f++) {
      for (let i = 0; i < 8; i++) {
        a.append(payload(f * 8 + i, 300), 1); // 8 x 300 B: several 1 KiB blocks per object
        b.append(payload(1000 + f * 8 + i, 300), 1);
      }
      await client.flush();
    }
    await client.close();
    // A fresh client: empty caches, every read comes from the objects.
    client = await openStreamClient(fastOptions(store, { logCacheBytes: 0, objectBlockBytes: 1024 }), fastInternal);
    const s = await client.openStream(a.id);
    const before = client.stats().objectStoreRequests.get;
    const got: number[] = [];
    for (let pos = 0; pos < s.confirmOffset(); ) {
      const batches = await s.fetch(pos, s.confirmOffset(), 4096);
      for (const bt of batches) {
        expect(bt.payload.equals(payload(bt.baseOffset, 300)), `offset ${bt.baseOffset}`).to.equal(true);
        got.push(bt.baseOffset);
      }
      pos = batches[batches.length - 1]!.baseOffset + 1;
    }
    expect(got).to.deep.equal(Array.from({ length: objects * 8 }, (_, i) => i));
    expect(client.stats().objectStoreRequests.get - before).to.equal(objects);
  });

  it('streams read in lockstep share one GET per WAL object (adjacent ranges of sequential readers are coalesced)', async () => {
    await client.close();
    client = await openStreamClient(fastOptions(store, { objectBlockBytes: 1024 }), fastInternal);
    const created = [await client.createStream(), await client.createStream()];
    const objects = 16;
    for (let f = 0; f < objects; f++) {
      for (let i = 0; i < 8; i++) for (const [k, s] of created.entries()) s.append(payload(k * 10_000 + f * 8 + i, 300), 1);
      await client.flush();
    }
    await client.close();
    client = await openStreamClient(fastOptions(store, { logCacheBytes: 0, objectBlockBytes: 1024 }), fastInternal);
    const streams = [await client.openStream(created[0]!.id), await client.openStream(created[1]!.id)];
    const before = client.stats().objectStoreRequests.get;
    const pos = [0, 0];
    const got: number[][] = [[], []];
    while (pos.some((p, k) => p < streams[k]!.confirmOffset())) {
      for (const [k, s] of streams.entries()) {
        if (pos[k]! >= s.confirmOffset()) continue;
        for (const bt of await s.fetch(pos[k]!, s.confirmOffset(), 2048)) {
          expect(bt.payload.equals(payload(k * 10_000 + bt.baseOffset, 300)), `stream ${k} offset ${bt.baseOffset}`).to.equal(true);
          got[k]!.push(bt.baseOffset);
          pos[k] = bt.baseOffset + 1;
        }
      }
    }
    for (const g of got) expect(g).to.deep.equal(Array.from({ length: objects * 8 }, (_, i) => i));
    // One GET per stream and object would be 32; only the first objects (before both readers are
    // recognized as sequential) are read per stream.
    expect(client.stats().objectStoreRequests.get - before).to.be.at.most(objects + 4);
  });

  it('keeps no copy of appended payloads: the LogCache serves views into the uploaded WAL object', async () => {
    const s = await client.createStream();
    const mine = payload(1, 100);
    const r = s.append(mine, 1);
    await r.durable;
    const [fetched] = await s.fetch(0, 1, 1000);
    expect(fetched!.payload.equals(mine)).to.equal(true);
    const walBody = await store.inner.get(store.puts.find((k) => k.startsWith('wal/'))!);
    expect(fetched!.payload.buffer).to.not.equal(mine.buffer);
    // A view into the object body (exactly its size), not a separate copy of the payload.
    expect(fetched!.payload.buffer.byteLength).to.equal(walBody.length);
    expect(Buffer.from(fetched!.payload.buffer).equals(walBody)).to.equal(true);
  });

  it('fences appends through a handle with an older epoch', async () => {
    const s0 = await client.createStream();
    s0.append(payload(0, 10), 1);
    const s1 = await client.openStream(s0.id);
    expect(s1.epoch).to.equal(1);
    expect(() => s0.append(payload(1, 10), 1)).to.throw(StreamFencedError, /epoch 1/);
    let err: unknown;
    await s0.trim(1).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(StreamFencedError);
    expect(s1.append(payload(1, 10), 1).baseOffset).to.equal(1); // offsets continue across handles
    await client.flush();
    expect((await s0.fetch(0, 10, 1000)).length).to.equal(2); // old handles may still read
    const s2 = await client.openStream(s0.id);
    expect(() => s1.append(payload(2, 10), 1)).to.throw(StreamFencedError);
    expect(s2.append(payload(2, 10), 1).baseOffset).to.equal(2);
    await s2.close();
    expect(() => s2.append(payload(3, 10), 1)).to.throw(StreamClosedError);
    let openErr: unknown;
    await client.openStream(999).catch((e: unknown) => (openErr = e));
    expect(String(openErr)).to.match(/stream 999: it does not exist/);
  });

  it('waitForData resolves when data becomes durable, or on abort', async () => {
    const s = await client.createStream();
    const ac = new AbortController();
    const w = s.waitForData(0, ac.signal);
    expect(await stateOf(w)).to.equal('pending');
    await s.append(payload(0, 10), 1).durable;
    expect(await stateOf(w)).to.equal('resolved');
    const ac2 = new AbortController();
    const w2 = s.waitForData(5, ac2.signal);
    expect(await stateOf(w2)).to.equal('pending');
    ac2.abort();
    expect(await stateOf(w2)).to.equal('resolved');
    expect(await stateOf(s.waitForData(0, ac.signal))).to.equal('resolved');
  });

  it('ready() applies back-pressure while too much is unflushed', async () => {
    await client.close();
    client = await openStreamClient(fastOptions(store, { walMaxUnflushedBytes: 1000 }), fastInternal);
    const s = await client.createStream();
    store.holdPuts = (k) => k.startsWith('wal/');
    const r = s.append(payload(0, 2000), 1);
    expect(await stateOf(s.ready())).to.equal('pending');
    expect(client.stats().walUnflushedBytes).to.be.at.least(2000);
    await waitFor(() => store.heldKeys().length > 0, 'the WAL upload to reach the gate');
    store.holdPuts = undefined;
    for (const k of store.heldKeys()) store.release(k);
    await r.durable;
    expect(await stateOf(s.ready())).to.equal('resolved');
  });

  it('KV: put, get, list sorted, delete; values are copies', async () => {
    await Promise.all([client.kv.put('t/b', Buffer.from('2')), client.kv.put('t/a', Buffer.from('1')), client.kv.put('u', Buffer.from('3'))]);
    expect(client.kv.list('t/')).to.deep.equal(['t/a', 't/b']);
    const v = client.kv.get('t/a')!;
    v[0] = 0x39;
    expect(client.kv.get('t/a')!.toString()).to.equal('1');
    await client.kv.delete('t/a');
    expect(client.kv.get('t/a')).to.equal(undefined);
    expect(client.kv.list('')).to.deep.equal(['t/b', 'u']);
  });

  it('close is idempotent and refuses later writes', async () => {
    const s = await client.createStream();
    const r = s.append(payload(0, 10), 1);
    await Promise.all([client.close(), client.close()]);
    expect(await stateOf(r.durable)).to.equal('resolved');
    expect(() => s.append(payload(1, 10), 1)).to.throw(StreamClosedError);
    let err: unknown;
    await client.kv.put('x', Buffer.from('y')).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(StreamClosedError);
  });
});
