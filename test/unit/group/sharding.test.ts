/**
 * Group sharding: which shard a group belongs to (Kafka's formula, checked against values computed
 * by Java), and coordinators on two brokers sharing one store while the controller moves shard
 * leadership between them (FakeCluster stands for the replicated ClusterView).
 */
import { expect } from 'chai';
import { GroupCoordinator } from '../../../broker/src/group/coordinator.js';
import { groupShardOf, javaStringHashCode, resolveGroupShardCount, shardStreamKey } from '../../../broker/src/group/shards.js';
import { ErrorCode } from '../../../broker/src/protocol/errors.js';
import { FakeCluster, MemoryKv, settle } from './fakes.js';
import { joinReq, setupSharded, track, type ShardedEnv } from './helpers.js';

const SHARDS = 4;

/** A group id that falls in `shard` (of SHARDS). */
function groupIn(shard: number, tag = 'g'): string {
  for (let i = 0; ; i++) if (groupShardOf(`${tag}${i}`, SHARDS) === shard) return `${tag}${i}`;
}

function commit(env: ShardedEnv, groupId: string, offset: number, partition = 0) {
  return env.gc.commitOffsets({
    groupId,
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1,
    partitions: [{ topic: 't', partition, offset: BigInt(offset), leaderEpoch: 0, metadata: `m${offset}`, commitTimestamp: -1 }],
  });
}

function committed(env: ShardedEnv, groupId: string, partition = 0): { errorCode: number; offset: bigint | undefined } {
  const r = env.gc.fetchOffsets(groupId, [{ name: 't', partitions: [partition] }]);
  return { errorCode: r.errorCode, offset: r.topics[0]?.partitions[0]?.committedOffset };
}

/** Two brokers (nodes 1 and 2) following one cluster, over one store and one clock. */
function twoBrokers(opts: { loadRetryMs?: number } = {}) {
  const cluster = new FakeCluster([1, 2]);
  const a = setupSharded({ shards: SHARDS, ...opts });
  const b = setupSharded({ shards: SHARDS, ...opts }, a);
  a.gc.followLeadership(cluster.view(1));
  b.gc.followLeadership(cluster.view(2));
  const settled = async () => {
    await a.gc.settled();
    await b.gc.settled();
  };
  return { cluster, a, b, settled };
}

describe('group shards: Java String.hashCode and the shard of a group', () => {
  // Computed with Java 17: s.hashCode(), then Kafka's Utils.abs(h) % 16 and % 50.
  const known: [string, number, number, number][] = [
    ['', 0, 0, 0],
    ['a', 97, 1, 47],
    ['abc', 96354, 2, 4],
    ['hello', 99162322, 2, 22],
    ['Hello World', -862545276, 12, 26],
    ['Aa', 2112, 0, 12],
    ['BB', 2112, 0, 12],
    ['polygenelubricants', -2147483648, 0, 0],
    ['GydZG_', -2147483648, 0, 0],
    ['my-group', -1906497762, 2, 12],
    ['console-consumer-12345', 158455506, 2, 6],
    ['é', 233, 9, 33],
    ['\u{1F600}', 1772899, 3, 49],
    ['グループ', 383750870, 6, 20],
    ['z'.repeat(64), 1582229504, 0, 4],
  ];
  for (const [s, hash, of16, of50] of known) {
    it(`"${s.length > 20 ? `${s.slice(0, 8)}...(${s.length})` : s}" hashes to ${hash}, shard ${of16}/16 and ${of50}/50`, () => {
      expect(javaStringHashCode(s)).to.equal(hash);
      expect(groupShardOf(s, 16)).to.equal(of16);
      expect(groupShardOf(s, 50)).to.equal(of50);
    });
  }

  it('fixes the shard count at the first start and ignores a different configured count later', async () => {
    const kv = new MemoryKv();
    expect(await resolveGroupShardCount(kv, 16)).to.deep.equal({ shards: 16 });
    expect(await resolveGroupShardCount(kv, 16)).to.deep.equal({ shards: 16 });
    const later = await resolveGroupShardCount(kv, 50);
    expect(later.shards).to.equal(16);
    expect(later.ignoredConfigured).to.match(/offsets\.topic\.num\.partitions=50 ignored/);
    await kv.put('groups/num-shards', Buffer.from('x'));
    let err: unknown;
    await resolveGroupShardCount(kv, 16).catch((e: unknown) => (err = e));
    expect(String(err)).to.match(/not a shard count/);
  });
});

describe('group shards: load, unload and leadership moves', () => {
  it('answers NOT_COORDINATOR for every group API of a shard not loaded here', async () => {
    const env = setupSharded({ shards: SHARDS });
    await env.gc.loadShard(0);
    const g = groupIn(1);
    const NC = ErrorCode.NOT_COORDINATOR;
    expect((await env.gc.joinGroup(joinReq({ groupId: g }))).errorCode).to.equal(NC);
    expect(
      (await env.gc.syncGroup({ groupId: g, generationId: 1, memberId: 'm', groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] })).errorCode,
    ).to.equal(NC);
    expect(env.gc.heartbeat({ groupId: g, generationId: 1, memberId: 'm', groupInstanceId: null })).to.equal(NC);
    expect(env.gc.leaveGroup(g, [{ memberId: 'm', groupInstanceId: null, reason: null }]).errorCode).to.equal(NC);
    expect(await commit(env, g, 5)).to.deep.equal([NC]);
    expect(committed(env, g).errorCode).to.equal(NC);
    expect(env.gc.describeGroup(g).errorCode).to.equal(NC);
    expect(await env.gc.deleteGroups([g])).to.deep.equal([{ groupId: g, errorCode: NC }]);
    // The loaded shard serves; an empty group id is still INVALID_GROUP_ID for membership APIs.
    expect(await commit(env, groupIn(0), 5)).to.deep.equal([ErrorCode.NONE]);
    expect(env.gc.heartbeat({ groupId: '', generationId: 1, memberId: 'm', groupInstanceId: null })).to.equal(ErrorCode.INVALID_GROUP_ID);
    await env.gc.close();
  });

  it('answers COORDINATOR_LOAD_IN_PROGRESS while the shard loads, and serves once loaded', async () => {
    const env = setupSharded({ shards: SHARDS });
    let open!: () => void;
    env.storage.openGate = new Promise<void>((r) => (open = r));
    const g = groupIn(2);
    const loading = env.gc.loadShard(2);
    expect(env.gc.shardState(2)).to.equal('loading');
    expect(await commit(env, g, 1)).to.deep.equal([ErrorCode.COORDINATOR_LOAD_IN_PROGRESS]);
    expect(committed(env, g).errorCode).to.equal(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    expect((await env.gc.joinGroup(joinReq({ groupId: g }))).errorCode).to.equal(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    const list = env.gc.listGroups();
    expect(list.errorCode).to.equal(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    open();
    env.storage.openGate = undefined;
    await loading;
    expect(env.gc.shardState(2)).to.equal('loaded');
    expect(await commit(env, g, 1)).to.deep.equal([ErrorCode.NONE]);
    expect(env.gc.listGroups()).to.deep.equal({ errorCode: 0, groups: [{ groupId: g, protocolType: '', groupState: 'Empty' }] });
    await env.gc.close();
  });

  it('moves a shard between brokers: offsets and group metadata committed on one are served by the other', async () => {
    const { cluster, a, b, settled } = twoBrokers();
    cluster.publishAll(SHARDS, 1);
    await settled();
    expect(a.gc.loadedShards()).to.deep.equal([0, 1, 2, 3]);
    expect(b.gc.loadedShards()).to.deep.equal([]);
    const g = groupIn(3);
    const other = groupIn(0);
    // A stable one-member group with a committed offset.
    const j = await a.gc.joinGroup(joinReq({ groupId: g }));
    expect(j.errorCode).to.equal(0);
    const s = await a.gc.syncGroup({
      groupId: g,
      generationId: j.generationId,
      memberId: j.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [{ memberId: j.memberId, assignment: Buffer.from('A') }],
    });
    expect(s.errorCode).to.equal(0);
    const c = await a.gc.commitOffsets({
      groupId: g,
      generationId: j.generationId,
      memberId: j.memberId,
      groupInstanceId: null,
      retentionTimeMs: -1,
      partitions: [{ topic: 't', partition: 0, offset: 42n, leaderEpoch: 3, metadata: 'meta', commitTimestamp: -1 }],
    });
    expect(c).to.deep.equal([0]);
    expect(await commit(a, other, 7)).to.deep.equal([0]);

    cluster.publish({ 3: 2 });
    await settled();
    expect(a.gc.loadedShards()).to.deep.equal([0, 1, 2]);
    expect(b.gc.loadedShards()).to.deep.equal([3]);
    // Served by the new coordinator only.
    expect(committed(b, g)).to.deep.equal({ errorCode: 0, offset: 42n });
    expect(committed(a, g).errorCode).to.equal(ErrorCode.NOT_COORDINATOR);
    const described = b.gc.describeGroup(g);
    expect(described).to.deep.include({ errorCode: 0, groupState: 'Stable', protocolData: 'range' });
    expect(described.members.map((m) => [m.memberId, m.memberAssignment.toString()])).to.deep.equal([[j.memberId, 'A']]);
    // The member carries on with the new coordinator.
    expect(b.gc.heartbeat({ groupId: g, generationId: j.generationId, memberId: j.memberId, groupInstanceId: null })).to.equal(0);
    expect(committed(a, other)).to.deep.equal({ errorCode: 0, offset: 7n });
    expect(committed(b, other).errorCode).to.equal(ErrorCode.NOT_COORDINATOR);
    // The old owner closed its handle of the shard log, and the new owner's open fenced it too.
    const streamId = Number(a.storage.kv.get(shardStreamKey('groups/', 3))!.toString());
    const handles = a.storage.handles.filter((h) => h.id === streamId);
    expect(handles.length).to.equal(2);
    expect(handles[0]!.epoch).to.be.lessThan(handles[1]!.epoch);
    expect(() => handles[0]!.append(Buffer.from('x'), 1)).to.throw();

    // And back: b's commit is visible to a.
    const memberCommit = await b.gc.commitOffsets({
      groupId: g,
      generationId: j.generationId,
      memberId: j.memberId,
      groupInstanceId: null,
      retentionTimeMs: -1,
      partitions: [{ topic: 't', partition: 0, offset: 43n, leaderEpoch: 3, metadata: 'meta', commitTimestamp: -1 }],
    });
    expect(memberCommit).to.deep.equal([0]);
    cluster.publish({ 3: 1 });
    await settled();
    expect(committed(a, g)).to.deep.equal({ errorCode: 0, offset: 43n });
    expect(b.gc.loadedShards()).to.deep.equal([]);
    await a.gc.close();
    await b.gc.close();
  });

  it('release protocol: unloadShard snapshots, the view does not reload the released shard, and the next owner replays nothing', async () => {
    const { cluster, a, b, settled } = twoBrokers();
    cluster.publishAll(SHARDS, 1);
    await settled();
    const g = groupIn(1);
    for (let i = 0; i < 5; i++) expect(await commit(a, g, i)).to.deep.equal([0]);
    await a.gc.unloadShard(1);
    expect(a.gc.shardState(1)).to.equal('unloaded');
    // An unrelated change of the view, still naming this broker leader at the same epoch: stays released.
    cluster.publish({ 0: 1 });
    await settled();
    expect(a.gc.shardState(1)).to.equal('unloaded');
    cluster.publish({ 1: 2 });
    await settled();
    expect(b.gc.storeStats(1)).to.deep.include({ replayedRecords: 0 });
    expect(committed(b, g)).to.deep.equal({ errorCode: 0, offset: 4n });
    await a.gc.close();
    await b.gc.close();
  });

  it('leadership flaps end in the last state, on one broker and across two', async () => {
    const env = setupSharded({ shards: SHARDS });
    const g = groupIn(0);
    await env.gc.loadShard(0);
    expect(await commit(env, g, 9)).to.deep.equal([0]);
    // Not awaited in between: load-unload-load ends loaded, with the state intact.
    const p = [env.gc.unloadShard(0), env.gc.loadShard(0), env.gc.unloadShard(0), env.gc.loadShard(0)];
    await Promise.all(p);
    await env.gc.settled();
    expect(env.gc.shardState(0)).to.equal('loaded');
    expect(committed(env, g)).to.deep.equal({ errorCode: 0, offset: 9n });
    await Promise.all([env.gc.loadShard(0), env.gc.unloadShard(0), env.gc.loadShard(0), env.gc.unloadShard(0)]);
    await env.gc.settled();
    expect(env.gc.shardState(0)).to.equal('unloaded');
    // Repeated requests are no-ops.
    const opens = env.storage.opens;
    await env.gc.unloadShard(0);
    await env.gc.loadShard(0);
    await env.gc.loadShard(0);
    expect(env.storage.opens).to.equal(opens + 1);
    await env.gc.close();

    const { cluster, a, b, settled } = twoBrokers();
    cluster.publishAll(SHARDS, 1);
    await settled();
    expect(await commit(a, g, 10)).to.deep.equal([0]);
    // Leadership of shard 0 bounces 1 -> 2 -> 1 -> 2 before anyone finished loading.
    cluster.publish({ 0: 2 });
    cluster.publish({ 0: 1 });
    cluster.publish({ 0: 2 });
    await settled();
    expect(a.gc.shardState(0)).to.equal('unloaded');
    expect(b.gc.shardState(0)).to.equal('loaded');
    expect(committed(b, g)).to.deep.equal({ errorCode: 0, offset: 10n });
    expect(await commit(b, g, 11)).to.deep.equal([0]);
    cluster.publish({ 0: 1 });
    cluster.publish({ 0: -1 });
    cluster.publish({ 0: 1 });
    await settled();
    expect([a.gc.shardState(0), b.gc.shardState(0)]).to.deep.equal(['loaded', 'unloaded']);
    expect(committed(a, g)).to.deep.equal({ errorCode: 0, offset: 11n });
    await a.gc.close();
    await b.gc.close();
  });

  it('reloads when the leader epoch changed while loaded (a move this broker never saw)', async () => {
    const { cluster, a, b, settled } = twoBrokers();
    cluster.publishAll(SHARDS, 1);
    await settled();
    const g = groupIn(2);
    expect(await commit(a, g, 1)).to.deep.equal([0]);
    // Broker 2 owned the shard for a while (its view update to broker 1 was lost): it writes.
    await b.gc.loadShard(2);
    expect(await commit(b, g, 2)).to.deep.equal([0]);
    await b.gc.unloadShard(2);
    // a's handle is fenced now; a commit there fails as NOT_COORDINATOR rather than being lost silently.
    expect(await commit(a, g, 99)).to.deep.equal([ErrorCode.NOT_COORDINATOR]);
    cluster.publish({ 2: 1 }); // same leader, new epoch
    await settled();
    expect(committed(a, g)).to.deep.equal({ errorCode: 0, offset: 2n });
    expect(await commit(a, g, 3)).to.deep.equal([0]);
    await a.gc.close();
    await b.gc.close();
  });

  it('unloading refuses new requests, waits for in-flight commits and answers waiting joins with NOT_COORDINATOR', async () => {
    const { cluster, a, b, settled } = twoBrokers();
    cluster.publishAll(SHARDS, 1);
    await settled();
    const g = groupIn(1);
    // A join that waits for a second member's rebalance.
    const first = await a.gc.joinGroup(joinReq({ groupId: g }));
    expect(first.errorCode).to.equal(0);
    const second = track(a.gc.joinGroup(joinReq({ groupId: g, clientId: 'c2' })));
    await settle();
    expect(second.done).to.equal(false);
    // A commit whose append is not durable yet.
    const streamId = Number(a.storage.kv.get(shardStreamKey('groups/', 1))!.toString());
    const handle = a.storage.handle(streamId)!;
    handle.autoDurable = false;
    const inflight = track(commit(a, groupIn(1, 'simple'), 77));
    await settle();
    expect(handle.pendingAppends).to.equal(1);

    const unloading = track(a.gc.unloadShard(1));
    await settle();
    expect(a.gc.shardState(1)).to.equal('unloading');
    expect(unloading.done, 'unload waits for the in-flight append').to.equal(false);
    expect((await second.promise).errorCode).to.equal(ErrorCode.NOT_COORDINATOR);
    expect(await commit(a, groupIn(1, 'late'), 1)).to.deep.equal([ErrorCode.NOT_COORDINATOR]);
    handle.flush();
    expect(await inflight.promise).to.deep.equal([0]);
    await unloading.promise;
    expect(a.gc.shardState(1)).to.equal('unloaded');

    cluster.publish({ 1: 2 });
    await settled();
    expect(committed(b, groupIn(1, 'simple'))).to.deep.equal({ errorCode: 0, offset: 77n });
    expect(committed(b, groupIn(1, 'late')).offset).to.equal(-1n);
    await a.gc.close();
    await b.gc.close();
  });

  it('ListGroups lists the groups of the shards loaded here only', async () => {
    const { cluster, a, b, settled } = twoBrokers();
    cluster.publish({ 0: 1, 1: 1, 2: 2, 3: 2 });
    await settled();
    const ga = [groupIn(0), groupIn(1)];
    const gb = [groupIn(2), groupIn(3)];
    for (const g of ga) expect(await commit(a, g, 1)).to.deep.equal([0]);
    for (const g of gb) expect(await commit(b, g, 1)).to.deep.equal([0]);
    expect(a.gc.listGroups().groups.map((x) => x.groupId).sort()).to.deep.equal([...ga].sort());
    expect(b.gc.listGroups().groups.map((x) => x.groupId).sort()).to.deep.equal([...gb].sort());
    await a.gc.close();
    await b.gc.close();
  });

  it('retries a failed load with backoff while it is still wanted', async () => {
    const env = setupSharded({ shards: SHARDS, loadRetryMs: 100 });
    env.storage.failOpens = new Error('object store unavailable');
    const cluster = new FakeCluster([1]);
    env.gc.followLeadership(cluster.view(1));
    cluster.publish({ 0: 1 });
    await env.gc.settled();
    expect(env.gc.shardState(0)).to.equal('unloaded');
    expect(env.logs.some((l) => l.msg.includes('load failed'))).to.equal(true);
    await env.clock.tick(100); // first retry: still failing
    expect(env.gc.shardState(0)).to.equal('unloaded');
    env.storage.failOpens = undefined;
    await env.clock.tick(199);
    expect(env.gc.shardState(0), 'second retry waits twice as long').to.equal('unloaded');
    await env.clock.tick(1);
    await env.gc.settled();
    expect(env.gc.shardState(0)).to.equal('loaded');
    await env.gc.close();
  });

  it('a stale coordinator never writes its snapshot over a newer owner\'s', async () => {
    const a = setupSharded({ shards: SHARDS });
    const b = setupSharded({ shards: SHARDS }, a);
    const g = groupIn(0);
    await a.gc.loadShard(0);
    expect(await commit(a, g, 1)).to.deep.equal([0]);
    await b.gc.loadShard(0);
    expect(await commit(b, g, 2)).to.deep.equal([0]);
    await b.gc.snapshotNow(0);
    const manifest = a.storage.kv.get('groups/shards/0/snapshot')!.toString();
    // a missed the move and unloads with a snapshot: refused, b's snapshot stays.
    await a.gc.unloadShard(0);
    expect(a.storage.kv.get('groups/shards/0/snapshot')!.toString()).to.equal(manifest);
    expect(a.logs.some((l) => l.msg.includes('final group coordinator snapshot failed'))).to.equal(true);
    await b.gc.unloadShard(0);
    const c = setupSharded({ shards: SHARDS }, a);
    await c.gc.loadShard(0);
    expect(committed(c, g)).to.deep.equal({ errorCode: 0, offset: 2n });
    await c.gc.close();
  });

  it('offers WAL back-pressure through a loaded shard log, none when nothing is loaded', async () => {
    const env = setupSharded({ shards: SHARDS });
    expect(env.gc.storageReady()).to.equal(undefined);
    await env.gc.loadShard(3);
    const ready = env.gc.storageReady();
    expect(ready).to.be.instanceOf(Promise);
    await ready;
    await env.gc.close();
    expect(env.gc.storageReady()).to.equal(undefined);
    expect(env.gc).to.be.instanceOf(GroupCoordinator);
  });
});
