import { expect } from 'chai';
import { crc32c } from '@node-rs/crc32';
import {
  decodeBlock,
  decodeObject,
  FOOTER_BYTES,
  INDEX_ENTRY_BYTES,
  ObjectFormatError,
  ObjectWriter,
  rangesOf,
} from '../../../broker/src/s3stream/object/format.js';
import type { StoredRecord } from '../../../broker/src/s3stream/object/format.js';
import { contiguousRuns, entriesFor, readBlockRun, readObjectIndex, TAIL_READ_BYTES } from '../../../broker/src/s3stream/object/reader.js';
import { MemoryObjectStore } from '../../../broker/src/s3stream/object-store/memory.js';
import { InstrumentedObjectStore } from '../../../broker/src/s3stream/object-store/instrumented.js';
import { payload } from './helpers.js';

function rec(baseOffset: number, count: number, size: number, ts = 1000 + baseOffset): StoredRecord {
  return { baseOffset, count, appendTimeMs: ts, payload: payload(baseOffset, size) };
}

describe('s3stream object format', () => {
  it('round-trips records of several streams, cutting blocks at the block size', () => {
    const w = new ObjectWriter(1024, 42);
    const input = new Map<number, StoredRecord[]>();
    for (const sid of [3, 7, 2 ** 40]) {
      const list: StoredRecord[] = [];
      let off = sid === 7 ? 2 ** 50 : 0; // offsets beyond 32 bits survive
      for (let i = 0; i < 20; i++) {
        const r = rec(off, 1 + (i % 3), 100 + i * 10);
        list.push(r);
        w.add(sid, r);
        off += r.count;
      }
      input.set(sid, list);
    }
    const { body, index } = w.finish();
    const decoded = decodeObject(body, 'test');
    expect(decoded.footer.writerEpoch).to.equal(42);
    expect(decoded.index).to.deep.equal(index);
    // 20 records of 124..314 bytes with 1 KiB blocks: several blocks per stream, each under 1 KiB.
    expect(index.length).to.be.greaterThan(6);
    for (const e of index) expect(e.size).to.be.at.most(1024 + 24);
    for (const [sid, list] of input) {
      const got = decoded.index.flatMap((e, i) => (e.streamId === sid ? decoded.blocks[i]! : []));
      expect(got.map((r) => [r.baseOffset, r.count, r.appendTimeMs])).to.deep.equal(list.map((r) => [r.baseOffset, r.count, r.appendTimeMs]));
      got.forEach((r, i) => expect(r.payload.equals(list[i]!.payload)).to.equal(true));
    }
    const ranges = rangesOf(index);
    expect(ranges.map((r) => r.streamId)).to.deep.equal([3, 7, 2 ** 40]);
    expect(ranges[1]!.startOffset).to.equal(2 ** 50);
    expect(ranges.reduce((n, r) => n + r.bytes, 0)).to.equal(body.length - FOOTER_BYTES - index.length * INDEX_ENTRY_BYTES);
  });

  it('moves whole blocks into another object as they are (addBlock), mixed with re-encoded records', () => {
    const src = new ObjectWriter(512);
    const records = Array.from({ length: 12 }, (_, i) => rec(i, 1, 200));
    for (const r of records) src.add(5, r);
    const a = src.finish();
    expect(a.index.length).to.be.greaterThan(3);
    // Ranges know where their adjacent blocks start (readers fetch them without the index).
    expect(rangesOf(a.index).map((r) => r.position)).to.deep.equal([0]);
    const out = new ObjectWriter(512, 7);
    const [first, second, ...rest] = a.index;
    out.addBlock(first!, a.body.subarray(first!.position, first!.position + first!.size));
    for (const r of decodeBlock(a.body.subarray(second!.position, second!.position + second!.size), second!, 'src')) out.add(5, r);
    for (const e of rest) out.addBlock(e, a.body.subarray(e.position, e.position + e.size));
    expect(() => out.addBlock(first!, a.body.subarray(0, first!.size))).to.throw(RangeError, /offset order/);
    const b = out.finish();
    const decoded = decodeObject(b.body, 'out');
    expect(decoded.footer.writerEpoch).to.equal(7);
    const got = decoded.blocks.flat();
    expect(got.map((r) => r.baseOffset)).to.deep.equal(records.map((r) => r.baseOffset));
    got.forEach((r, i) => expect(r.payload.equals(records[i]!.payload)).to.equal(true));
    expect(rangesOf(b.index)).to.have.length(1);
    expect(rangesOf(b.index)[0]!.bytes).to.equal(b.body.length - FOOTER_BYTES - b.index.length * INDEX_ENTRY_BYTES);
  });

  it('gives a record larger than the block size a block of its own', () => {
    const w = new ObjectWriter(100);
    w.add(1, rec(0, 1, 10));
    w.add(1, rec(1, 1, 500));
    w.add(1, rec(2, 1, 10));
    const { index } = w.finish();
    expect(index.map((e) => e.recordCount)).to.deep.equal([1, 1, 1]);
  });

  it('rejects out-of-order records and streams', () => {
    const w = new ObjectWriter(1000);
    w.add(1, rec(10, 5, 1));
    expect(() => w.add(1, rec(12, 1, 1))).to.throw(RangeError, /offset order/);
    w.add(2, rec(0, 1, 1));
    expect(() => w.add(1, rec(20, 1, 1))).to.throw(RangeError, /ascending id order/);
  });

  it('detects corruption in blocks, index and footer', () => {
    const w = new ObjectWriter(256);
    for (let i = 0; i < 10; i++) w.add(1, rec(i, 1, 100));
    const { body, index } = w.finish();
    const flip = (at: number): Buffer => {
      const b = Buffer.from(body);
      b[at] = b[at]! ^ 0x01;
      return b;
    };
    // a payload byte of the second block
    expect(() => decodeObject(flip(index[1]!.position + 40), 'x')).to.throw(ObjectFormatError, /block checksum/);
    // an index byte
    expect(() => decodeObject(flip(body.length - FOOTER_BYTES - 5), 'x')).to.throw(ObjectFormatError, /index checksum/);
    // footer fields and magic
    expect(() => decodeObject(flip(body.length - FOOTER_BYTES + 2), 'x')).to.throw(ObjectFormatError, /footer checksum/);
    expect(() => decodeObject(flip(body.length - 1), 'x')).to.throw(ObjectFormatError, /magic/);
    // truncation
    expect(() => decodeObject(body.subarray(0, body.length - 3), 'x')).to.throw(ObjectFormatError);
    expect(() => decodeObject(Buffer.alloc(10), 'x')).to.throw(ObjectFormatError, /too small/);
    // a block handed to the wrong index entry
    const b0 = body.subarray(index[0]!.position, index[0]!.position + index[0]!.size);
    expect(() => decodeBlock(b0, { ...index[0]!, streamId: 9 }, 'x')).to.throw(ObjectFormatError, /disagrees/);
  });

  it('rejects an unknown format version with an actionable message', () => {
    const w = new ObjectWriter(256);
    w.add(1, rec(0, 1, 10));
    const { body } = w.finish();
    const b = Buffer.from(body);
    const f = b.length - FOOTER_BYTES;
    b.writeUInt16BE(9, f + 20);
    b.writeUInt32BE(crc32c(b.subarray(f, f + 36)), f + 36);
    expect(() => decodeObject(b, 'x')).to.throw(ObjectFormatError, /version 9 is not supported.*upgrade/);
  });

  it('reads footer+index with one ranged GET of the tail and a stream range without reading the whole object', async () => {
    const mem = new MemoryObjectStore();
    const store = new InstrumentedObjectStore(mem);
    const w = new ObjectWriter(4096);
    for (const sid of [1, 2, 3]) for (let i = 0; i < 200; i++) w.add(sid, rec(i, 1, 1000));
    const { body } = w.finish();
    await mem.put('obj', body);
    const idx = await readObjectIndex(store, 'obj', body.length);
    expect(store.counters().requests.get).to.equal(1);
    expect(store.counters().bytesDownloaded).to.equal(TAIL_READ_BYTES);
    const entries = entriesFor(idx.entries, 2, 50, 60);
    const runs = contiguousRuns(entries);
    expect(runs).to.have.length(1);
    const blocks = await readBlockRun(store, 'obj', runs[0]!);
    const offsets = blocks.flatMap((b) => b.records.map((r) => r.baseOffset));
    expect(offsets[0]).to.be.at.most(50);
    expect(offsets[offsets.length - 1]).to.be.at.least(59);
    expect(store.counters().requests.get).to.equal(2);
    expect(store.counters().bytesDownloaded - TAIL_READ_BYTES).to.be.lessThan(body.length / 20);
  });

  it('falls back to a second GET when the index is larger than the tail read', async () => {
    const mem = new MemoryObjectStore();
    const store = new InstrumentedObjectStore(mem);
    const w = new ObjectWriter(1);
    const n = Math.ceil(TAIL_READ_BYTES / INDEX_ENTRY_BYTES) + 10;
    for (let i = 0; i < n; i++) w.add(i, rec(0, 1, 0)); // one block per stream: n index entries
    const { body } = w.finish();
    await mem.put('big', body);
    const idx = await readObjectIndex(store, 'big');
    expect(idx.entries).to.have.length(n);
    expect(store.counters().requests).to.include({ head: 1, get: 2 });
  });
});
