import { expect } from 'chai';
import { ErrorCode } from '../../../broker/src/protocol/errors.js';
import { settle } from './fakes.js';
import { joinReq, proto, setup, stableGroup, track, type Env } from './helpers.js';

const sync = (env: Env, memberId: string, generationId: number, assignments: { memberId: string; assignment: Buffer }[] = [], over = {}) =>
  env.gc.syncGroup({ groupId: 'g', generationId, memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments, ...over });

const hb = (env: Env, memberId: string, generationId: number, groupInstanceId: string | null = null) =>
  env.gc.heartbeat({ groupId: 'g', generationId, memberId, groupInstanceId });

describe('group coordinator: rebalance state machine', () => {
  let env: Env;
  afterEach(async () => {
    await env?.gc.close();
  });

  it('three members joining during the initial delay form one generation; the leader gets the members; sync delivers assignments', async () => {
    env = await setup({ initialRebalanceDelayMs: 3000 });
    const a = track(env.gc.joinGroup(joinReq({ clientId: 'a', protocols: [proto('range', 'meta-a')] })));
    env.clock.advance(1000);
    const b = track(env.gc.joinGroup(joinReq({ clientId: 'b', protocols: [proto('range', 'meta-b')] })));
    const c = track(env.gc.joinGroup(joinReq({ clientId: 'c', protocols: [proto('range', 'meta-c')] })));
    await settle();
    expect(a.done || b.done || c.done, 'nobody is answered before the initial delay ends').to.equal(false);
    expect(env.gc.describeGroup('g').groupState).to.equal('PreparingRebalance');
    // Members joined during the first delay: it is extended once more (Kafka's InitialDelayedJoin).
    await env.clock.tick(2000);
    expect(a.done).to.equal(false);
    await env.clock.tick(3000);
    expect(a.done && b.done && c.done).to.equal(true);
    const results = [a.value!, b.value!, c.value!];
    for (const r of results) {
      expect(r.errorCode).to.equal(ErrorCode.NONE);
      expect(r.generationId).to.equal(1);
      expect(r.protocolName).to.equal('range');
      expect(r.protocolType).to.equal('consumer');
    }
    expect(a.value!.memberId).to.equal('a-uuid1');
    expect(b.value!.memberId).to.equal('b-uuid2');
    const leaderId = a.value!.leader;
    expect(results.every((r) => r.leader === leaderId)).to.equal(true);
    const leader = results.find((r) => r.memberId === leaderId)!;
    const followers = results.filter((r) => r !== leader);
    expect(leader.members.map((m) => [m.memberId, m.metadata.toString()])).to.have.deep.members([
      ['a-uuid1', 'meta-a'],
      ['b-uuid2', 'meta-b'],
      ['c-uuid3', 'meta-c'],
    ]);
    for (const f of followers) expect(f.members).to.deep.equal([]);
    expect(env.gc.describeGroup('g').groupState).to.equal('CompletingRebalance');

    // Followers sync first and wait; the leader's sync answers everyone.
    const fSyncs = followers.map((f) => track(sync(env, f.memberId, 1)));
    await settle();
    expect(fSyncs.some((s) => s.done)).to.equal(false);
    const assignment = results.map((r) => ({ memberId: r.memberId, assignment: Buffer.from(`to-${r.memberId}`) }));
    const lSync = await sync(env, leader.memberId, 1, assignment);
    expect(lSync.errorCode).to.equal(ErrorCode.NONE);
    expect(lSync.assignment.toString()).to.equal(`to-${leader.memberId}`);
    await settle();
    for (const [i, s] of fSyncs.entries()) {
      expect(s.done).to.equal(true);
      expect(s.value!.errorCode).to.equal(ErrorCode.NONE);
      expect(s.value!.assignment.toString()).to.equal(`to-${followers[i]!.memberId}`);
    }
    const d = env.gc.describeGroup('g');
    expect(d.groupState).to.equal('Stable');
    expect(d.protocolData).to.equal('range');
    expect(d.members.find((m) => m.memberId === 'b-uuid2')!.memberAssignment.toString()).to.equal('to-b-uuid2');
    expect(d.members.find((m) => m.memberId === 'b-uuid2')!.memberMetadata.toString()).to.equal('meta-b');
    for (const r of results) expect(hb(env, r.memberId, 1)).to.equal(ErrorCode.NONE);
  });

  it('without an initial delay the first member forms generation 1 at once', async () => {
    env = await setup({ initialRebalanceDelayMs: 0 });
    const r = await env.gc.joinGroup(joinReq());
    expect(r.errorCode).to.equal(ErrorCode.NONE);
    expect(r.generationId).to.equal(1);
    expect(r.leader).to.equal(r.memberId);
    expect(r.members).to.have.length(1);
  });

  it('defaults the initial rebalance delay to 3000 ms like Kafka', async () => {
    const { GroupShardCoordinator } = await import('../../../broker/src/group/shard-coordinator.js');
    const { FakeClock, MemoryKv, MemoryStream } = await import('./fakes.js');
    const clock = new FakeClock();
    const gc = await GroupShardCoordinator.load({ offsetLog: new MemoryStream(), kv: new MemoryKv(), now: () => clock.now, timers: clock });
    env = { clock, gc } as unknown as Env;
    expect(gc.config.initialRebalanceDelayMs).to.equal(3000);
    expect(gc.config.minSessionTimeoutMs).to.equal(6000);
    expect(gc.config.maxSessionTimeoutMs).to.equal(1_800_000);
    expect(gc.config.offsetsRetentionMs).to.equal(7 * 24 * 3600 * 1000);
    const j = track(gc.joinGroup(joinReq()));
    await clock.tick(2999);
    expect(j.done).to.equal(false);
    await clock.tick(1);
    expect(j.value!.generationId).to.equal(1);
  });

  it('v4+ joins without a member id get MEMBER_ID_REQUIRED with their id, then join with it', async () => {
    env = await setup();
    const first = await env.gc.joinGroup(joinReq({ requireKnownMemberId: true, clientId: 'app' }));
    expect(first.errorCode).to.equal(ErrorCode.MEMBER_ID_REQUIRED);
    expect(first.memberId).to.equal('app-uuid1');
    expect(first.generationId).to.equal(-1);
    expect(env.gc.describeGroup('g').members).to.deep.equal([]);
    const second = await env.gc.joinGroup(joinReq({ requireKnownMemberId: true, clientId: 'app', memberId: first.memberId }));
    expect(second.errorCode).to.equal(ErrorCode.NONE);
    expect(second.memberId).to.equal('app-uuid1');
    expect(second.generationId).to.equal(1);
  });

  it('a pending member that never comes back is dropped after its session timeout', async () => {
    env = await setup();
    const first = await env.gc.joinGroup(joinReq({ requireKnownMemberId: true }));
    expect(first.errorCode).to.equal(ErrorCode.MEMBER_ID_REQUIRED);
    await env.clock.tick(10_000);
    const late = await env.gc.joinGroup(joinReq({ requireKnownMemberId: true, memberId: first.memberId }));
    expect(late.errorCode).to.equal(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('selects the protocol with most votes among those every member supports', async () => {
    env = await setup({ initialRebalanceDelayMs: 100 });
    const js = [
      [proto('range'), proto('roundrobin')],
      [proto('sticky'), proto('roundrobin'), proto('range')],
      [proto('roundrobin'), proto('range')],
    ].map((protocols, i) => track(env.gc.joinGroup(joinReq({ clientId: `m${i}`, protocols }))));
    await env.clock.tick(200);
    expect(js.every((j) => j.done)).to.equal(true);
    // sticky is not supported by all; roundrobin gets 2 votes, range 1.
    for (const j of js) expect(j.value!.protocolName).to.equal('roundrobin');
  });

  it('rejects members sharing no protocol, or with another protocol type: INCONSISTENT_GROUP_PROTOCOL', async () => {
    env = await setup();
    await stableGroup(env, 1);
    const noCommon = await env.gc.joinGroup(joinReq({ protocols: [proto('roundrobin')] }));
    expect(noCommon.errorCode).to.equal(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const otherType = await env.gc.joinGroup(joinReq({ protocolType: 'connect' }));
    expect(otherType.errorCode).to.equal(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const none = await env.gc.joinGroup(joinReq({ groupId: 'fresh', protocols: [] }));
    expect(none.errorCode).to.equal(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect(env.gc.listGroups().map((g) => g.groupId)).to.deep.equal(['g']);
  });

  it('checks session timeouts and group ids', async () => {
    env = await setup();
    expect((await env.gc.joinGroup(joinReq({ sessionTimeoutMs: 5999 }))).errorCode).to.equal(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await env.gc.joinGroup(joinReq({ sessionTimeoutMs: 1_800_001 }))).errorCode).to.equal(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await env.gc.joinGroup(joinReq({ sessionTimeoutMs: 6000 }))).errorCode).to.equal(ErrorCode.NONE);
    expect((await env.gc.joinGroup(joinReq({ groupId: '' }))).errorCode).to.equal(ErrorCode.INVALID_GROUP_ID);
    expect((await sync(env, 'x', 1, [], { groupId: '' })).errorCode).to.equal(ErrorCode.INVALID_GROUP_ID);
    expect(env.gc.heartbeat({ groupId: '', generationId: 1, memberId: 'x', groupInstanceId: null })).to.equal(ErrorCode.INVALID_GROUP_ID);
  });

  it('a member joining an unknown group with a member id gets UNKNOWN_MEMBER_ID', async () => {
    env = await setup();
    expect((await env.gc.joinGroup(joinReq({ memberId: 'ghost' }))).errorCode).to.equal(ErrorCode.UNKNOWN_MEMBER_ID);
    await stableGroup(env, 1);
    expect((await env.gc.joinGroup(joinReq({ memberId: 'ghost' }))).errorCode).to.equal(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('enforces group.max.size', async () => {
    env = await setup({ groupMaxSize: 1 });
    await stableGroup(env, 1);
    const r = await env.gc.joinGroup(joinReq({ clientId: 'second' }));
    expect(r.errorCode).to.equal(ErrorCode.GROUP_MAX_SIZE_REACHED);
  });

  it('heartbeat errors: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS', async () => {
    env = await setup();
    expect(hb(env, 'nobody', 1)).to.equal(ErrorCode.UNKNOWN_MEMBER_ID);
    const { members } = await stableGroup(env, 2);
    const [m0, m1] = members as [(typeof members)[0], (typeof members)[0]];
    expect(hb(env, 'nobody', m0.generationId)).to.equal(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(hb(env, m0.memberId, m0.generationId + 1)).to.equal(ErrorCode.ILLEGAL_GENERATION);
    expect(hb(env, m0.memberId, m0.generationId)).to.equal(ErrorCode.NONE);
    // A follower changing its subscription starts a rebalance; the others learn it by heartbeat.
    const rejoin = track(env.gc.joinGroup(joinReq({ clientId: 'c1', memberId: m1.memberId, protocols: [proto('range', 'new-sub')] })));
    expect(env.gc.describeGroup('g').groupState).to.equal('PreparingRebalance');
    expect(hb(env, m0.memberId, m0.generationId)).to.equal(ErrorCode.REBALANCE_IN_PROGRESS);
    expect((await sync(env, m0.memberId, m0.generationId)).errorCode).to.equal(ErrorCode.REBALANCE_IN_PROGRESS);
    const r0 = await env.gc.joinGroup(joinReq({ clientId: 'c0', memberId: m0.memberId }));
    await settle();
    expect(rejoin.done).to.equal(true);
    expect(r0.generationId).to.equal(m0.generationId + 1);
    expect(rejoin.value!.generationId).to.equal(m0.generationId + 1);
    expect(hb(env, m0.memberId, m0.generationId)).to.equal(ErrorCode.ILLEGAL_GENERATION);
    expect(hb(env, m0.memberId, r0.generationId)).to.equal(ErrorCode.NONE);
  });

  it('removes a member that stops heartbeating after its session timeout, and rebalances the rest', async () => {
    env = await setup();
    const { members } = await stableGroup(env, 3, { sessionTimeoutMs: 10_000 });
    const gen = members[0]!.generationId;
    const [a, b, c] = members as [(typeof members)[0], (typeof members)[0], (typeof members)[0]];
    for (let t = 0; t < 2; t++) {
      await env.clock.tick(4000);
      expect(hb(env, a.memberId, gen)).to.equal(ErrorCode.NONE);
      expect(hb(env, b.memberId, gen)).to.equal(ErrorCode.NONE);
    }
    expect(env.gc.describeGroup('g').groupState).to.equal('Stable');
    await env.clock.tick(2001); // c's last heartbeat (its sync) was 10 001 ms ago
    expect(env.gc.describeGroup('g').members.map((m) => m.memberId)).to.not.include(c.memberId);
    expect(env.gc.describeGroup('g').groupState).to.equal('PreparingRebalance');
    expect(hb(env, a.memberId, gen)).to.equal(ErrorCode.REBALANCE_IN_PROGRESS);
    expect(hb(env, c.memberId, gen)).to.equal(ErrorCode.UNKNOWN_MEMBER_ID);
    const ra = track(env.gc.joinGroup(joinReq({ clientId: 'c0', memberId: a.memberId })));
    await settle();
    expect(ra.done, 'waits for b').to.equal(false);
    const rb = await env.gc.joinGroup(joinReq({ clientId: 'c1', memberId: b.memberId }));
    await settle();
    expect(rb.generationId).to.equal(gen + 1);
    expect(ra.value!.generationId).to.equal(gen + 1);
    const leader = [ra.value!, rb].find((r) => r.leader === r.memberId)!;
    expect(leader.members.map((m) => m.memberId)).to.have.members([a.memberId, b.memberId]);
  });

  it('a member that does not rejoin within the rebalance timeout is dropped from the new generation', async () => {
    env = await setup();
    const { members, leader } = await stableGroup(env, 2, { rebalanceTimeoutMs: 20_000, sessionTimeoutMs: 30_000 });
    const other = members.find((m) => m !== leader)!;
    // The leader rejoining forces a rebalance.
    const r = track(env.gc.joinGroup(joinReq({ clientId: 'c0', memberId: leader.memberId, rebalanceTimeoutMs: 20_000, sessionTimeoutMs: 30_000 })));
    await env.clock.tick(19_999);
    expect(r.done).to.equal(false);
    await env.clock.tick(1);
    expect(r.done).to.equal(true);
    expect(r.value!.generationId).to.equal(leader.generationId + 1);
    expect(r.value!.members.map((m) => m.memberId)).to.deep.equal([leader.memberId]);
    expect(hb(env, other.memberId, other.generationId)).to.equal(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('members that do not sync within the rebalance timeout are removed and the group rebalances', async () => {
    env = await setup({ initialRebalanceDelayMs: 10 });
    const js = [0, 1].map((i) => track(env.gc.joinGroup(joinReq({ clientId: `c${i}`, rebalanceTimeoutMs: 15_000 }))));
    await env.clock.tick(20); // the second member extends the initial delay once
    const [r0, r1] = js.map((j) => j.value!) as [NonNullable<(typeof js)[0]['value']>, NonNullable<(typeof js)[0]['value']>];
    const follower = r0.leader === r0.memberId ? r1 : r0;
    const leaderR = follower === r0 ? r1 : r0;
    const fs = track(sync(env, follower.memberId, follower.generationId));
    // the leader never syncs
    await env.clock.tick(15_000);
    expect(fs.done).to.equal(true);
    expect(fs.value!.errorCode).to.equal(ErrorCode.REBALANCE_IN_PROGRESS);
    const d = env.gc.describeGroup('g');
    expect(d.groupState).to.equal('PreparingRebalance');
    expect(d.members.map((m) => m.memberId)).to.deep.equal([follower.memberId]);
    expect(hb(env, leaderR.memberId, leaderR.generationId)).to.equal(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('SyncGroup errors: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, INCONSISTENT_GROUP_PROTOCOL', async () => {
    env = await setup();
    expect((await sync(env, 'x', 1)).errorCode).to.equal(ErrorCode.UNKNOWN_MEMBER_ID);
    const { members } = await stableGroup(env, 1);
    const m = members[0]!;
    expect((await sync(env, 'x', m.generationId)).errorCode).to.equal(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await sync(env, m.memberId, m.generationId + 5)).errorCode).to.equal(ErrorCode.ILLEGAL_GENERATION);
    expect((await sync(env, m.memberId, m.generationId, [], { protocolName: 'roundrobin' })).errorCode).to.equal(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await sync(env, m.memberId, m.generationId, [], { protocolType: 'connect' })).errorCode).to.equal(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const ok = await sync(env, m.memberId, m.generationId, [], { protocolType: 'consumer', protocolName: 'range' });
    expect(ok.errorCode).to.equal(ErrorCode.NONE);
    expect(ok.assignment.toString()).to.equal('assign-0');
    expect(ok.protocolName).to.equal('range');
  });

  it('a follower rejoining with unchanged metadata in Stable gets the current generation without a rebalance', async () => {
    env = await setup();
    const { members, leader } = await stableGroup(env, 2);
    const f = members.find((m) => m !== leader)!;
    const r = await env.gc.joinGroup(joinReq({ clientId: 'c1', memberId: f.memberId }));
    expect(r.errorCode).to.equal(ErrorCode.NONE);
    expect(r.generationId).to.equal(f.generationId);
    expect(r.members).to.deep.equal([]);
    expect(env.gc.describeGroup('g').groupState).to.equal('Stable');
  });

  it('LeaveGroup removes members in a batch (by member id or instance id) and reports unknown ones', async () => {
    env = await setup();
    const { members } = await stableGroup(env, 3, { instanceIds: [null, null, 'inst-2'] });
    const res = env.gc.leaveGroup('g', [
      { memberId: members[0]!.memberId, groupInstanceId: null, reason: 'shutdown' },
      { memberId: '', groupInstanceId: 'inst-2', reason: null },
      { memberId: 'ghost', groupInstanceId: null, reason: null },
      { memberId: members[1]!.memberId, groupInstanceId: 'wrong-instance', reason: null },
    ]);
    expect(res.errorCode).to.equal(ErrorCode.NONE);
    expect(res.members.map((m) => m.errorCode)).to.deep.equal([
      ErrorCode.NONE,
      ErrorCode.NONE,
      ErrorCode.UNKNOWN_MEMBER_ID,
      ErrorCode.UNKNOWN_MEMBER_ID,
    ]);
    const d = env.gc.describeGroup('g');
    expect(d.members.map((m) => m.memberId)).to.deep.equal([members[1]!.memberId]);
    expect(d.groupState).to.equal('PreparingRebalance');
    expect(env.gc.leaveGroup('nope', [{ memberId: 'x', groupInstanceId: null, reason: null }]).members[0]!.errorCode).to.equal(
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
  });

  it('the last member leaving empties the group and bumps the generation', async () => {
    env = await setup();
    const { members } = await stableGroup(env, 1);
    env.gc.leaveGroup('g', [{ memberId: members[0]!.memberId, groupInstanceId: null, reason: null }]);
    expect(env.gc.describeGroup('g').groupState).to.equal('Empty');
    const again = await env.gc.joinGroup(joinReq());
    expect(again.generationId).to.equal(members[0]!.generationId + 2);
  });

  it('answers waiting joins with NOT_COORDINATOR on close', async () => {
    env = await setup({ initialRebalanceDelayMs: 5000 });
    const j = track(env.gc.joinGroup(joinReq()));
    await env.gc.close();
    await settle();
    expect(j.value!.errorCode).to.equal(ErrorCode.NOT_COORDINATOR);
    expect(env.clock.pending).to.equal(0);
    expect((await env.gc.joinGroup(joinReq())).errorCode).to.equal(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });
});

describe('group coordinator: static membership', () => {
  let env: Env;
  afterEach(async () => {
    await env?.gc.close();
  });

  it('a static member rejoining with a new process keeps its assignment without a rebalance', async () => {
    env = await setup();
    const { members, leader } = await stableGroup(env, 2, { instanceIds: ['inst-0', 'inst-1'] });
    const gen = leader.generationId;
    const follower = members.find((m) => m !== leader)!;
    const followerIdx = members.indexOf(follower);
    const instance = `inst-${followerIdx}`;
    const appendsBefore = env.stream.appends;
    // The process restarted: it lost its member id but has the same group.instance.id.
    const r = await env.gc.joinGroup(joinReq({ clientId: `c${followerIdx}`, groupInstanceId: instance }));
    expect(r.errorCode).to.equal(ErrorCode.NONE);
    expect(r.memberId).to.equal(`${instance}-uuid3`);
    expect(r.generationId).to.equal(gen);
    expect(r.leader).to.equal(leader.memberId);
    expect(r.members).to.deep.equal([]);
    expect(env.stream.appends, 'the new member id is persisted').to.equal(appendsBefore + 1);
    expect(env.gc.describeGroup('g').groupState).to.equal('Stable');
    const s = await sync(env, r.memberId, gen, [], { groupInstanceId: instance });
    expect(s.errorCode).to.equal(ErrorCode.NONE);
    expect(s.assignment.toString()).to.equal(`assign-${followerIdx}`);
    // The leader never noticed.
    expect(hb(env, leader.memberId, gen, `inst-${members.indexOf(leader)}`)).to.equal(ErrorCode.NONE);
    // The old process is fenced.
    expect(hb(env, follower.memberId, gen, instance)).to.equal(ErrorCode.FENCED_INSTANCE_ID);
    expect((await sync(env, follower.memberId, gen, [], { groupInstanceId: instance })).errorCode).to.equal(ErrorCode.FENCED_INSTANCE_ID);
    const oldJoin = await env.gc.joinGroup(joinReq({ memberId: follower.memberId, groupInstanceId: instance }));
    expect(oldJoin.errorCode).to.equal(ErrorCode.FENCED_INSTANCE_ID);
    const c = await env.gc.commitOffsets({
      groupId: 'g',
      generationId: gen,
      memberId: follower.memberId,
      groupInstanceId: instance,
      retentionTimeMs: -1,
      partitions: [{ topic: 't', partition: 0, offset: 1n, leaderEpoch: -1, metadata: null, commitTimestamp: -1 }],
    });
    expect(c).to.deep.equal([ErrorCode.FENCED_INSTANCE_ID]);
  });

  it('a static leader rejoining is told the old leader id (v<9), or to skip the assignment (v9)', async () => {
    env = await setup();
    const { leader } = await stableGroup(env, 2, { instanceIds: ['inst-0', 'inst-1'] });
    const r = await env.gc.joinGroup(joinReq({ clientId: 'c0', groupInstanceId: 'inst-0' }));
    expect(r.errorCode).to.equal(ErrorCode.NONE);
    expect(r.leader).to.equal(leader.memberId);
    expect(r.leader).to.not.equal(r.memberId);
    expect(r.skipAssignment).to.equal(false);
    const r9 = await env.gc.joinGroup(joinReq({ clientId: 'c0', groupInstanceId: 'inst-0', supportSkippingAssignment: true }));
    expect(r9.leader).to.equal(r9.memberId);
    expect(r9.skipAssignment).to.equal(true);
    expect(r9.members).to.have.length(2);
    expect(env.gc.describeGroup('g').groupState).to.equal('Stable');
  });

  it('a static member that stops heartbeating stays through a rebalance until its session times out', async () => {
    env = await setup();
    const { members } = await stableGroup(env, 2, { instanceIds: [null, 'inst-1'], sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 10_000 });
    const [dyn, stat] = members as [(typeof members)[0], (typeof members)[0]];
    const r = track(env.gc.joinGroup(joinReq({ clientId: 'c0', memberId: dyn.memberId, sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 10_000 })));
    await env.clock.tick(10_000);
    expect(r.done).to.equal(true);
    // The static member was kept in the new generation although it did not rejoin.
    expect(r.value!.members.map((m) => m.memberId)).to.have.members([dyn.memberId, stat.memberId]);
  });

  it('rejoining a static member with an unknown instance id and a member id gives UNKNOWN_MEMBER_ID', async () => {
    env = await setup();
    const { members } = await stableGroup(env, 1);
    const r = await env.gc.joinGroup(joinReq({ memberId: members[0]!.memberId, groupInstanceId: 'never-seen' }));
    expect(r.errorCode).to.equal(ErrorCode.UNKNOWN_MEMBER_ID);
  });
});

describe('group coordinator: admin', () => {
  let env: Env;
  afterEach(async () => {
    await env?.gc.close();
  });

  it('ListGroups lists groups with their state, filtered by state case-insensitively', async () => {
    env = await setup();
    await stableGroup(env, 1, { groupId: 'stable-g' });
    await env.gc.commitOffsets({
      groupId: 'simple',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1,
      partitions: [{ topic: 't', partition: 0, offset: 5n, leaderEpoch: -1, metadata: null, commitTimestamp: -1 }],
    });
    expect(env.gc.listGroups()).to.have.deep.members([
      { groupId: 'stable-g', protocolType: 'consumer', groupState: 'Stable' },
      { groupId: 'simple', protocolType: '', groupState: 'Empty' },
    ]);
    expect(env.gc.listGroups(['empty']).map((g) => g.groupId)).to.deep.equal(['simple']);
    expect(env.gc.listGroups(['Stable', 'Dead']).map((g) => g.groupId)).to.deep.equal(['stable-g']);
  });

  it('DescribeGroups reports an unknown group as Dead and hides metadata outside Stable', async () => {
    env = await setup();
    expect(env.gc.describeGroup('nope')).to.deep.include({ errorCode: 0, groupState: 'Dead', members: [] });
    const j = track(env.gc.joinGroup(joinReq({ clientId: 'x' })));
    await settle();
    const d = env.gc.describeGroup('g');
    expect(d.groupState).to.equal('CompletingRebalance');
    expect(d.members[0]!.clientId).to.equal('x');
    expect(d.members[0]!.clientHost).to.equal('/127.0.0.1');
    expect(d.members[0]!.memberMetadata.length).to.equal(0);
    expect(d.protocolData).to.equal('');
    expect(j.done).to.equal(true);
  });

  it('DeleteGroups: NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND, and deletes an empty group with its offsets', async () => {
    env = await setup();
    await stableGroup(env, 1, { groupId: 'busy' });
    await env.gc.commitOffsets({
      groupId: 'idle',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1,
      partitions: [{ topic: 't', partition: 0, offset: 5n, leaderEpoch: -1, metadata: null, commitTimestamp: -1 }],
    });
    const res = await env.gc.deleteGroups(['busy', 'missing', 'idle']);
    expect(res).to.deep.equal([
      { groupId: 'busy', errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: 'missing', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
      { groupId: 'idle', errorCode: ErrorCode.NONE },
    ]);
    expect(env.gc.listGroups().map((g) => g.groupId)).to.deep.equal(['busy']);
    expect(env.gc.fetchOffsets('idle', null).topics).to.deep.equal([]);
    expect((await env.gc.deleteGroups(['idle']))[0]!.errorCode).to.equal(ErrorCode.GROUP_ID_NOT_FOUND);
  });
});
