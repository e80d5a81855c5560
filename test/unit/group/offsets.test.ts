import { expect } from 'chai';
import { ErrorCode } from '../../../broker/src/protocol/errors.js';
import { StreamFencedError } from '../../../broker/src/s3stream/api.js';
import type { OffsetCommitPartition, OffsetCommitRequest } from '../../../broker/src/group/types.js';
import { settle } from './fakes.js';
import { joinReq, setup, stableGroup, track, type Env } from './helpers.js';

const DAY = 24 * 3600 * 1000;

function part(topic: string, partition: number, offset: bigint, over: Partial<OffsetCommitPartition> = {}): OffsetCommitPartition {
  return { topic, partition, offset, leaderEpoch: -1, metadata: null, commitTimestamp: -1, ...over };
}

function simpleCommit(groupId: string, partitions: OffsetCommitPartition[], over: Partial<OffsetCommitRequest> = {}): OffsetCommitRequest {
  return { groupId, generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, partitions, ...over };
}

function offsetsOf(env: Env, groupId: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of env.gc.fetchOffsets(groupId, null).topics) {
    for (const p of t.partitions) out[`${t.name}-${p.partitionIndex}`] = String(p.committedOffset);
  }
  return out;
}

describe('group coordinator: offsets', () => {
  let env: Env | undefined;
  afterEach(async () => {
    await env?.gc.close();
    env = undefined;
  });

  it('commit/fetch round-trip for a member of a stable group, with leader epoch and metadata', async () => {
    env = await setup();
    const { members } = await stableGroup(env, 1);
    const m = members[0]!;
    const codes = await env.gc.commitOffsets({
      groupId: 'g',
      generationId: m.generationId,
      memberId: m.memberId,
      groupInstanceId: null,
      retentionTimeMs: -1,
      partitions: [part('orders', 0, 42n, { leaderEpoch: 3, metadata: 'm0' }), part('orders', 1, 7n)],
    });
    expect(codes).to.deep.equal([0, 0]);
    const r = env.gc.fetchOffsets('g', [
      { name: 'orders', partitions: [0, 1, 2] },
      { name: 'other', partitions: [0] },
    ]);
    expect(r.errorCode).to.equal(0);
    expect(r.topics).to.deep.equal([
      {
        name: 'orders',
        partitions: [
          { partitionIndex: 0, committedOffset: 42n, committedLeaderEpoch: 3, metadata: 'm0', errorCode: 0 },
          { partitionIndex: 1, committedOffset: 7n, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
          { partitionIndex: 2, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
        ],
      },
      { name: 'other', partitions: [{ partitionIndex: 0, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: 0 }] },
    ]);
    // topics = null: everything committed.
    expect(offsetsOf(env, 'g')).to.deep.equal({ 'orders-0': '42', 'orders-1': '7' });
    // A later commit overwrites.
    await env.gc.commitOffsets({ groupId: 'g', generationId: m.generationId, memberId: m.memberId, groupInstanceId: null, retentionTimeMs: -1, partitions: [part('orders', 0, 50n)] });
    expect(offsetsOf(env, 'g')['orders-0']).to.equal('50');
  });

  it('simple commits (generation -1) create an empty group; unknown groups fetch as nothing committed', async () => {
    env = await setup();
    expect(env.gc.fetchOffsets('nobody', null)).to.deep.equal({ errorCode: 0, topics: [] });
    expect(await env.gc.commitOffsets(simpleCommit('simple', [part('t', 0, 1n)]))).to.deep.equal([0]);
    expect(env.gc.describeGroup('simple').groupState).to.equal('Empty');
    expect(offsetsOf(env, 'simple')).to.deep.equal({ 't-0': '1' });
  });

  it('commit errors: ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS, OFFSET_METADATA_TOO_LARGE', async () => {
    env = await setup({ offsetMetadataMaxBytes: 10 });
    // A generation for a group that does not exist: a stale member.
    expect(await env.gc.commitOffsets(simpleCommit('g', [part('t', 0, 1n)], { generationId: 3, memberId: 'm' }))).to.deep.equal([
      ErrorCode.ILLEGAL_GENERATION,
    ]);
    const { members } = await stableGroup(env, 2);
    const [m0, m1] = members as [(typeof members)[0], (typeof members)[0]];
    const commit = (over: Partial<OffsetCommitRequest>, partitions = [part('t', 0, 1n)]) =>
      env!.gc.commitOffsets({ groupId: 'g', generationId: m0.generationId, memberId: m0.memberId, groupInstanceId: null, retentionTimeMs: -1, partitions, ...over });
    expect(await commit({ generationId: m0.generationId - 1 })).to.deep.equal([ErrorCode.ILLEGAL_GENERATION]);
    expect(await commit({ memberId: 'stranger' })).to.deep.equal([ErrorCode.UNKNOWN_MEMBER_ID]);
    // Outside group management nobody may commit for a group with members.
    expect(await commit({ generationId: -1, memberId: '' })).to.deep.equal([ErrorCode.UNKNOWN_MEMBER_ID]);
    expect(await commit({}, [part('t', 0, 1n, { metadata: 'x'.repeat(11) }), part('t', 1, 2n, { metadata: 'x'.repeat(10) })])).to.deep.equal([
      ErrorCode.OFFSET_METADATA_TOO_LARGE,
      ErrorCode.NONE,
    ]);
    expect(offsetsOf(env, 'g')).to.deep.equal({ 't-1': '2' });
    // A rebalance: commits still go through while preparing (members learn by heartbeat)...
    const rejoin = track(env.gc.joinGroup(joinReq({ clientId: 'c0', memberId: m0.memberId })));
    expect(env.gc.describeGroup('g').groupState).to.equal('PreparingRebalance');
    expect(await commit({})).to.deep.equal([ErrorCode.NONE]);
    // ...but not between the new generation and its assignment.
    await env.gc.joinGroup(joinReq({ clientId: 'c1', memberId: m1.memberId }));
    await settle();
    expect(rejoin.done).to.equal(true);
    expect(env.gc.describeGroup('g').groupState).to.equal('CompletingRebalance');
    expect(await commit({ generationId: rejoin.value!.generationId })).to.deep.equal([ErrorCode.REBALANCE_IN_PROGRESS]);
  });

  it('answers a commit only once it is durable; a failed append is reported and not visible', async () => {
    env = await setup();
    env.stream.autoDurable = false;
    const c = track(env.gc.commitOffsets(simpleCommit('s', [part('t', 0, 10n)])));
    await settle();
    expect(c.done, 'not answered before durable').to.equal(false);
    expect(offsetsOf(env, 's'), 'not visible before durable').to.deep.equal({});
    env.stream.flush();
    await settle();
    expect(c.value).to.deep.equal([0]);
    expect(offsetsOf(env, 's')).to.deep.equal({ 't-0': '10' });

    const failed = track(env.gc.commitOffsets(simpleCommit('s', [part('t', 0, 20n)])));
    await settle();
    env.stream.failPending(new Error('WAL upload failed'));
    await settle();
    expect(failed.value).to.deep.equal([ErrorCode.COORDINATOR_NOT_AVAILABLE]);
    expect(offsetsOf(env, 's')).to.deep.equal({ 't-0': '10' });

    const fenced = track(env.gc.commitOffsets(simpleCommit('s', [part('t', 0, 30n)])));
    await settle();
    env.stream.failPending(new StreamFencedError('fenced'));
    await settle();
    expect(fenced.value).to.deep.equal([ErrorCode.NOT_COORDINATOR]);
    env.stream.autoDurable = true;
  });

  it('a restarted coordinator over the same stream and KV recovers offsets, generations and stable members', async () => {
    const first = await setup();
    env = first;
    const { members } = await stableGroup(first, 2);
    const gen = members[0]!.generationId;
    await first.gc.commitOffsets({ groupId: 'g', generationId: gen, memberId: members[0]!.memberId, groupInstanceId: null, retentionTimeMs: -1, partitions: [part('a', 0, 100n, { metadata: 'meta', leaderEpoch: 2 }), part('a', 1, 200n)] });
    await first.gc.commitOffsets(simpleCommit('simple', [part('b', 3, 9n)]));
    // Crash: no close(), no snapshot; the new process replays the log with an empty local disk.
    env = undefined;
    const second = await setup({}, first);
    env = second;
    expect(second.gc.storeStats().replayedRecords).to.be.greaterThan(0);
    expect(offsetsOf(second, 'g')).to.deep.equal({ 'a-0': '100', 'a-1': '200' });
    expect(second.gc.fetchOffsets('g', [{ name: 'a', partitions: [0] }]).topics[0]!.partitions[0]).to.deep.equal({
      partitionIndex: 0,
      committedOffset: 100n,
      committedLeaderEpoch: 2,
      metadata: 'meta',
      errorCode: 0,
    });
    expect(offsetsOf(second, 'simple')).to.deep.equal({ 'b-3': '9' });
    const d = second.gc.describeGroup('g');
    expect(d.groupState).to.equal('Stable');
    expect(d.members.map((m) => m.memberId)).to.have.members(members.map((m) => m.memberId));
    expect(d.members.map((m) => m.memberAssignment.toString())).to.have.members(['assign-0', 'assign-1']);
    // Members carry on heartbeating as if nothing happened.
    for (const m of members) {
      expect(second.gc.heartbeat({ groupId: 'g', generationId: gen, memberId: m.memberId, groupInstanceId: null })).to.equal(0);
    }
    // The next generation continues from the recovered one.
    const r = second.gc.joinGroup(joinReq({ memberId: members[0]!.memberId, clientId: 'c0' }));
    const r2 = second.gc.joinGroup(joinReq({ memberId: members[1]!.memberId, clientId: 'c1' }));
    expect((await r).generationId).to.equal(gen + 1);
    expect((await r2).generationId).to.equal(gen + 1);
  });

  it('restored members that never come back expire after their session timeout', async () => {
    const first = await setup();
    const { members } = await stableGroup(first, 1);
    await first.gc.close();
    env = await setup({}, first);
    expect(env.gc.describeGroup('g').members).to.have.length(1);
    await env.clock.tick(10_000);
    expect(env.gc.describeGroup('g').groupState).to.equal('Empty');
    expect(env.gc.heartbeat({ groupId: 'g', generationId: members[0]!.generationId, memberId: members[0]!.memberId, groupInstanceId: null })).to.equal(
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
  });

  it('snapshots to the KV store and trims the log, so replay stays bounded', async () => {
    const first = await setup({ snapshotEveryRecords: 50, snapshotChunkBytes: 1024, snapshotIntervalMs: 0 });
    env = first;
    for (let i = 0; i < 230; i++) {
      // 7 groups x 5 partitions: far fewer live entries (35) than records, as with real commit traffic.
      expect(await first.gc.commitOffsets(simpleCommit(`g${i % 7}`, [part(`topic`, i % 5, BigInt(i), { metadata: 'x'.repeat(40) })]))).to.deep.equal([0]);
    }
    await settle();
    const stats = first.gc.storeStats();
    expect(stats.snapshotsWritten).to.be.greaterThanOrEqual(4);
    expect(first.stream.startOffset(), 'log trimmed below the snapshot').to.be.greaterThanOrEqual(200);
    expect(first.stream.data.batches.length).to.be.lessThan(50);
    const chunks = first.kv.list('groups/snapshot/');
    expect(chunks.length, 'several chunks of 1 KiB').to.be.greaterThan(1);
    const ids = new Set(chunks.map((k) => k.split('/')[2]));
    expect(ids.size, 'older snapshots deleted').to.equal(1);
    const expected = Object.fromEntries(Array.from({ length: 7 }, (_, g) => [`g${g}`, offsetsOf(first, `g${g}`)]));

    env = undefined;
    const second = await setup({ snapshotEveryRecords: 50, snapshotChunkBytes: 1024, snapshotIntervalMs: 0 }, first);
    env = second;
    expect(second.gc.storeStats().replayedRecords).to.be.lessThan(50);
    expect(second.stream.fetchedRecords).to.be.lessThan(50);
    for (let g = 0; g < 7; g++) expect(offsetsOf(second, `g${g}`)).to.deep.equal(expected[`g${g}`]);
  });

  it('spaces snapshots out as the state grows, so their cost stays proportional to the records they replace', async () => {
    env = await setup({ snapshotEveryRecords: 10, snapshotIntervalMs: 0 });
    for (let i = 0; i < 100; i++) await env.gc.commitOffsets(simpleCommit('big', [part('t', i, 1n)]));
    await settle();
    const { snapshotsWritten, recordsSinceSnapshot } = env.gc.storeStats();
    // A fixed every-10 rule would write 10 snapshots of up to 100 entries each; the threshold
    // follows the state size instead, and replay never exceeds the state size.
    expect(snapshotsWritten).to.be.within(1, 3);
    expect(recordsSinceSnapshot).to.be.at.most(100);
  });

  it('snapshots on a timer and on close, so the next start replays nothing', async () => {
    const first = await setup({ snapshotIntervalMs: 60_000 });
    env = first;
    await first.gc.commitOffsets(simpleCommit('s', [part('t', 0, 1n)]));
    expect(first.gc.storeStats().snapshotsWritten).to.equal(0);
    await first.clock.tick(60_000);
    expect(first.gc.storeStats().snapshotsWritten).to.equal(1);
    expect(first.stream.startOffset()).to.equal(first.stream.nextOffset());
    await first.gc.commitOffsets(simpleCommit('s', [part('t', 1, 2n)]));
    await first.gc.close();
    expect(first.gc.storeStats().snapshotsWritten).to.equal(2);
    env = await setup({}, first);
    expect(env.gc.storeStats().replayedRecords).to.equal(0);
    expect(offsetsOf(env, 's')).to.deep.equal({ 't-0': '1', 't-1': '2' });
  });

  it('expires offsets of an empty consumer group after the retention period, then forgets the group', async () => {
    env = await setup({ maxSessionTimeoutMs: 10 * DAY });
    const { members } = await stableGroup(env, 1, { sessionTimeoutMs: 9 * DAY });
    const m = members[0]!;
    await env.gc.commitOffsets({ groupId: 'g', generationId: m.generationId, memberId: m.memberId, groupInstanceId: null, retentionTimeMs: -1, partitions: [part('t', 0, 5n)] });
    // With a member, offsets stay however old they are ('sub' is no parseable subscription, so
    // the subscribed topics are unknown and nothing expires).
    await env.clock.tick(8 * DAY);
    expect(env.gc.describeGroup('g').groupState).to.equal('Stable');
    await env.gc.expireOffsets();
    expect(offsetsOf(env, 'g')).to.deep.equal({ 't-0': '5' });
    env.gc.leaveGroup('g', [{ memberId: m.memberId, groupInstanceId: null, reason: null }]);
    expect(env.gc.describeGroup('g').groupState).to.equal('Empty');
    await env.clock.tick(7 * DAY - 1);
    await env.gc.expireOffsets();
    expect(offsetsOf(env, 'g'), 'not yet: retention counts from when the group became empty').to.deep.equal({ 't-0': '5' });
    await env.clock.tick(1);
    await env.gc.expireOffsets();
    expect(offsetsOf(env, 'g')).to.deep.equal({});
    expect(env.gc.listGroups()).to.deep.equal([]);
    expect(env.gc.describeGroup('g').groupState).to.equal('Dead');
    const first = env;
    await first.gc.close();
    env = await setup({}, first);
    expect(env.gc.listGroups(), 'expiry and removal are durable').to.deep.equal([]);
  });

  it('expires a simple consumer offset per commit time, and honours v2-4 retention times', async () => {
    env = await setup({ offsetsRetentionMs: 1000, offsetsRetentionCheckIntervalMs: 100 });
    await env.gc.commitOffsets(simpleCommit('s', [part('t', 0, 1n)]));
    await env.clock.tick(600);
    await env.gc.commitOffsets(simpleCommit('s', [part('t', 1, 2n)]));
    await env.gc.commitOffsets(simpleCommit('s', [part('t', 2, 3n)], { retentionTimeMs: 5000 }));
    const ticks = async (ms: number) => {
      for (let t = 0; t < ms; t += 100) await env!.clock.tick(100);
    };
    await ticks(400); // the periodic check at +1000 expires t-0 only
    expect(offsetsOf(env, 's')).to.deep.equal({ 't-1': '2', 't-2': '3' });
    await ticks(500);
    expect(offsetsOf(env, 's')).to.deep.equal({ 't-1': '2', 't-2': '3' });
    await ticks(100); // +1600
    expect(offsetsOf(env, 's')).to.deep.equal({ 't-2': '3' });
    await ticks(3900);
    expect(offsetsOf(env, 's')).to.deep.equal({ 't-2': '3' });
    await ticks(100); // +5600: the explicit expiry of t-2
    expect(offsetsOf(env, 's')).to.deep.equal({});
    expect(env.gc.listGroups()).to.deep.equal([]);
  });

  it('expires offsets of topics a stable consumer group no longer subscribes to', async () => {
    env = await setup({ offsetsRetentionMs: 1000 });
    // ConsumerProtocolSubscription v0: topics ["orders"], null user data.
    const sub = Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 1, 0, 6]), Buffer.from('orders'), Buffer.from([0xff, 0xff, 0xff, 0xff])]);
    const r = await env.gc.joinGroup(joinReq({ protocols: [{ name: 'range', metadata: sub }], sessionTimeoutMs: 30_000 }));
    await env.gc.syncGroup({ groupId: 'g', generationId: r.generationId, memberId: r.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
    await env.gc.commitOffsets({ groupId: 'g', generationId: r.generationId, memberId: r.memberId, groupInstanceId: null, retentionTimeMs: -1, partitions: [part('orders', 0, 1n), part('old', 0, 2n)] });
    await env.clock.tick(1000);
    await env.gc.expireOffsets();
    expect(offsetsOf(env, 'g')).to.deep.equal({ 'orders-0': '1' });
  });

  it('deleting a group deletes its offsets durably', async () => {
    const first = await setup();
    env = first;
    await first.gc.commitOffsets(simpleCommit('gone', [part('t', 0, 1n)]));
    await first.gc.commitOffsets(simpleCommit('kept', [part('t', 0, 2n)]));
    expect(await first.gc.deleteGroups(['gone'])).to.deep.equal([{ groupId: 'gone', errorCode: 0 }]);
    await first.gc.close();
    env = await setup({}, first);
    expect(env.gc.listGroups().map((g) => g.groupId)).to.deep.equal(['kept']);
    expect(offsetsOf(env, 'gone')).to.deep.equal({});
    expect(offsetsOf(env, 'kept')).to.deep.equal({ 't-0': '2' });
  });
});
