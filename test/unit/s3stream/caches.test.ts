import { expect } from 'chai';
import { LogCache } from '../../../broker/src/s3stream/cache/log-cache.js';
import { BlockCache } from '../../../broker/src/s3stream/cache/block-cache.js';
import { ObjectWriter, recordBytes } from '../../../broker/src/s3stream/object/format.js';
import type { StoredRecord } from '../../../broker/src/s3stream/object/format.js';
import { readObjectIndex } from '../../../broker/src/s3stream/object/reader.js';
import { MemoryObjectStore } from '../../../broker/src/s3stream/object-store/memory.js';
import { InstrumentedObjectStore } from '../../../broker/src/s3stream/object-store/instrumented.js';
import { openStreamClient } from '../../../broker/src/s3stream/stream-client.js';
import { fastInternal, fastOptions, payload } from './helpers.js';

const MiB = 1024 * 1024;
const rec = (off: number, size: number): StoredRecord => ({ baseOffset: off, count: 1, appendTimeMs: 0, payload: payload(off, size) });

describe('s3stream LogCache', () => {
  it('serves the batch containing an offset and evicts oldest flushes first within its bound', () => {
    const c = new LogCache(10 * recordBytes(100));
    c.put(1, [rec(0, 100), rec(1, 100), rec(2, 100)]);
    c.put(2, [rec(0, 100)]);
    const seen: number[] = [];
    expect(c.read(1, 1, 10, (r) => (seen.push(r.baseOffset), true))).to.equal(true);
    expect(seen).to.deep.equal([1, 2]);
    for (let i = 3; i < 13; i++) c.put(1, [rec(i, 100)]);
    expect(c.bytes).to.be.at.most(10 * recordBytes(100));
    // The first flush of stream 1 (offsets 0-2) and then stream 2's went first.
    expect(c.firstOffset(1)).to.equal(3);
    expect(c.firstOffset(2)).to.equal(undefined);
    expect(c.read(1, 0, 10, () => true)).to.equal(undefined); // below the cache: caller reads objects
    c.drop(1);
    expect(c.bytes).to.equal(0);
  });

  it('stops when the visitor says so, and respects the end offset', () => {
    const c = new LogCache(MiB);
    c.put(1, [{ baseOffset: 0, count: 5, appendTimeMs: 0, payload: Buffer.alloc(1) }, rec(5, 1), rec(6, 1), rec(7, 1)]);
    const seen: number[] = [];
    c.read(1, 3, 7, (r) => (seen.push(r.baseOffset), true));
    expect(seen).to.deep.equal([0, 5, 6]);
    seen.length = 0;
    expect(c.read(1, 0, 100, (r) => (seen.push(r.baseOffset), seen.length < 2))).to.equal(false);
    expect(seen).to.deep.equal([0, 5]);
  });
});

describe('s3stream BlockCache', () => {
  it('stays within its byte bound, shares GETs, and reads ahead in one ranged GET', async () => {
    const mem = new MemoryObjectStore();
    const store = new InstrumentedObjectStore(mem);
    const w = new ObjectWriter(10 * 1024);
    for (let i = 0; i < 100; i++) w.add(1, rec(i, 1000)); // ~10 blocks of ~10 KiB
    const { body } = w.finish();
    await mem.put('o', body);
    const obj = { id: 1, key: 'o', size: body.length };
    const { entries } = await readObjectIndex(store, 'o', body.length);
    const cache = new BlockCache(store, 35 * 1024);
    const getsBefore = store.counters().requests.get;
    // Two concurrent readers of block 0 with a 32 KiB readahead: one GET for blocks 0-2.
    const [a, b] = await Promise.all([cache.block(obj, entries, 0, 32 * 1024), cache.block(obj, entries, 0, 32 * 1024)]);
    expect(a).to.equal(b);
    expect(store.counters().requests.get - getsBefore).to.equal(1);
    await cache.block(obj, entries, 1, 32 * 1024);
    await cache.block(obj, entries, 2, 32 * 1024);
    expect(store.counters().requests.get - getsBefore).to.equal(1);
    expect(cache.hits).to.equal(3);
    expect(cache.misses).to.equal(1);
    for (let i = 0; i < entries.length; i++) {
      const records = await cache.block(obj, entries, i, 32 * 1024);
      expect(records[0]!.baseOffset).to.equal(entries[i]!.startOffset);
      expect(cache.bytes).to.be.at.most(35 * 1024);
    }
  });
});

describe('s3stream memory stays bounded by the caches', function () {
  this.timeout(30_000);

  it('writes 50 MiB with 4 MiB caches: caches stay within bounds, everything reads back, readahead grows', async () => {
    const store = new MemoryObjectStore();
    const client = await openStreamClient(
      fastOptions(store, {
        logCacheBytes: 4 * MiB,
        blockCacheBytes: 4 * MiB,
        walFlushBytes: MiB,
        walMaxUnflushedBytes: 8 * MiB,
        objectBlockBytes: 256 * 1024,
      }),
      fastInternal,
    );
    try {
      const streams = [await client.createStream(), await client.createStream(), await client.createStream(), await client.createStream()];
      const size = 64 * 1024;
      const total = 50 * MiB;
      let maxLog = 0;
      let maxUnflushed = 0;
      const acks: Promise<void>[] = [];
      for (let i = 0; i * size < total; i++) {
        const s = streams[i % 4]!;
        await s.ready();
        acks.push(s.append(payload(i, size), 1).durable);
        const st = client.stats();
        maxLog = Math.max(maxLog, st.logCacheBytes);
        maxUnflushed = Math.max(maxUnflushed, st.walUnflushedBytes);
      }
      await Promise.all(acks);
      expect(maxLog).to.be.at.most(4 * MiB);
      expect(client.stats().logCacheBytes).to.be.at.most(4 * MiB);
      expect(maxUnflushed).to.be.at.most(8 * MiB + 64 * 1024 + 24); // one append may cross the bound
      // Per-stream objects, so that a sequential reader's readahead can span many blocks.
      await client.compactNow();
      expect(client.stats().walObjectsLive).to.equal(0);
      const getsBeforeReads = client.stats().objectStoreRequests.get;
      let maxBlock = 0;
      let batches = 0;
      for (let k = 0; k < 4; k++) {
        const s = streams[k]!;
        let pos = 0;
        while (pos < s.confirmOffset()) {
          const got = await s.fetch(pos, s.confirmOffset(), MiB);
          for (const b of got) {
            const i = b.baseOffset * 4 + k;
            if (!b.payload.equals(payload(i, size))) throw new Error(`stream ${k} offset ${b.baseOffset}: wrong payload`);
            batches++;
          }
          pos = got[got.length - 1]!.baseOffset + 1;
          maxBlock = Math.max(maxBlock, client.stats().blockCacheBytes);
        }
      }
      expect(batches).to.equal(total / size);
      const st = client.stats();
      expect(maxBlock).to.be.at.most(4 * MiB);
      expect(maxBlock).to.be.greaterThan(0);
      // 256 KiB blocks hold 3 batches; readahead grows to 1 MiB (a quarter of the cache), so most
      // blocks arrive with an earlier miss.
      const blocksRead = st.blockCacheHits + st.blockCacheMisses;
      expect(st.blockCacheMisses).to.be.lessThan(blocksRead / 3);
      expect(st.objectStoreRequests.get - getsBeforeReads).to.be.lessThan(blocksRead / 3);
    } finally {
      await client.close();
    }
  });
});
