/**
 * This broker's group coordinator: groups are spread over `shards` group shards (Kafka's
 * __consumer_offsets partitions, see shards.ts), each with its own log stream and KV snapshots,
 * and this broker coordinates exactly the groups of the shards it has loaded. A shard is loaded
 * while this broker leads (GROUP_SHARDS_TOPIC, i) in the ClusterView, so each group has one
 * coordinator at a time and coordination moves with leadership.
 *
 * Each loaded shard is a GroupShardCoordinator (the classic protocol state machine over the
 * shard's GroupStore). This class routes every request to the shard of its group and answers for
 * the others: NOT_COORDINATOR when the shard is not loaded here (or is being unloaded),
 * COORDINATOR_LOAD_IN_PROGRESS while it loads. Clients retry both after FindCoordinator.
 *
 * Shard lifecycle, serialized per shard: every request to load or unload only sets the shard's
 * target (load or not, at which leader epoch), and one loop per shard steps the shard towards the
 * latest target, so any interleaving of loads and unloads (leadership flaps) ends in the state
 * last asked for, and a repeated request is a no-op.
 *
 *   unloaded --load--> loading: open (or create) the shard's stream, migrate the legacy log once,
 *                      load the snapshot and replay the tail --> loaded
 *   loaded --unload--> unloading: refuse new requests, answer waiting joins/syncs with
 *                      NOT_COORDINATOR, wait for in-flight appends, snapshot (only when asked:
 *                      not when another broker may already own the log), close the stream,
 *                      drop the groups --> unloaded
 *
 * Reopening the stream bumps its epoch, which fences any older handle: a former coordinator that
 * missed the move can no longer append to the shard.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { Stream, StreamClient } from '../s3stream/api.js';
import { GROUP_SHARDS_TOPIC, type ClusterView } from '../kafka/cluster/cluster-view.js';
import { parseGroupCoordinatorConfig, type GroupCoordinatorConfig, type GroupCoordinatorConfigInput } from './config.js';
import { GROUP_STATES, type GroupState } from './group.js';
import { LegacyMigration } from './migration.js';
import { GroupShardCoordinator } from './shard-coordinator.js';
import { groupShardOf, shardKvPrefix, shardStreamKey } from './shards.js';
import type { GroupStoreStats } from './store.js';
import { realTimers, toGroupLog, type CancelTimer, type GroupLog, type LoggerLike, type Timers } from './timers.js';
import type {
  DescribedGroup,
  HeartbeatRequest,
  JoinGroupRequest,
  JoinGroupResult,
  LeaveGroupResult,
  LeavingMember,
  ListedGroup,
  OffsetCommitRequest,
  OffsetFetchResult,
  SyncGroupRequest,
  SyncGroupResult,
} from './types.js';

export type { GroupState } from './group.js';
export type * from './types.js';

export type ShardState = 'unloaded' | 'loading' | 'loaded' | 'unloading';

export interface GroupCoordinatorOptions {
  /** Storage: the shards' streams (and the legacy offsets stream) and the KV store. */
  readonly streams: Pick<StreamClient, 'createStream' | 'openStream' | 'deleteStream' | 'kv'>;
  /** Number of group shards (resolveGroupShardCount in shards.ts); every broker must use the same. */
  readonly shards: number;
  /** Clock in ms. */
  readonly now: () => number;
  readonly timers?: Timers;
  /** A log function, or the broker's winston logger. */
  readonly log?: GroupLog | LoggerLike;
  readonly config?: GroupCoordinatorConfigInput;
  /** Random part of generated member ids (default: a UUID). */
  readonly randomId?: () => string;
  /** Delay before retrying a failed shard load; doubles per consecutive failure, up to 30 s. */
  readonly loadRetryMs?: number;
}

interface Target {
  readonly load: boolean;
  /** Leader epoch to be loaded at (undefined: any); a different epoch than the loaded one means reload. */
  readonly epoch: number | undefined;
  /** Snapshot when unloading. */
  readonly snapshot: boolean;
}

class Shard {
  state: ShardState = 'unloaded';
  coordinator: GroupShardCoordinator | undefined;
  stream: Stream | undefined;
  loadedEpoch: number | undefined;
  target: Target = { load: false, epoch: undefined, snapshot: false };
  running: Promise<void> | undefined;
  retryTimer: CancelTimer | undefined;
  failures = 0;
  /** Leader epoch at which unloadShard() released the shard: following the view does not reload it at that epoch. */
  releasedAtEpoch: number | undefined;
  constructor(readonly index: number) {}
}

type Route = { readonly gc: GroupShardCoordinator; readonly error?: undefined } | { readonly gc?: undefined; readonly error: number };

const MAX_RETRY_MS = 30_000;
const EMPTY = Buffer.alloc(0);

export class GroupCoordinator {
  readonly config: GroupCoordinatorConfig;
  private readonly shardList: readonly Shard[];
  private readonly log: GroupLog;
  private readonly timers: Timers;
  private readonly migration: LegacyMigration;
  private readonly unfollow: (() => void)[] = [];
  private closed = false;

  private constructor(private readonly opts: GroupCoordinatorOptions) {
    if (!Number.isInteger(opts.shards) || opts.shards < 1) throw new Error(`group shard count must be a positive integer, got ${opts.shards}`);
    this.config = parseGroupCoordinatorConfig(opts.config);
    this.log = toGroupLog(opts.log);
    this.timers = opts.timers ?? realTimers;
    this.shardList = Array.from({ length: opts.shards }, (_, i) => new Shard(i));
    this.migration = new LegacyMigration({
      streams: opts.streams,
      kv: opts.streams.kv,
      prefix: this.config.kvPrefix,
      shards: opts.shards,
      log: this.log,
      snapshotChunkBytes: this.config.snapshotChunkBytes,
    });
  }

  /** A coordinator with no shard loaded: load them with loadShard() or followLeadership(). */
  static create(opts: GroupCoordinatorOptions): GroupCoordinator {
    return new GroupCoordinator(opts);
  }

  get shards(): number {
    return this.shardList.length;
  }

  /** The shard of a group (Kafka's partitionFor). */
  shardOf(groupId: string): number {
    return groupShardOf(groupId, this.shardList.length);
  }

  shardState(shard: number): ShardState {
    return this.shard(shard).state;
  }

  loadedShards(): number[] {
    return this.shardList.filter((s) => s.state === 'loaded').map((s) => s.index);
  }

  private shard(i: number): Shard {
    const s = this.shardList[i];
    if (!s) throw new RangeError(`group shard ${i} does not exist (0..${this.shardList.length - 1})`);
    return s;
  }

  // ------------------------------------------------------------------ shard lifecycle

  /**
   * Loads a shard: its groups are served here once this resolves. `leaderEpoch` is the epoch of
   * this broker's leadership of the shard; a load at another epoch than the loaded one reloads
   * (another broker may have written the log in between). Idempotent. Resolves when the shard
   * reached the latest target (a later unloadShard wins); rejects when the load failed (it is
   * retried with backoff while still wanted).
   */
  loadShard(shard: number, leaderEpoch?: number): Promise<void> {
    const s = this.shard(shard);
    if (this.closed) return Promise.reject(new Error(`cannot load group shard ${shard}: the group coordinator is closed`));
    s.releasedAtEpoch = undefined;
    return this.setTarget(s, { load: true, epoch: leaderEpoch, snapshot: false });
  }

  /**
   * Unloads a shard (the release step of a move): new requests for its groups get NOT_COORDINATOR,
   * waiting joins and syncs are answered with NOT_COORDINATOR, in-flight appends are awaited, a
   * snapshot is written (unless `snapshot: false`), the stream is closed and the groups dropped.
   * When this resolves nothing more is written to the shard from here. Idempotent. While the view
   * still names this broker leader at the same epoch, followLeadership does not load it back.
   */
  unloadShard(shard: number, opts: { snapshot?: boolean } = {}): Promise<void> {
    const s = this.shard(shard);
    s.releasedAtEpoch = s.loadedEpoch ?? s.target.epoch;
    return this.setTarget(s, { load: false, epoch: undefined, snapshot: opts.snapshot ?? true });
  }

  /**
   * Loads the shards this broker leads in `view` and unloads the others, now and after every
   * change of the view. Returns the unsubscribe function (close() also unsubscribes).
   */
  followLeadership(view: ClusterView): () => void {
    const apply = (): void => {
      if (this.closed) return;
      const me = view.localNodeId();
      for (const s of this.shardList) {
        const l = view.leadership(GROUP_SHARDS_TOPIC, s.index);
        const leads = l !== undefined && l.leader >= 0 && l.leader === me;
        if (leads) {
          if (s.releasedAtEpoch === l.leaderEpoch) continue;
          s.releasedAtEpoch = undefined;
          if (!s.target.load || s.target.epoch !== l.leaderEpoch) {
            this.setTarget(s, { load: true, epoch: l.leaderEpoch, snapshot: false }).catch((e: unknown) =>
              this.log('warn', 'group shard load failed; retrying', { shard: s.index, error: String(e) }),
            );
          }
        } else if (s.target.load) {
          // Whoever leads now may already have opened the log: a snapshot from here could replace theirs.
          this.setTarget(s, { load: false, epoch: undefined, snapshot: false }).catch((e: unknown) =>
            this.log('warn', 'group shard unload failed', { shard: s.index, error: String(e) }),
          );
        }
      }
    };
    const off = view.onChange(apply);
    this.unfollow.push(off);
    apply();
    return off;
  }

  private setTarget(s: Shard, target: Target): Promise<void> {
    s.target = target;
    s.retryTimer?.();
    s.retryTimer = undefined;
    if (!s.running) {
      if (!this.nextStep(s)) return Promise.resolve();
      s.running = this.converge(s);
    }
    return s.running;
  }

  /** The next step towards the target, or undefined when the shard is there. */
  private nextStep(s: Shard): (() => Promise<void>) | undefined {
    const t = s.target;
    if (s.state === 'loaded') {
      if (!t.load) return () => this.unload(s, t.snapshot);
      if (t.epoch !== undefined && s.loadedEpoch !== undefined && t.epoch !== s.loadedEpoch) return () => this.unload(s, false);
      if (t.epoch !== undefined) s.loadedEpoch = t.epoch;
      return undefined;
    }
    if (s.state === 'unloaded' && t.load) return () => this.load(s, t.epoch);
    return undefined;
  }

  // The loop's exit and the clearing of `running` happen in the same synchronous step as the last
  // target check, so a target set at any later point starts a new loop.
  private async converge(s: Shard): Promise<void> {
    try {
      for (;;) {
        const step = this.nextStep(s);
        if (!step) {
          s.running = undefined;
          return;
        }
        await step();
      }
    } catch (e) {
      s.running = undefined;
      if (s.target.load && !this.closed) {
        const delay = Math.min(MAX_RETRY_MS, (this.opts.loadRetryMs ?? 1000) * 2 ** s.failures);
        s.failures++;
        s.retryTimer = this.timers.schedule(delay, () => {
          s.retryTimer = undefined;
          if (!s.running && this.nextStep(s)) {
            s.running = this.converge(s);
            s.running.catch((err: unknown) => this.log('warn', 'group shard load failed; retrying', { shard: s.index, error: String(err) }));
          }
        });
      }
      throw e;
    }
  }

  private async load(s: Shard, epoch: number | undefined): Promise<void> {
    s.state = 'loading';
    const started = this.opts.now();
    let stream: Stream | undefined;
    try {
      stream = await this.openShardStream(s.index);
      await this.migration.migrateShard(s.index, stream);
      const gc = await GroupShardCoordinator.load({
        offsetLog: stream,
        kv: this.opts.streams.kv,
        now: this.opts.now,
        timers: this.timers,
        log: this.log,
        config: { ...this.config, kvPrefix: shardKvPrefix(this.config.kvPrefix, s.index) },
        ...(this.opts.randomId ? { randomId: this.opts.randomId } : {}),
      });
      s.coordinator = gc;
      s.stream = stream;
      s.loadedEpoch = epoch;
      s.failures = 0;
      s.state = 'loaded';
      this.log('info', 'group shard loaded', {
        shard: s.index,
        leaderEpoch: epoch,
        stream: stream.id,
        replayedRecords: gc.storeStats().replayedRecords,
        ms: this.opts.now() - started,
      });
    } catch (e) {
      s.state = 'unloaded';
      await stream?.close().catch(() => undefined);
      throw new Error(`loading group shard ${s.index} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private async unload(s: Shard, snapshot: boolean): Promise<void> {
    s.state = 'unloading';
    const gc = s.coordinator!;
    const stream = s.stream!;
    await gc.close({ snapshot });
    await stream.close().catch((e: unknown) => this.log('warn', 'closing a group shard stream failed', { shard: s.index, error: String(e) }));
    s.coordinator = undefined;
    s.stream = undefined;
    s.loadedEpoch = undefined;
    s.state = 'unloaded';
    this.log('info', 'group shard unloaded', { shard: s.index, snapshot });
  }

  private async openShardStream(i: number): Promise<Stream> {
    const { streams } = this.opts;
    const key = shardStreamKey(this.config.kvPrefix, i);
    const raw = streams.kv.get(key);
    if (raw) {
      const id = Number(raw.toString('utf8'));
      if (!Number.isInteger(id) || id < 0) throw new Error(`KV ${key} holds "${raw.toString('utf8')}", not a stream id; restore it`);
      return streams.openStream(id);
    }
    // A crash between these two leaves an empty stream nothing refers to (a leak, not a loss).
    const stream = await streams.createStream();
    await streams.kv.put(key, Buffer.from(String(stream.id)));
    return stream;
  }

  /** Resolves once no shard is loading or unloading (e.g. the first loads after followLeadership). */
  async settled(): Promise<void> {
    for (;;) {
      const running = this.shardList.flatMap((s) => (s.running ? [s.running] : []));
      if (running.length === 0) return;
      await Promise.allSettled(running);
    }
  }

  /**
   * WAL room, for produce back-pressure: every stream of a client shares one WAL, so any open
   * shard log answers for all. Undefined when no shard is loaded here.
   */
  storageReady(): Promise<void> | undefined {
    for (const s of this.shardList) if (s.state === 'loaded') return s.stream!.ready();
    return undefined;
  }

  // ------------------------------------------------------------------ routing

  private route(groupId: string): Route {
    if (this.closed) return { error: ErrorCode.NOT_COORDINATOR };
    const s = this.shardList[this.shardOf(groupId)]!;
    switch (s.state) {
      case 'loaded':
        return { gc: s.coordinator! };
      case 'loading':
        return { error: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS };
      default:
        return { error: ErrorCode.NOT_COORDINATOR };
    }
  }

  /** Membership APIs check the group id before the coordinator (as Kafka does). */
  private routeMember(groupId: string): Route {
    return groupId === '' ? { error: ErrorCode.INVALID_GROUP_ID } : this.route(groupId);
  }

  joinGroup(req: JoinGroupRequest): Promise<JoinGroupResult> {
    const r = this.routeMember(req.groupId);
    if (r.gc) return r.gc.joinGroup(req);
    return Promise.resolve({
      errorCode: r.error,
      generationId: -1,
      protocolType: null,
      protocolName: null,
      leader: '',
      skipAssignment: false,
      memberId: req.memberId,
      members: [],
    });
  }

  syncGroup(req: SyncGroupRequest): Promise<SyncGroupResult> {
    const r = this.routeMember(req.groupId);
    if (r.gc) return r.gc.syncGroup(req);
    return Promise.resolve({ errorCode: r.error, protocolType: null, protocolName: null, assignment: EMPTY });
  }

  heartbeat(req: HeartbeatRequest): number {
    const r = this.routeMember(req.groupId);
    return r.gc ? r.gc.heartbeat(req) : r.error;
  }

  leaveGroup(groupId: string, members: readonly LeavingMember[]): LeaveGroupResult {
    const r = this.routeMember(groupId);
    return r.gc ? r.gc.leaveGroup(groupId, members) : { errorCode: r.error, members: [] };
  }

  /** One error code per partition, in request order, once the commit is durable. */
  commitOffsets(req: OffsetCommitRequest): Promise<number[]> {
    const r = this.route(req.groupId);
    if (r.gc) return r.gc.commitOffsets(req);
    return Promise.resolve(req.partitions.map(() => r.error));
  }

  fetchOffsets(groupId: string, topics: readonly { name: string; partitions: readonly number[] }[] | null): OffsetFetchResult {
    const r = this.route(groupId);
    return r.gc ? r.gc.fetchOffsets(groupId, topics) : { errorCode: r.error, topics: [] };
  }

  describeGroup(groupId: string): DescribedGroup {
    const r = this.route(groupId);
    if (r.gc) return r.gc.describeGroup(groupId);
    return { errorCode: r.error, groupId, groupState: '', protocolType: '', protocolData: '', members: [] };
  }

  /**
   * Groups of the shards loaded here (Kafka lists per broker too: clients ask every broker).
   * COORDINATOR_LOAD_IN_PROGRESS, with the groups listed so far, while a shard is loading.
   */
  listGroups(statesFilter: readonly string[] = []): { errorCode: number; groups: ListedGroup[] } {
    const groups: ListedGroup[] = [];
    let loading = false;
    for (const s of this.shardList) {
      if (s.state === 'loaded') groups.push(...s.coordinator!.listGroups(statesFilter));
      else if (s.state === 'loading') loading = true;
    }
    return { errorCode: loading ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE, groups };
  }

  deleteGroups(groupIds: readonly string[]): Promise<{ groupId: string; errorCode: number }[]> {
    return Promise.all(
      groupIds.map(async (groupId) => {
        const r = this.route(groupId);
        if (!r.gc) return { groupId, errorCode: r.error };
        const [result] = await r.gc.deleteGroups([groupId]);
        return result!;
      }),
    );
  }

  /** States a ListGroups filter may name. */
  static readonly states: readonly GroupState[] = GROUP_STATES;

  // ------------------------------------------------------------------ maintenance

  /** Snapshots every loaded shard (or one) and trims their logs. */
  async snapshotNow(shard?: number): Promise<void> {
    const shards = shard === undefined ? this.shardList : [this.shard(shard)];
    await Promise.all(shards.map((s) => (s.state === 'loaded' ? s.coordinator!.snapshotNow() : undefined)));
  }

  /** Store statistics of a loaded shard, undefined when it is not loaded here. */
  storeStats(shard: number): GroupStoreStats | undefined {
    const s = this.shard(shard);
    return s.state === 'loaded' ? s.coordinator!.storeStats() : undefined;
  }

  /** Runs offset expiry on every loaded shard now (normally periodic). */
  async expireOffsets(): Promise<void> {
    await Promise.all(this.shardList.map((s) => (s.state === 'loaded' ? s.coordinator!.expireOffsets() : undefined)));
  }

  /** Stops following leadership and unloads every shard with a final snapshot (an orderly stop). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.unfollow.splice(0)) off();
    await Promise.all(
      this.shardList.map((s) =>
        this.setTarget(s, { load: false, epoch: undefined, snapshot: true }).catch((e: unknown) =>
          this.log('warn', 'group shard unload at close failed', { shard: s.index, error: String(e) }),
        ),
      ),
    );
  }
}
