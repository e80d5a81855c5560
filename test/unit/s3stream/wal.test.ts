import { expect } from 'chai';
import type { DurableFlush, WalOptions } from '../../../broker/src/s3stream/wal/wal.js';
import { WriteAheadLog, walKey } from '../../../broker/src/s3stream/wal/wal.js';
import { decodeObject } from '../../../broker/src/s3stream/object/format.js';
import { MetadataFencedError } from '../../../broker/src/s3stream/api.js';
import { realTimers } from '../../../broker/src/s3stream/util/async.js';
import { WAL_TOMBSTONE } from '../../../broker/src/s3stream/wal/recovery.js';
import { FakeTimers, TestStore, payload, stateOf, waitFor } from './helpers.js';

function setup(over: Partial<WalOptions> = {}): { wal: WriteAheadLog; store: TestStore; timers: FakeTimers; durable: DurableFlush[] } {
  const store = new TestStore();
  const timers = new FakeTimers();
  const durable: DurableFlush[] = [];
  let objectId = 100;
  const wal = new WriteAheadLog({
    store,
    nodeId: 7,
    writerEpoch: 3,
    startSeq: 1,
    flushIntervalMs: 250,
    flushBytes: 8 * 1024 * 1024,
    maxUnflushedBytes: 64 * 1024 * 1024,
    blockBytes: 64 * 1024,
    allocateObjectId: async () => objectId++,
    onDurable: (f) => durable.push(f),
    timers,
    ...over,
  });
  return { wal, store, timers, durable };
}

const rec = (off: number, size: number) => ({ baseOffset: off, count: 1, appendTimeMs: 1, payload: payload(off, size) });

describe('s3stream WAL', () => {
  it('flushes by size: one object as soon as flushBytes are buffered', async () => {
    const { wal, store, durable } = setup({ flushBytes: 1000 });
    const promises = Array.from({ length: 10 }, (_, i) => wal.append(i % 2, rec(i >> 1, 300)));
    // 324 bytes per record: records 0-3 and 4-7 fill two objects, 8-9 wait for the timer.
    await Promise.all(promises.slice(0, 8));
    expect(store.puts).to.deep.equal([walKey(7, 1), walKey(7, 2)]);
    expect(await stateOf(promises[8]!)).to.equal('pending');
    expect(durable.map((d) => [...d.records.values()].flat().length)).to.deep.equal([4, 4]);
  });

  it('flushes by time: everything appended within the interval goes into one object', async () => {
    const { wal, store, timers } = setup();
    const p = [wal.append(1, rec(0, 10)), wal.append(2, rec(0, 10)), wal.append(1, rec(1, 10))];
    timers.advance(249);
    expect(await stateOf(p[0]!)).to.equal('pending');
    expect(store.puts).to.deep.equal([]);
    timers.advance(1);
    await Promise.all(p);
    expect(store.puts).to.deep.equal([walKey(7, 1)]);
    const obj = decodeObject(await store.get(walKey(7, 1)), 'wal');
    expect(obj.footer.writerEpoch).to.equal(3);
    expect(obj.index.map((e) => [e.streamId, e.startOffset, e.endOffset])).to.deep.equal([
      [1, 0, 2],
      [2, 0, 1],
    ]);
    // The next append starts a new interval.
    const q = wal.append(1, rec(2, 10));
    timers.advance(250);
    await q;
    expect(store.puts).to.have.length(2);
  });

  it('acks flushes in seq order even when a later upload finishes first', async () => {
    const { wal, store, durable } = setup({ flushBytes: 1 });
    store.holdPuts = (k) => k === walKey(7, 1);
    const first = wal.append(1, rec(0, 10));
    const second = wal.append(1, rec(1, 10));
    await waitFor(() => store.puts.includes(walKey(7, 2)), 'second upload');
    expect(await stateOf(second)).to.equal('pending');
    expect(durable).to.have.length(0);
    store.release(walKey(7, 1));
    await Promise.all([first, second]);
    expect(durable.map((d) => d.seq)).to.deep.equal([1, 2]);
  });

  it('retries a failed upload until it succeeds and never acks before', async () => {
    const { wal, store } = setup({ flushBytes: 1, timers: realTimers });
    store.failNextPuts = 2;
    const p = wal.append(1, rec(0, 10));
    await waitFor(() => store.failNextPuts === 0, 'both injected failures');
    await p;
    expect(store.puts).to.deep.equal([walKey(7, 1)]);
    expect(wal.objectsWritten).to.equal(1);
  });

  it('applies back-pressure: ready() waits while too many bytes are unflushed', async () => {
    const { wal, store } = setup({ flushBytes: 1, maxUnflushedBytes: 1000 });
    store.holdPuts = () => true;
    const p = [wal.append(1, rec(0, 600)), wal.append(1, rec(1, 600))];
    expect(wal.unflushedBytes).to.equal(2 * 624);
    const ready = wal.ready();
    expect(await stateOf(ready)).to.equal('pending');
    await waitFor(() => store.heldKeys().length === 2, 'two held uploads');
    store.release(walKey(7, 1));
    await p[0];
    expect(await stateOf(ready)).to.equal('resolved');
    store.release(walKey(7, 2));
    await p[1];
    expect(wal.unflushedBytes).to.equal(0);
  });

  it('keeps objects about flushBytes big while every upload slot is busy', async () => {
    const { wal, store } = setup({ flushBytes: 1000, maxInflight: 2 });
    store.holdPuts = () => true;
    const acks = Array.from({ length: 30 }, (_, i) => wal.append(1, rec(i, 300))); // 4 records per object
    await waitFor(() => store.heldKeys().length === 2, 'two uploads in flight');
    store.holdPuts = undefined;
    for (const k of store.heldKeys()) store.release(k);
    await wal.flush();
    await Promise.all(acks);
    expect(store.puts).to.have.length(8);
    for (const k of store.puts) expect((await store.head(k))!.size).to.be.below(2000);
  });

  it('flush() forces out everything appended so far', async () => {
    const { wal, store } = setup();
    const p = wal.append(1, rec(0, 10));
    await wal.flush();
    expect(await stateOf(p)).to.equal('resolved');
    expect(store.puts).to.have.length(1);
  });

  it('never acks at or after a tombstone the metadata owner wrote, and refuses later appends', async () => {
    const { wal, store, durable } = setup({ flushBytes: 1 });
    await wal.append(1, rec(0, 10));
    // The owner fenced this writer: a tombstone at the next seq (wal/recovery.ts).
    await store.inner.put(walKey(7, 2), WAL_TOMBSTONE);
    let err: unknown;
    await wal.append(1, rec(1, 10)).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(MetadataFencedError);
    err = undefined;
    await wal.append(1, rec(2, 10)).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(MetadataFencedError);
    expect(durable.map((d) => [d.seq, d.objectId])).to.deep.equal([[1, 100]]);
  });

  it('treats an existing WAL key as fencing (put-if-absent never overwrites another writer)', async () => {
    const { wal, store } = setup({ flushBytes: 1 });
    await store.inner.put(walKey(7, 1), Buffer.from('someone else'));
    let err: unknown;
    await wal.append(1, rec(0, 10)).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(MetadataFencedError);
    expect((await store.get(walKey(7, 1))).toString()).to.equal('someone else');
  });
});
