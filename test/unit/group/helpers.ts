/** Shared set-up for group coordinator tests. */
import { GroupShardCoordinator } from '../../../broker/src/group/shard-coordinator.js';
import type { GroupCoordinatorConfigInput } from '../../../broker/src/group/config.js';
import type { GroupProtocol, JoinGroupRequest, JoinGroupResult, SyncGroupResult } from '../../../broker/src/group/types.js';
import { GroupCoordinator } from '../../../broker/src/group/coordinator.js';
import { FakeClock, MemoryKv, MemoryStream, MemoryStreamClient } from './fakes.js';

export interface Env {
  clock: FakeClock;
  stream: MemoryStream;
  kv: MemoryKv;
  gc: GroupShardCoordinator;
  logs: { level: string; msg: string }[];
}

export async function setup(config: GroupCoordinatorConfigInput = {}, from?: Pick<Env, 'clock' | 'stream' | 'kv'>): Promise<Env> {
  const clock = from?.clock ?? new FakeClock();
  const stream = from ? from.stream.reopen() : new MemoryStream();
  const kv = from?.kv ?? new MemoryKv();
  const logs: { level: string; msg: string }[] = [];
  let n = 0;
  const gc = await GroupShardCoordinator.load({
    offsetLog: stream,
    kv,
    now: () => clock.now,
    timers: clock,
    log: (level, msg) => logs.push({ level, msg }),
    randomId: () => `uuid${++n}`,
    config: { initialRebalanceDelayMs: 0, ...config },
  });
  return { clock, stream, kv, gc, logs };
}

export interface ShardedEnv {
  clock: FakeClock;
  storage: MemoryStreamClient;
  gc: GroupCoordinator;
  logs: { level: string; msg: string; fields?: Record<string, unknown> }[];
}

/** A sharded coordinator over shared in-memory storage (pass another env's clock and storage for a second broker). */
export function setupSharded(
  opts: { shards?: number; config?: GroupCoordinatorConfigInput; loadRetryMs?: number } = {},
  from?: Pick<ShardedEnv, 'clock' | 'storage'>,
): ShardedEnv {
  const clock = from?.clock ?? new FakeClock();
  const storage = from?.storage ?? new MemoryStreamClient();
  const logs: ShardedEnv['logs'] = [];
  let n = 0;
  const gc = GroupCoordinator.create({
    streams: storage,
    shards: opts.shards ?? 4,
    now: () => clock.now,
    timers: clock,
    log: (level, msg, fields) => logs.push({ level, msg, ...(fields ? { fields } : {}) }),
    randomId: () => `uuid${++n}`,
    config: { initialRebalanceDelayMs: 0, ...opts.config },
    ...(opts.loadRetryMs !== undefined ? { loadRetryMs: opts.loadRetryMs } : {}),
  });
  return { clock, storage, gc, logs };
}

export function proto(name = 'range', metadata = 'sub'): GroupProtocol {
  return { name, metadata: Buffer.from(metadata) };
}

export function joinReq(over: Partial<JoinGroupRequest> = {}): JoinGroupRequest {
  return {
    groupId: 'g',
    memberId: '',
    groupInstanceId: null,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    protocolType: 'consumer',
    protocols: [proto()],
    requireKnownMemberId: false,
    supportSkippingAssignment: false,
    reason: null,
    ...over,
  };
}

/** A promise whose settlement can be inspected synchronously. */
export interface Tracked<T> {
  readonly promise: Promise<T>;
  done: boolean;
  value: T | undefined;
}

export function track<T>(p: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { promise: p, done: false, value: undefined };
  p.then((v) => {
    t.done = true;
    t.value = v;
  });
  return t;
}

export type { JoinGroupResult, SyncGroupResult };

/**
 * Builds a Stable group: the members join (dynamic unless instance ids are given), the first
 * joiner leads, and the leader assigns `assign-<index>` to each member.
 */
export async function stableGroup(
  env: Env,
  count: number,
  opts: { groupId?: string; instanceIds?: (string | null)[]; sessionTimeoutMs?: number; rebalanceTimeoutMs?: number } = {},
): Promise<{ members: JoinGroupResult[]; leader: JoinGroupResult; assignments: Map<string, Buffer> }> {
  const groupId = opts.groupId ?? 'g';
  const joins = Array.from({ length: count }, (_, i) =>
    track(
      env.gc.joinGroup(
        joinReq({
          groupId,
          clientId: `c${i}`,
          groupInstanceId: opts.instanceIds?.[i] ?? null,
          sessionTimeoutMs: opts.sessionTimeoutMs ?? 10_000,
          rebalanceTimeoutMs: opts.rebalanceTimeoutMs ?? 30_000,
        }),
      ),
    ),
  );
  await Promise.resolve();
  // With no initial delay the first member forms generation 1 alone; the others trigger a rebalance
  // that the first one must rejoin.
  const first = await joins[0]!.promise;
  if (first.errorCode !== 0) throw new Error(`join failed: ${first.errorCode}`);
  let results: JoinGroupResult[];
  if (count > 1 && first.generationId === 1 && joins.slice(1).some((j) => !j.done)) {
    const rejoin = env.gc.joinGroup(
      joinReq({
        groupId,
        clientId: 'c0',
        memberId: first.memberId,
        groupInstanceId: opts.instanceIds?.[0] ?? null,
        sessionTimeoutMs: opts.sessionTimeoutMs ?? 10_000,
        rebalanceTimeoutMs: opts.rebalanceTimeoutMs ?? 30_000,
      }),
    );
    results = [await rejoin, ...(await Promise.all(joins.slice(1).map((j) => j.promise)))];
  } else {
    results = await Promise.all(joins.map((j) => j.promise));
  }
  for (const r of results) if (r.errorCode !== 0) throw new Error(`join failed: ${r.errorCode}`);
  const leader = results.find((r) => r.leader === r.memberId)!;
  const assignments = new Map(results.map((r, i) => [r.memberId, Buffer.from(`assign-${i}`)]));
  const syncs = results.map((r) =>
    env.gc.syncGroup({
      groupId,
      generationId: r.generationId,
      memberId: r.memberId,
      groupInstanceId: opts.instanceIds?.[results.indexOf(r)] ?? null,
      protocolType: null,
      protocolName: null,
      assignments: r === leader ? [...assignments].map(([memberId, assignment]) => ({ memberId, assignment })) : [],
    }),
  );
  for (const s of await Promise.all(syncs)) if (s.errorCode !== 0) throw new Error(`sync failed: ${s.errorCode}`);
  return { members: results, leader, assignments };
}
