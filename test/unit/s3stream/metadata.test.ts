import { expect } from 'chai';
import { MetadataFencedError } from '../../../broker/src/s3stream/api.js';
import type { MetadataLogOptions } from '../../../broker/src/s3stream/metadata/metadata-log.js';
import { META_LOG_PREFIX, META_SNAPSHOT_PREFIX, MetadataLog, logKey, snapshotKey } from '../../../broker/src/s3stream/metadata/metadata-log.js';
import { applyRecord, emptyState, toSnapshot } from '../../../broker/src/s3stream/metadata/state.js';
import type { MetaRecord } from '../../../broker/src/s3stream/metadata/records.js';
import { MemoryObjectStore } from '../../../broker/src/s3stream/object-store/memory.js';
import type { ObjectStore } from '../../../broker/src/s3stream/object-store/object-store.js';
import { FakeTimers, TestStore, stateOf } from './helpers.js';

function opts(store: ObjectStore, over: Partial<MetadataLogOptions> = {}): MetadataLogOptions {
  return { store, now: () => 1000, snapshotEvery: 1000, commitDelayMs: 2000, ...over };
}

const walObject = (id: number, s: number, start: number, end: number): MetaRecord => ({
  t: 'commitWal',
  node: 1,
  seq: id + 1,
  object: { id, key: `wal/1/${id}`, size: 100, kind: 'wal', ranges: [{ s, start, end, bytes: 50, ts: 5 }] },
});

describe('s3stream metadata state', () => {
  it('tracks ranges, releases objects no range references, and replaces ranges on compaction', () => {
    const st = emptyState();
    const apply = (r: MetaRecord, ts = 10) => applyRecord(st, r, ts, undefined);
    apply({ t: 'createStream', id: 0 });
    apply({ t: 'createStream', id: 1 });
    apply({
      t: 'commitWal',
      node: 1,
      seq: 1,
      object: {
        id: 0,
        key: 'wal/1/1',
        size: 100,
        kind: 'wal',
        ranges: [
          { s: 0, start: 0, end: 10, bytes: 40, ts: 1 },
          { s: 1, start: 0, end: 5, bytes: 40, ts: 1 },
        ],
      },
    });
    apply(walObject(1, 0, 10, 20));
    expect(st.streams.get(0)!.nextOffset).to.equal(20);
    // A replayed (duplicate) range is ignored.
    apply({ ...walObject(2, 0, 10, 20) } as MetaRecord);
    expect(st.streams.get(0)!.ranges).to.have.length(2);
    expect(st.objects.get(2)!.releasedAtMs).to.equal(10);
    // Compaction: stream 0's two ranges move to object 3, stream 1's to object 4.
    apply(
      {
        t: 'compact',
        remove: [0, 1],
        add: [
          { id: 3, key: 'data/3', size: 80, kind: 'stream', ranges: [{ s: 0, start: 0, end: 20, bytes: 80, ts: 1 }] },
          { id: 4, key: 'data/4', size: 40, kind: 'stream', ranges: [{ s: 1, start: 0, end: 5, bytes: 40, ts: 1 }] },
        ],
      },
      20,
    );
    expect(st.streams.get(0)!.ranges.map((r) => r.objectId)).to.deep.equal([3]);
    expect(st.streams.get(1)!.ranges.map((r) => r.objectId)).to.deep.equal([4]);
    expect([0, 1].map((id) => st.objects.get(id)!.releasedAtMs)).to.deep.equal([20, 20]);
    expect([3, 4].map((id) => st.objects.get(id)!.releasedAtMs)).to.deep.equal([undefined, undefined]);
    // Trimming past object 4's range releases it; deleting stream 0 releases object 3.
    apply({ t: 'trim', id: 1, startOffset: 5 }, 30);
    expect(st.objects.get(4)!.releasedAtMs).to.equal(30);
    apply({ t: 'deleteStream', id: 0 }, 40);
    expect(st.objects.get(3)!.releasedAtMs).to.equal(40);
    apply({ t: 'deleted', ids: [0, 1, 3] });
    expect([...st.objects.keys()].sort()).to.deep.equal([2, 4]);
  });
});

describe('s3stream metadata log', () => {
  it('persists records and loads the same state in a fresh instance', async () => {
    const store = new MemoryObjectStore();
    const a = await MetadataLog.load(opts(store));
    await a.append([{ t: 'open', node: 1, writer: a.writerId }]);
    await a.append([{ t: 'createStream', id: 0 }, walObject(0, 0, 0, 10)]);
    await a.append([{ t: 'kv', put: [['__proto__', Buffer.from('v').toString('base64')]], del: [] }]);
    const b = await MetadataLog.load(opts(store));
    expect(toSnapshot(b.durable)).to.deep.equal(toSnapshot(a.durable));
    expect(toSnapshot(b.spec)).to.deep.equal(toSnapshot(a.durable));
    expect(b.durable.kv.get('__proto__')!.toString()).to.equal('v');
    expect(b.seq).to.equal(3);
  });

  it('batches lazy records into one log object, written after the commit delay or with the next urgent record', async () => {
    const store = new MemoryObjectStore();
    const timers = new FakeTimers();
    const log = await MetadataLog.load(opts(store, { timers }));
    await log.append([{ t: 'createStream', id: 0 }]);
    const lazy = Array.from({ length: 5 }, (_, i) => log.append([walObject(i, 0, i * 10, i * 10 + 10)], true));
    expect(log.spec.streams.get(0)!.nextOffset).to.equal(50); // visible to readers at once
    expect(log.durable.streams.get(0)!.nextOffset).to.equal(0);
    expect(await stateOf(lazy[0]!)).to.equal('pending');
    timers.advance(2000);
    await Promise.all(lazy);
    expect((await store.list(META_LOG_PREFIX)).length).to.equal(2);
    const more = log.append([walObject(5, 0, 50, 60)], true);
    await log.append([{ t: 'kv', put: [['k', 'AA==']], del: [] }]);
    expect(await stateOf(more)).to.equal('resolved');
    expect((await store.list(META_LOG_PREFIX)).length).to.equal(3);
    expect(log.stats()).to.deep.equal({ logObjectsWritten: 3, recordsWritten: 8 });
  });

  it('writes lazy records once lazyMaxRecords wait, without waiting for the commit delay', async () => {
    const store = new MemoryObjectStore();
    const timers = new FakeTimers();
    const log = await MetadataLog.load(opts(store, { timers, commitDelayMs: 30_000, lazyMaxRecords: 4 }));
    await log.append([{ t: 'createStream', id: 0 }]);
    const first = Array.from({ length: 3 }, (_, i) => log.append([walObject(i, 0, i * 10, i * 10 + 10)], true));
    await log.idle();
    expect(await stateOf(first[0]!)).to.equal('pending');
    expect((await store.list(META_LOG_PREFIX)).length).to.equal(1);
    const fourth = log.append([walObject(3, 0, 30, 40)], true);
    await Promise.all([...first, fourth]);
    expect((await store.list(META_LOG_PREFIX)).length).to.equal(2);
    expect(log.durable.streams.get(0)!.nextOffset).to.equal(40);
    // Below the count, only the (long) delay writes them.
    const fifth = log.append([walObject(4, 0, 40, 50)], true);
    timers.advance(29_999);
    await log.idle();
    expect(await stateOf(fifth)).to.equal('pending');
    timers.advance(1);
    await fifth;
    expect((await store.list(META_LOG_PREFIX)).length).to.equal(3);
  });

  it('snapshots after N log objects too, when records travel alone (compaction commits)', async () => {
    const store = new MemoryObjectStore();
    const log = await MetadataLog.load(opts(store, { snapshotEvery: 1000, snapshotEveryObjects: 4 }));
    await log.append([{ t: 'createStream', id: 0 }]);
    for (let i = 0; i < 3; i++) {
      await log.append([walObject(i, 0, i, i + 1)]);
      await log.idle();
    }
    expect(await store.list(META_SNAPSHOT_PREFIX)).to.have.length(1); // after 4 objects, 4 records
    for (let i = 3; i < 11; i++) {
      await log.append([walObject(i, 0, i, i + 1)]);
      await log.idle();
    }
    expect((await store.list(META_SNAPSHOT_PREFIX)).map((o) => o.key)).to.deep.equal([snapshotKey(8), snapshotKey(12)]);
    expect((await store.list(META_LOG_PREFIX)).length).to.be.at.most(4 + 1);
    const fresh = await MetadataLog.load(opts(store));
    expect(toSnapshot(fresh.durable)).to.deep.equal(toSnapshot(log.durable));
  });

  it('snapshots every N records, loads from the snapshot, and cleans old objects but keeps open records', async () => {
    const store = new MemoryObjectStore();
    const log = await MetadataLog.load(opts(store, { snapshotEvery: 5 }));
    await log.append([{ t: 'open', node: 1, writer: log.writerId }]); // seq 1, protected forever
    await log.append([{ t: 'createStream', id: 0 }]);
    for (let i = 0; i < 20; i++) {
      await log.append([walObject(i, 0, i, i + 1)]);
      await log.idle();
    }
    const snaps = (await store.list(META_SNAPSHOT_PREFIX)).map((o) => o.key);
    expect(snaps).to.have.length(2);
    const logs = (await store.list(META_LOG_PREFIX)).map((o) => o.key);
    expect(logs).to.include(logKey(1));
    expect(logs).to.not.include(logKey(2));
    const fresh = await MetadataLog.load(opts(store));
    expect(toSnapshot(fresh.durable)).to.deep.equal(toSnapshot(log.durable));
    // A damaged newest snapshot: the older one plus the kept log gives the same state.
    await store.put(snaps[1]!, Buffer.from('garbage'));
    const again = await MetadataLog.load(opts(store));
    expect(toSnapshot(again.durable)).to.deep.equal(toSnapshot(log.durable));
    expect(snaps[1]).to.equal(snapshotKey(log.lastSnapshotSeq));
  });

  it('fences the older writer when a second one takes over', async () => {
    const store = new MemoryObjectStore();
    const a = await MetadataLog.load(opts(store));
    await a.append([{ t: 'createStream', id: 0 }]);
    const b = await MetadataLog.load(opts(store));
    await b.append([{ t: 'open', node: 1, writer: b.writerId }]);
    let err: unknown;
    await a.checkNotFenced().catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(MetadataFencedError);
    err = undefined;
    await a.append([{ t: 'createStream', id: 1 }]).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(MetadataFencedError);
    await b.checkNotFenced();
    // The writer's own later record does not count as fencing.
    const pending = b.append([{ t: 'createStream', id: 1 }]);
    await b.checkNotFenced();
    await pending;
    const c = await MetadataLog.load(opts(store));
    expect([...c.durable.streams.keys()]).to.deep.equal([0, 1]);
  });

  it('a fenced writer whose put races the new owner loses: exactly one write per seq', async () => {
    const store = new MemoryObjectStore();
    const a = await MetadataLog.load(opts(store));
    const b = await MetadataLog.load(opts(store));
    const results = await Promise.allSettled([a.append([{ t: 'createStream', id: 0 }]), b.append([{ t: 'createStream', id: 5 }])]);
    expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
    expect(results.filter((r) => r.status === 'rejected' && r.reason instanceof MetadataFencedError)).to.have.length(1);
  });

  it('retries a failed metadata write until it succeeds (records are never dropped)', async () => {
    const store = new TestStore();
    const log = await MetadataLog.load(opts(store));
    store.failNextPuts = 2;
    await log.append([{ t: 'createStream', id: 0 }]);
    expect(store.failNextPuts).to.equal(0);
    expect(store.puts).to.deep.equal([logKey(1)]);
    expect((await MetadataLog.load(opts(store))).durable.streams.has(0)).to.equal(true);
  });

  it('refuses to load a log with a gap, saying what is missing', async () => {
    const store = new MemoryObjectStore();
    const a = await MetadataLog.load(opts(store));
    for (let i = 0; i < 3; i++) await a.append([{ t: 'createStream', id: i }]);
    await store.delete([logKey(2)]);
    let err: unknown;
    await MetadataLog.load(opts(store)).catch((e: unknown) => (err = e));
    expect(String(err)).to.match(/gap: expected meta\/log\/0+2/);
  });
});
