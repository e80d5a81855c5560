/**
 * Upgrade from the single offsets log: a store written before sharding (stream named by
 * groups/offsets-stream-id, snapshot under groups/snapshot) keeps every committed offset and group
 * metadata, migrated once into the shards, also when the migration is interrupted.
 */
import { expect } from 'chai';
import { legacyStreamKey } from '../../../broker/src/group/migration.js';
import { decodeRecord } from '../../../broker/src/group/records.js';
import { GroupShardCoordinator } from '../../../broker/src/group/shard-coordinator.js';
import { groupShardOf, shardStreamKey } from '../../../broker/src/group/shards.js';
import { FakeClock, FakeCluster, MemoryStreamClient } from './fakes.js';
import { setupSharded, stableGroup, type Env, type ShardedEnv } from './helpers.js';

const SHARDS = 4;
const GROUPS = Array.from({ length: 24 }, (_, i) => `legacy-${i}`);

interface Legacy {
  clock: FakeClock;
  storage: MemoryStreamClient;
  legacyId: number;
  /** fetchOffsets(g, null) of every group, as the old broker served them. */
  expected: Map<string, unknown>;
  stable: { groupId: string; generationId: number; members: string[] };
}

/** Writes a store the way the broker did before sharding: one offsets log, snapshot, then a tail. */
async function legacyStore(): Promise<Legacy> {
  const clock = new FakeClock();
  const storage = new MemoryStreamClient();
  const stream = await storage.createStream();
  await storage.kv.put('groups/offsets-stream-id', Buffer.from(String(stream.id)));
  const gc = await GroupShardCoordinator.load({
    offsetLog: stream,
    kv: storage.kv,
    now: () => clock.now,
    timers: clock,
    config: { initialRebalanceDelayMs: 0, snapshotIntervalMs: 0 },
  });
  const commit = (groupId: string, partition: number, offset: number) =>
    gc.commitOffsets({
      groupId,
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1,
      partitions: [{ topic: 'orders', partition, offset: BigInt(offset), leaderEpoch: 2, metadata: `${groupId}@${offset}`, commitTimestamp: -1 }],
    });
  for (const [i, g] of GROUPS.entries()) for (let p = 0; p < 3; p++) expect(await commit(g, p, i * 10 + p)).to.deep.equal([0]);
  const env: Env = { clock, stream, kv: storage.kv, gc, logs: [] };
  const { members } = await stableGroup(env, 2, { groupId: 'legacy-stable' });
  await gc.snapshotNow();
  expect(storage.kv.get('groups/snapshot'), 'legacy snapshot written').to.not.equal(undefined);
  // A tail after the snapshot: the migration must read both.
  for (const [i, g] of GROUPS.entries()) if (i % 3 === 0) expect(await commit(g, 0, 1000 + i)).to.deep.equal([0]);
  const expected = new Map<string, unknown>(GROUPS.map((g) => [g, gc.fetchOffsets(g, null)]));
  // The old broker stops without a final snapshot (as in a crash).
  return {
    clock,
    storage,
    legacyId: stream.id,
    expected,
    stable: { groupId: 'legacy-stable', generationId: members[0]!.generationId, members: members.map((m) => m.memberId).sort() },
  };
}

function expectMigrated(envs: ShardedEnv[], legacy: Legacy): void {
  const serving = (g: string) => envs.find((e) => e.gc.shardState(e.gc.shardOf(g)) === 'loaded')!;
  for (const g of GROUPS) expect(serving(g).gc.fetchOffsets(g, null), g).to.deep.equal(legacy.expected.get(g));
  const d = serving(legacy.stable.groupId).gc.describeGroup(legacy.stable.groupId);
  expect(d.groupState).to.equal('Stable');
  expect(d.members.map((m) => m.memberId).sort()).to.deep.equal(legacy.stable.members);
  const kv = legacy.storage.kv;
  expect(legacy.storage.streams.has(legacy.legacyId), 'legacy stream deleted').to.equal(false);
  expect(kv.list('groups/').filter((k) => k === legacyStreamKey('groups/') || k.startsWith('groups/snapshot') || k.startsWith('groups/migrated/'))).to.deep.equal([]);
}

describe('group shards: migration of the legacy single offsets log', () => {
  it('copies every group\'s offsets and metadata into its shard, then deletes the legacy log', async () => {
    const legacy = await legacyStore();
    // The groups really spread over the shards.
    expect(new Set(GROUPS.map((g) => groupShardOf(g, SHARDS))).size).to.equal(SHARDS);
    const env = setupSharded({ shards: SHARDS }, legacy);
    await Promise.all(Array.from({ length: SHARDS }, (_, i) => env.gc.loadShard(i)));
    expectMigrated([env], legacy);
    // Each shard log holds only its own groups.
    for (let i = 0; i < SHARDS; i++) {
      const data = legacy.storage.streams.get(Number(legacy.storage.kv.get(shardStreamKey('groups/', i))!.toString()))!;
      const ids = data.batches.map((batch) => {
        const rec = decodeRecord(batch.payload);
        return rec.type === 'groupMetadata' ? rec.group.groupId : rec.groupId;
      });
      expect(ids.length).to.be.greaterThan(0);
      expect(ids.filter((g) => groupShardOf(g, SHARDS) !== i), `shard ${i} holds other shards' groups`).to.deep.equal([]);
    }
    // Restart: nothing to migrate any more, everything still there.
    await env.gc.close();
    const again = setupSharded({ shards: SHARDS }, legacy);
    await Promise.all(Array.from({ length: SHARDS }, (_, i) => again.gc.loadShard(i)));
    expectMigrated([again], legacy);
    await again.gc.close();
  });

  it('re-runs an interrupted shard copy without duplicating it, and finishes an interrupted cleanup', async () => {
    const legacy = await legacyStore();
    const kv = legacy.storage.kv;
    // Crash point 1: shard 2's copy is durable but its marker is never written.
    kv.failNext = { op: 'put', key: (k) => k === 'groups/migrated/2' };
    const first = setupSharded({ shards: SHARDS }, legacy);
    const results = await Promise.allSettled(Array.from({ length: SHARDS }, (_, i) => first.gc.loadShard(i)));
    expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(first.gc.shardState(2)).to.equal('unloaded');
    expect(kv.get('groups/offsets-stream-id'), 'legacy kept until every shard is migrated').to.not.equal(undefined);
    const shard2 = legacy.storage.streams.get(Number(kv.get(shardStreamKey('groups/', 2))!.toString()))!;
    const copied = shard2.confirm - shard2.start;
    expect(copied).to.be.greaterThan(0);

    // The process dies (first is abandoned, not closed); a new one loads every shard.
    // Crash point 2: the cleanup stops after deleting the legacy stream, before its KV key.
    kv.failNext = { op: 'delete', key: (k) => k === 'groups/offsets-stream-id' };
    const second = setupSharded({ shards: SHARDS }, legacy);
    await Promise.all(Array.from({ length: SHARDS }, (_, i) => second.gc.loadShard(i)));
    expect(second.gc.storeStats(2)!.replayedRecords, 'the partial copy was replaced, not doubled').to.equal(copied);
    expect(legacy.storage.streams.has(legacy.legacyId)).to.equal(false);
    expect(kv.get('groups/offsets-stream-id'), 'cleanup interrupted').to.not.equal(undefined);
    expect(second.logs.some((l) => l.msg.includes('deleting the migrated legacy offsets log failed'))).to.equal(true);
    for (const g of GROUPS) expect(second.gc.fetchOffsets(g, null), g).to.deep.equal(legacy.expected.get(g));
    await second.gc.close();

    // The next start finishes the cleanup (the stream is already gone) and keeps everything.
    const third = setupSharded({ shards: SHARDS }, legacy);
    await Promise.all(Array.from({ length: SHARDS }, (_, i) => third.gc.loadShard(i)));
    expectMigrated([third], legacy);
    await third.gc.close();
  });

  it('migrates shards led by different brokers, deleting the legacy log once all are done', async () => {
    const legacy = await legacyStore();
    const cluster = new FakeCluster([1, 2]);
    const a = setupSharded({ shards: SHARDS }, legacy);
    const b = setupSharded({ shards: SHARDS }, legacy);
    a.gc.followLeadership(cluster.view(1));
    b.gc.followLeadership(cluster.view(2));
    cluster.publish({ 0: 1, 1: 1 });
    await a.gc.settled();
    expect(legacy.storage.streams.has(legacy.legacyId), 'half migrated: legacy kept').to.equal(true);
    cluster.publish({ 2: 2, 3: 2 });
    await b.gc.settled();
    expectMigrated([a, b], legacy);
    await a.gc.close();
    await b.gc.close();
  });
});
