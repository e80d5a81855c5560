/**
 * The coordinator over the real S3Stream library (in-memory object store): offsets committed,
 * snapshotted and trimmed survive a restart of both the stream client and the coordinator, with
 * nothing on local disk.
 */
import { expect } from 'chai';
import { GroupShardCoordinator } from '../../../broker/src/group/shard-coordinator.js';
import { MemoryObjectStore, openStreamClient, type Stream, type StreamClient } from '../../../broker/src/s3stream/index.js';
import { GroupCoordinator } from '../../../broker/src/group/coordinator.js';
import { FakeClock, FakeCluster } from './fakes.js';

const STREAM_KEY = 'test/offsets-stream';

async function open(store: MemoryObjectStore): Promise<{ client: StreamClient; stream: Stream }> {
  const client = await openStreamClient({ store, nodeId: 1, walFlushIntervalMs: 5, compactionIntervalMs: 0 });
  const id = client.kv.get(STREAM_KEY);
  if (id) return { client, stream: await client.openStream(Number(id.toString())) };
  const stream = await client.createStream();
  await client.kv.put(STREAM_KEY, Buffer.from(String(stream.id)));
  return { client, stream };
}

describe('group coordinator over S3Stream', () => {
  it('recovers committed offsets after a restart with only the object store', async () => {
    const store = new MemoryObjectStore();
    const clock = new FakeClock();
    const load = (stream: Stream, client: StreamClient) =>
      GroupShardCoordinator.load({ offsetLog: stream, kv: client.kv, now: () => clock.now, timers: clock, config: { initialRebalanceDelayMs: 0, snapshotEveryRecords: 20, snapshotIntervalMs: 0 } });
    const commit = (gc: GroupShardCoordinator, i: number) =>
      gc.commitOffsets({
        groupId: `g${i % 3}`,
        generationId: -1,
        memberId: '',
        groupInstanceId: null,
        retentionTimeMs: -1,
        partitions: [{ topic: 't', partition: i % 4, offset: BigInt(i), leaderEpoch: 1, metadata: `m${i}`, commitTimestamp: -1 }],
      });

    const a = await open(store);
    const gc1 = await load(a.stream, a.client);
    for (let i = 0; i < 50; i++) expect(await commit(gc1, i)).to.deep.equal([0]);
    await gc1.snapshotNow();
    expect(a.stream.startOffset(), 'log trimmed after the snapshot').to.equal(a.stream.nextOffset());
    for (let i = 50; i < 55; i++) expect(await commit(gc1, i)).to.deep.equal([0]);
    const before = ['g0', 'g1', 'g2'].map((g) => gc1.fetchOffsets(g, null));
    // Crash: the coordinator is never closed; the client flushed what was acknowledged.
    await a.client.close();

    const b = await open(store);
    const gc2 = await load(b.stream, b.client);
    try {
      expect(gc2.storeStats().replayedRecords).to.equal(5);
      expect(['g0', 'g1', 'g2'].map((g) => gc2.fetchOffsets(g, null))).to.deep.equal(before);
      expect(gc2.fetchOffsets('g1', [{ name: 't', partitions: [2] }]).topics[0]!.partitions[0]).to.deep.equal({
        partitionIndex: 2,
        committedOffset: 46n,
        committedLeaderEpoch: 1,
        metadata: 'm46',
        errorCode: 0,
      });
    } finally {
      await gc2.close();
      await b.client.close();
    }
  });

  it('moves a group shard between two coordinators over one S3Stream client, and both survive a restart', async () => {
    const store = new MemoryObjectStore();
    const clock = new FakeClock();
    const sharded = (client: StreamClient) =>
      GroupCoordinator.create({ streams: client, shards: 2, now: () => clock.now, timers: clock, config: { initialRebalanceDelayMs: 0, snapshotIntervalMs: 0 } });
    const commit = (gc: GroupCoordinator, groupId: string, offset: number) =>
      gc.commitOffsets({
        groupId,
        generationId: -1,
        memberId: '',
        groupInstanceId: null,
        retentionTimeMs: -1,
        partitions: [{ topic: 't', partition: 0, offset: BigInt(offset), leaderEpoch: 0, metadata: '', commitTimestamp: -1 }],
      });
    const offsetOf = (gc: GroupCoordinator, groupId: string) => gc.fetchOffsets(groupId, [{ name: 't', partitions: [0] }]);
    // "abc" hashes to 96354: shard 0 of 2; "a" (97): shard 1.
    const client = await openStreamClient({ store, nodeId: 1, walFlushIntervalMs: 5, compactionIntervalMs: 0 });
    const cluster = new FakeCluster([1, 2]);
    const a = sharded(client);
    const b = sharded(client);
    a.followLeadership(cluster.view(1));
    b.followLeadership(cluster.view(2));
    cluster.publish({ 0: 1, 1: 1 });
    await a.settled();
    expect(await commit(a, 'abc', 10)).to.deep.equal([0]);
    expect(await commit(a, 'a', 20)).to.deep.equal([0]);
    cluster.publish({ 0: 2 });
    await a.settled();
    await b.settled();
    expect(offsetOf(a, 'abc').errorCode).to.equal(16); // NOT_COORDINATOR
    expect(offsetOf(b, 'abc').topics[0]!.partitions[0]!.committedOffset).to.equal(10n);
    expect(await commit(b, 'abc', 11)).to.deep.equal([0]);
    // Crash of everything: the coordinators are not closed.
    await client.close();

    const client2 = await openStreamClient({ store, nodeId: 1, walFlushIntervalMs: 5, compactionIntervalMs: 0 });
    const c = sharded(client2);
    try {
      await Promise.all([c.loadShard(0), c.loadShard(1)]);
      expect(offsetOf(c, 'abc').topics[0]!.partitions[0]!.committedOffset).to.equal(11n);
      expect(offsetOf(c, 'a').topics[0]!.partitions[0]!.committedOffset).to.equal(20n);
    } finally {
      await c.close();
      await client2.close();
    }
  });
});
