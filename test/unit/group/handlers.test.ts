/**
 * Handler-level tests: each request is encoded with the codec at a given version and decoded
 * (as the connection layer does), handled, and the response encoded and decoded again at the
 * same version, so the fields checked are what a client would read off the wire.
 */
import { expect } from 'chai';
import { decodeMessage, encodeMessage } from '../../../broker/src/protocol/codec.js';
import { ErrorCode } from '../../../broker/src/protocol/errors.js';
import { Reader } from '../../../broker/src/protocol/primitives/reader.js';
import { Writer } from '../../../broker/src/protocol/primitives/writer.js';
import type { Fields, In, Out } from '../../../broker/src/protocol/schema.js';
import type { BrokerContext, TopicView } from '../../../broker/src/kafka/context.js';
import type { Handler } from '../../../broker/src/kafka/handler.js';
import offsetCommit from '../../../broker/src/kafka/handlers/08_offset_commit.js';
import offsetFetch from '../../../broker/src/kafka/handlers/09_offset_fetch.js';
import findCoordinator from '../../../broker/src/kafka/handlers/10_find_coordinator.js';
import joinGroup from '../../../broker/src/kafka/handlers/11_join_group.js';
import heartbeat from '../../../broker/src/kafka/handlers/12_heartbeat.js';
import leaveGroup from '../../../broker/src/kafka/handlers/13_leave_group.js';
import syncGroup from '../../../broker/src/kafka/handlers/14_sync_group.js';
import describeGroups from '../../../broker/src/kafka/handlers/15_describe_groups.js';
import listGroups from '../../../broker/src/kafka/handlers/16_list_groups.js';
import deleteGroups from '../../../broker/src/kafka/handlers/42_delete_groups.js';
import { FakeCluster } from './fakes.js';
import { setupSharded, type ShardedEnv } from './helpers.js';

const topics: TopicView = {
  partitionCount: (t) => (t === 'orders' ? 3 : undefined),
  topicId: () => undefined,
  topicName: () => undefined,
};

const SHARDS = 4;

function brokerOf(env: ShardedEnv, cluster: FakeCluster): BrokerContext {
  const partial: Pick<BrokerContext, 'groups' | 'topics' | 'node' | 'now' | 'cluster'> = {
    groups: env.gc,
    topics,
    node: cluster.nodes.get(3)!,
    cluster: cluster.view(3),
    now: () => env.clock.now,
  };
  // Group handlers use only these members of the context.
  return partial as BrokerContext;
}

async function call<Q extends Fields, R extends Fields>(
  broker: BrokerContext,
  h: Handler<Q, R>,
  version: number,
  request: In<Q>,
  clientId = 'cli',
): Promise<Out<R>> {
  const w = new Writer();
  encodeMessage(h.api.request, version, request, w);
  const decoded = decodeMessage(h.api.request, version, new Reader(w.toBuffer()));
  const res = await h.handle(decoded, { apiVersion: version, clientId, clientHost: '/127.0.0.1', connectionId: 1 }, broker);
  if (typeof res === 'symbol') throw new Error(`${h.api.name} returned no response`);
  const w2 = new Writer();
  encodeMessage(h.api.response, version, res, w2);
  const r = new Reader(w2.toBuffer());
  const out = decodeMessage(h.api.response, version, r);
  expect(r.remaining, 'response decodes exactly').to.equal(0);
  return out;
}

/** JoinGroup the way v4+ clients do: a first attempt for the member id, then the real join. */
async function joinTwoStep(broker: BrokerContext, version: number, request: In<(typeof joinGroup)['api']['request']['fields']>, clientId = 'cli') {
  const first = await call(broker, joinGroup, version, request, clientId);
  if (first.errorCode !== ErrorCode.MEMBER_ID_REQUIRED) return first;
  return call(broker, joinGroup, version, { ...request, memberId: first.memberId }, clientId);
}

describe('group handlers over the codec', () => {
  let env: ShardedEnv;
  let cluster: FakeCluster;
  let broker: BrokerContext;
  beforeEach(async () => {
    env = setupSharded({ shards: SHARDS });
    cluster = new FakeCluster([3, 4]);
    cluster.nodes.set(3, { nodeId: 3, host: 'broker.local', port: 9092, rack: null });
    cluster.publishAll(SHARDS, 3);
    env.gc.followLeadership(cluster.view(3));
    await env.gc.settled();
    broker = brokerOf(env, cluster);
  });
  afterEach(async () => {
    await env.gc.close();
  });

  it('serve exactly the version ranges of the brief', () => {
    const ranges = [offsetCommit, offsetFetch, findCoordinator, joinGroup, heartbeat, leaveGroup, syncGroup, describeGroups, listGroups, deleteGroups].map(
      (h) => [h.api.key, h.minVersion, h.maxVersion],
    );
    expect(ranges).to.deep.equal([
      [8, 0, 9],
      [9, 0, 9],
      [10, 0, 5],
      [11, 0, 9],
      [12, 0, 4],
      [13, 0, 5],
      [14, 0, 5],
      [15, 0, 5],
      [16, 0, 4],
      [42, 0, 2],
    ]);
  });

  it('FindCoordinator: this node for groups (v0, v3, batched v4), COORDINATOR_NOT_AVAILABLE for transactions', async () => {
    const v0 = await call(broker, findCoordinator, 0, { key: 'g' });
    expect(v0).to.deep.include({ errorCode: 0, nodeId: 3, host: 'broker.local', port: 9092 });
    const v3 = await call(broker, findCoordinator, 3, { key: 'g', keyType: 0 });
    expect(v3).to.deep.include({ errorCode: 0, errorMessage: null, nodeId: 3, host: 'broker.local', port: 9092 });
    const txn = await call(broker, findCoordinator, 1, { key: 'tx', keyType: 1 });
    expect(txn.errorCode).to.equal(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(txn.nodeId).to.equal(-1);
    const v4 = await call(broker, findCoordinator, 4, { keyType: 0, coordinatorKeys: ['a', 'b'] });
    expect(v4.coordinators).to.deep.equal([
      { key: 'a', nodeId: 3, host: 'broker.local', port: 9092, errorCode: 0, errorMessage: null },
      { key: 'b', nodeId: 3, host: 'broker.local', port: 9092, errorCode: 0, errorMessage: null },
    ]);
    const v5txn = await call(broker, findCoordinator, 5, { keyType: 1, coordinatorKeys: ['t'] });
    expect(v5txn.coordinators[0]!.errorCode).to.equal(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });

  it('FindCoordinator answers the leader of the group shard; a shard led elsewhere gets NOT_COORDINATOR on every group API', async () => {
    // Of 4 shards, "a" is in shard 1 and "b" in shard 2 (Java hashCodes 97 and 98).
    expect([env.gc.shardOf('a'), env.gc.shardOf('b'), env.gc.shardOf('c')]).to.deep.equal([1, 2, 3]);
    cluster.publish({ 1: 4, 2: -1 });
    await env.gc.settled();
    const v4 = await call(broker, findCoordinator, 4, { keyType: 0, coordinatorKeys: ['a', 'b', 'c'] });
    expect(v4.coordinators.map((c) => [c.key, c.nodeId, c.host, c.port, c.errorCode])).to.deep.equal([
      ['a', 4, 'broker4.local', 9004, 0],
      ['b', -1, '', -1, ErrorCode.COORDINATOR_NOT_AVAILABLE],
      ['c', 3, 'broker.local', 9092, 0],
    ]);
    const v1 = await call(broker, findCoordinator, 1, { key: 'b', keyType: 0 });
    expect(v1.errorCode).to.equal(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(v1.nodeId).to.equal(-1);

    const NC = ErrorCode.NOT_COORDINATOR;
    const commit = await call(broker, offsetCommit, 8, {
      groupId: 'a',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 5n, committedMetadata: null }] }],
    });
    expect(commit.topics[0]!.partitions[0]!.errorCode).to.equal(NC);
    const f1 = await call(broker, offsetFetch, 1, { groupId: 'a', topics: [{ name: 'orders', partitionIndexes: [0] }] });
    expect(f1.topics[0]!.partitions[0]!.errorCode).to.equal(NC);
    const f8 = await call(broker, offsetFetch, 8, { groups: [{ groupId: 'a', topics: null }, { groupId: 'c', topics: null }] });
    expect(f8.groups.map((g) => [g.groupId, g.errorCode])).to.deep.equal([
      ['a', NC],
      ['c', 0],
    ]);
    const join = await call(broker, joinGroup, 5, { groupId: 'a', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', protocolType: 'consumer', protocols: [] });
    expect(join.errorCode).to.equal(NC);
    expect((await call(broker, heartbeat, 3, { groupId: 'a', generationId: 1, memberId: 'm' })).errorCode).to.equal(NC);
    expect((await call(broker, syncGroup, 3, { groupId: 'a', generationId: 1, memberId: 'm', assignments: [] })).errorCode).to.equal(NC);
    expect((await call(broker, leaveGroup, 3, { groupId: 'a', members: [{ memberId: 'm' }] })).errorCode).to.equal(NC);
    expect((await call(broker, describeGroups, 5, { groups: ['a'] })).groups[0]!.errorCode).to.equal(NC);
    expect((await call(broker, deleteGroups, 2, { groupsNames: ['a'] })).results[0]!.errorCode).to.equal(NC);
    // ListGroups lists the loaded shards' groups only.
    const c = await call(broker, offsetCommit, 8, {
      groupId: 'c',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 5n, committedMetadata: null }] }],
    });
    expect(c.topics[0]!.partitions[0]!.errorCode).to.equal(0);
    const list = await call(broker, listGroups, 4, { statesFilter: [] });
    expect(list.errorCode).to.equal(0);
    expect(list.groups.map((g) => g.groupId)).to.deep.equal(['c']);
  });

  it('JoinGroup v4 -> MEMBER_ID_REQUIRED, join with the id, SyncGroup v3, Heartbeat v3, LeaveGroup v3', async () => {
    const protocols = [{ name: 'range', metadata: Buffer.from('sub') }];
    const base = { groupId: 'g', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 30_000, protocolType: 'consumer', protocols };
    const first = await call(broker, joinGroup, 4, { ...base, memberId: '' }, 'app');
    expect(first.errorCode).to.equal(ErrorCode.MEMBER_ID_REQUIRED);
    expect(first.memberId).to.equal('app-uuid1');
    expect(first.protocolName).to.equal('');
    const joined = await call(broker, joinGroup, 4, { ...base, memberId: first.memberId }, 'app');
    expect(joined).to.deep.include({ errorCode: 0, generationId: 1, protocolName: 'range', leader: 'app-uuid1', memberId: 'app-uuid1' });
    expect(joined.members.map((m) => [m.memberId, m.metadata.toString()])).to.deep.equal([['app-uuid1', 'sub']]);
    const synced = await call(broker, syncGroup, 3, {
      groupId: 'g',
      generationId: 1,
      memberId: joined.memberId,
      assignments: [{ memberId: joined.memberId, assignment: Buffer.from('a0') }],
    });
    expect(synced.errorCode).to.equal(0);
    expect(synced.assignment.toString()).to.equal('a0');
    expect((await call(broker, heartbeat, 3, { groupId: 'g', generationId: 1, memberId: joined.memberId })).errorCode).to.equal(0);
    expect((await call(broker, heartbeat, 0, { groupId: 'g', generationId: 7, memberId: joined.memberId })).errorCode).to.equal(ErrorCode.ILLEGAL_GENERATION);
    const left = await call(broker, leaveGroup, 3, {
      groupId: 'g',
      members: [
        { memberId: joined.memberId, groupInstanceId: null },
        { memberId: 'ghost', groupInstanceId: null },
      ],
    });
    expect(left.errorCode).to.equal(0);
    expect(left.members.map((m) => [m.memberId, m.errorCode])).to.deep.equal([
      [joined.memberId, 0],
      ['ghost', ErrorCode.UNKNOWN_MEMBER_ID],
    ]);
  });

  it('JoinGroup error responses encode in every version (protocolName null only from v7)', async () => {
    for (const v of [0, 1, 5, 6, 7, 9]) {
      const r = await call(broker, joinGroup, v, { groupId: 'g', sessionTimeoutMs: 1, memberId: '', protocolType: 'consumer', protocols: [] });
      expect(r.errorCode, `v${v}`).to.equal(ErrorCode.INVALID_SESSION_TIMEOUT);
      expect(r.protocolName, `v${v}`).to.equal(v >= 7 ? null : '');
      expect(r.generationId).to.equal(-1);
    }
  });

  it('JoinGroup v0 uses the session timeout as rebalance timeout; v9 static leader rejoin skips assignment', async () => {
    const protocols = [{ name: 'range', metadata: Buffer.from('sub') }];
    const j = await joinTwoStep(broker, 5, { groupId: 's', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 30_000, memberId: '', groupInstanceId: 'i1', protocolType: 'consumer', protocols });
    expect(j.errorCode).to.equal(0);
    expect(j.members[0]!.groupInstanceId).to.equal('i1');
    await call(broker, syncGroup, 5, { groupId: 's', generationId: j.generationId, memberId: j.memberId, groupInstanceId: 'i1', protocolType: 'consumer', protocolName: 'range', assignments: [] });
    const again = await joinTwoStep(broker, 9, { groupId: 's', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 30_000, memberId: '', groupInstanceId: 'i1', protocolType: 'consumer', protocols });
    expect(again).to.deep.include({ errorCode: 0, skipAssignment: true, protocolType: 'consumer', protocolName: 'range', generationId: j.generationId });
    expect(again.leader).to.equal(again.memberId);

    const v0 = await call(broker, joinGroup, 0, { groupId: 'old', sessionTimeoutMs: 12_345, memberId: '', protocolType: 'consumer', protocols });
    expect(v0.errorCode).to.equal(0);
    // The rebalance timeout is the session timeout: a second member's join completes after 12 345 ms.
    let done = false;
    const p = call(broker, joinGroup, 0, { groupId: 'old', sessionTimeoutMs: 12_345, memberId: '', protocolType: 'consumer', protocols }).then((r) => {
      done = true;
      return r;
    });
    await env.clock.tick(12_344);
    expect(done).to.equal(false);
    await env.clock.tick(1);
    expect((await p).generationId).to.equal(2);
  });

  it('SyncGroup v5 carries protocol type and name; LeaveGroup v0 reports the member error at top level', async () => {
    const protocols = [{ name: 'roundrobin', metadata: Buffer.from('x') }];
    const j = await joinTwoStep(broker, 7, { groupId: 'g', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', protocolType: 'consumer', protocols });
    expect(j.protocolType).to.equal('consumer');
    const s = await call(broker, syncGroup, 5, { groupId: 'g', generationId: j.generationId, memberId: j.memberId, protocolType: 'consumer', protocolName: 'roundrobin', assignments: [{ memberId: j.memberId, assignment: Buffer.from('A') }] });
    expect(s).to.deep.include({ errorCode: 0, protocolType: 'consumer', protocolName: 'roundrobin' });
    expect(s.assignment.toString()).to.equal('A');
    const bad = await call(broker, syncGroup, 5, { groupId: 'g', generationId: j.generationId, memberId: 'nobody', assignments: [] });
    expect(bad).to.deep.include({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID, protocolType: null, protocolName: null });
    expect((await call(broker, leaveGroup, 0, { groupId: 'g', memberId: 'nobody' })).errorCode).to.equal(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await call(broker, leaveGroup, 2, { groupId: 'g', memberId: j.memberId })).errorCode).to.equal(0);
    expect(env.gc.describeGroup('g').groupState).to.equal('Empty');
  });

  it('OffsetCommit: UNKNOWN_TOPIC_OR_PARTITION for unknown topics and partitions, per partition (v2 and v8)', async () => {
    const v8 = await call(broker, offsetCommit, 8, {
      groupId: 'simple',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      topics: [
        { name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 10n, committedLeaderEpoch: 4, committedMetadata: 'meta' }, { partitionIndex: 3, committedOffset: 1n }] },
        { name: 'missing', partitions: [{ partitionIndex: 0, committedOffset: 1n }] },
      ],
    });
    expect(v8.topics).to.deep.equal([
      {
        name: 'orders',
        partitions: [
          { partitionIndex: 0, errorCode: 0 },
          { partitionIndex: 3, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
        ],
      },
      { name: 'missing', partitions: [{ partitionIndex: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }] },
    ]);
    const v2 = await call(broker, offsetCommit, 2, {
      groupId: 'simple',
      generationIdOrMemberEpoch: -1,
      retentionTimeMs: -1n,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 1, committedOffset: 11n, committedMetadata: null }] }],
    });
    expect(v2.topics[0]!.partitions[0]!.errorCode).to.equal(0);
    const stale = await call(broker, offsetCommit, 5, {
      groupId: 'nogroup',
      generationIdOrMemberEpoch: 4,
      memberId: 'm',
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 1, committedOffset: 11n }] }],
    });
    expect(stale.topics[0]!.partitions[0]!.errorCode).to.equal(ErrorCode.ILLEGAL_GENERATION);
  });

  it('OffsetFetch: v1 per partition, v7 all topics (null), v8 several groups', async () => {
    await call(broker, offsetCommit, 7, {
      groupId: 'g1',
      generationIdOrMemberEpoch: -1,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 5n, committedLeaderEpoch: 2, committedMetadata: 'm' }, { partitionIndex: 2, committedOffset: 7n }] }],
    });
    const v1 = await call(broker, offsetFetch, 1, { groupId: 'g1', topics: [{ name: 'orders', partitionIndexes: [0, 1] }] });
    expect(v1.topics).to.deep.equal([
      {
        name: 'orders',
        partitions: [
          { partitionIndex: 0, committedOffset: 5n, committedLeaderEpoch: -1, metadata: 'm', errorCode: 0 },
          { partitionIndex: 1, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
        ],
      },
    ]);
    const v7 = await call(broker, offsetFetch, 7, { groupId: 'g1', topics: null, requireStable: true });
    expect(v7.errorCode).to.equal(0);
    expect(v7.topics[0]!.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.committedLeaderEpoch])).to.deep.equal([
      [0, 5n, 2],
      [2, 7n, -1],
    ]);
    const v8 = await call(broker, offsetFetch, 8, {
      groups: [
        { groupId: 'g1', topics: [{ name: 'orders', partitionIndexes: [2] }] },
        { groupId: 'g2', topics: null },
      ],
    });
    expect(v8.groups).to.deep.equal([
      {
        groupId: 'g1',
        errorCode: 0,
        topics: [{ name: 'orders', partitions: [{ partitionIndex: 2, committedOffset: 7n, committedLeaderEpoch: -1, metadata: '', errorCode: 0 }] }],
      },
      { groupId: 'g2', errorCode: 0, topics: [] },
    ]);
    const v9 = await call(broker, offsetFetch, 9, { groups: [{ groupId: 'g1', memberId: null, memberEpoch: -1, topics: null }] });
    expect(v9.groups[0]!.topics[0]!.partitions).to.have.length(2);
  });

  it('ListGroups (v0, v4 with states filter), DescribeGroups v5, DeleteGroups v2', async () => {
    const protocols = [{ name: 'range', metadata: Buffer.from('sub') }];
    const j = await joinTwoStep(broker, 6, { groupId: 'live', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', protocolType: 'consumer', protocols }, 'liveclient');
    await call(broker, syncGroup, 4, { groupId: 'live', generationId: j.generationId, memberId: j.memberId, assignments: [{ memberId: j.memberId, assignment: Buffer.from('asg') }] });
    await call(broker, offsetCommit, 3, { groupId: 'idle', generationIdOrMemberEpoch: -1, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 1n }] }] });

    const v0 = await call(broker, listGroups, 0, {});
    expect(v0.groups).to.have.deep.members([
      { groupId: 'live', protocolType: 'consumer', groupState: '', groupType: '' },
      { groupId: 'idle', protocolType: '', groupState: '', groupType: '' },
    ]);
    const v4 = await call(broker, listGroups, 4, { statesFilter: ['Stable'] });
    expect(v4.groups).to.deep.equal([{ groupId: 'live', protocolType: 'consumer', groupState: 'Stable', groupType: '' }]);

    const d = await call(broker, describeGroups, 5, { groups: ['live', 'unknown'], includeAuthorizedOperations: true });
    expect(d.groups[0]).to.deep.include({ errorCode: 0, groupId: 'live', groupState: 'Stable', protocolType: 'consumer', protocolData: 'range' });
    expect(d.groups[0]!.authorizedOperations).to.not.equal(-2147483648);
    const m = d.groups[0]!.members[0]!;
    expect([m.memberId, m.clientId, m.clientHost, m.memberMetadata.toString(), m.memberAssignment.toString()]).to.deep.equal([
      j.memberId,
      'liveclient',
      '/127.0.0.1',
      'sub',
      'asg',
    ]);
    expect(d.groups[1]).to.deep.include({ errorCode: 0, groupId: 'unknown', groupState: 'Dead', members: [] });
    const d0 = await call(broker, describeGroups, 0, { groups: ['live'] });
    expect(d0.groups[0]!.members[0]!.memberAssignment.toString()).to.equal('asg');

    const del = await call(broker, deleteGroups, 2, { groupsNames: ['live', 'idle', 'none'] });
    expect(del.results).to.deep.equal([
      { groupId: 'live', errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: 'idle', errorCode: 0 },
      { groupId: 'none', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ]);
    const del0 = await call(broker, deleteGroups, 0, { groupsNames: ['idle'] });
    expect(del0.results[0]!.errorCode).to.equal(ErrorCode.GROUP_ID_NOT_FOUND);
  });
});
