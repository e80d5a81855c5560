/**
 * The classic group coordinator of ONE group shard (JoinGroup/SyncGroup/Heartbeat/LeaveGroup,
 * offsets, admin) over that shard's log, following Apache Kafka's GroupCoordinator state machine.
 * coordinator.ts routes each group to the shard coordinator of its shard, loading and unloading
 * them as this broker gains and loses shard leadership.
 *
 *
 *   Empty -> PreparingRebalance -> CompletingRebalance -> Stable -> PreparingRebalance ...
 *                   \-> Empty (everyone left)                     any -> Dead (deleted)
 *
 * PreparingRebalance waits until every known member rejoined (or the rebalance timeout, the
 * largest member rebalance timeout, removes the dynamic ones that did not), then opens a new
 * generation: the leader gets all members' metadata and computes the assignment client-side;
 * SyncGroup from the leader persists it and answers every waiting member. Members that stop
 * heartbeating are removed after their session timeout, which starts a rebalance. Static members
 * (group.instance.id) keep their place and assignment across restarts of the client.
 *
 * Durability: offset commits and each generation's membership/assignment are appended to the
 * offsets log (store.ts) and answered only once durable. Live rebalance state is not persisted:
 * after a broker restart a group comes back with its last stable generation and members, whose
 * heartbeats carry on (or whose session timeouts start a rebalance).
 *
 * All timeouts go through the injected Timers and clock, so tests run without sleeping.
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../protocol/errors.js';
import { StreamFencedError, type KvStore, type Stream } from '../s3stream/api.js';
import { parseGroupCoordinatorConfig, type GroupCoordinatorConfig, type GroupCoordinatorConfigInput } from './config.js';
import { Group, Member, GROUP_STATES, type GroupState } from './group.js';
import type { CommittedPartition, GroupMetadataRecord, OffsetEntry } from './records.js';
import { GroupStore, type GroupStoreStats } from './store.js';
import { realTimers, toGroupLog, type CancelTimer, type GroupLog, type LoggerLike, type Timers } from './timers.js';
import type {
  DescribedGroup,
  FetchedOffset,
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


export interface GroupShardCoordinatorOptions {
  /** The offsets log: a dedicated S3Stream stream (see openOffsetsLog in store.ts). */
  readonly offsetLog: Stream;
  /** KV store for snapshots of the offsets log. */
  readonly kv: KvStore;
  /** Clock in ms. */
  readonly now: () => number;
  readonly timers?: Timers;
  /** A log function, or the broker's winston logger. */
  readonly log?: GroupLog | LoggerLike;
  readonly config?: GroupCoordinatorConfigInput;
  /** Random part of generated member ids (default: a UUID). */
  readonly randomId?: () => string;
}

const EMPTY = Buffer.alloc(0);
const OFFSET_NONE = -1n;

function joinError(memberId: string, errorCode: number): JoinGroupResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: '',
    skipAssignment: false,
    memberId,
    members: [],
  };
}

function syncError(errorCode: number): SyncGroupResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY };
}

/** Storage failures: fencing means another broker owns the log now. */
function storeErrorCode(e: unknown): number {
  return e instanceof StreamFencedError ? ErrorCode.NOT_COORDINATOR : ErrorCode.COORDINATOR_NOT_AVAILABLE;
}

/** Topics of a consumer-protocol subscription (version int16, then a classic []string). */
function subscribedTopics(metadata: Buffer): string[] | undefined {
  try {
    let pos = 2;
    const n = metadata.readInt32BE(pos);
    pos += 4;
    if (n < 0 || n * 2 > metadata.length - pos) return undefined;
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const len = metadata.readInt16BE(pos);
      pos += 2;
      if (len < 0 || pos + len > metadata.length) return undefined;
      out.push(metadata.toString('utf8', pos, pos + len));
      pos += len;
    }
    return out;
  } catch {
    return undefined;
  }
}

export class GroupShardCoordinator {
  private readonly groups = new Map<string, Group>();
  /** Groups with a commit in flight, so they are neither dropped as unused nor expired meanwhile. */
  private readonly pendingCommits = new Map<string, number>();
  private readonly timers: Timers;
  private readonly log: GroupLog;
  private readonly now: () => number;
  private readonly randomId: () => string;
  private closed = false;
  private retentionTimer: CancelTimer | undefined;
  private snapshotTimer: CancelTimer | undefined;
  private expiring: Promise<void> | undefined;

  private constructor(
    private readonly store: GroupStore,
    readonly config: GroupCoordinatorConfig,
    opts: GroupShardCoordinatorOptions,
  ) {
    this.timers = opts.timers ?? realTimers;
    this.log = toGroupLog(opts.log);
    this.now = opts.now;
    this.randomId = opts.randomId ?? randomUUID;
  }

  /**
   * Recovers committed offsets and group metadata (KV snapshot + offsets log tail) and starts
   * the periodic offset-expiry and snapshot timers.
   */
  static async load(opts: GroupShardCoordinatorOptions): Promise<GroupShardCoordinator> {
    const config = parseGroupCoordinatorConfig(opts.config);
    const store = await GroupStore.open({
      stream: opts.offsetLog,
      kv: opts.kv,
      log: toGroupLog(opts.log),
      kvPrefix: config.kvPrefix,
      snapshotEveryRecords: config.snapshotEveryRecords,
      snapshotChunkBytes: config.snapshotChunkBytes,
    });
    const c = new GroupShardCoordinator(store, config, opts);
    c.restoreGroups();
    c.scheduleRetentionCheck();
    c.scheduleSnapshot();
    return c;
  }

  private restoreGroups(): void {
    const now = this.now();
    for (const rec of this.store.persistedGroups().values()) {
      const g = new Group(rec.groupId, rec.stateTimestamp);
      g.generationId = rec.generationId;
      g.protocolType = rec.protocolType;
      g.protocolName = rec.protocolName;
      if (rec.members.length > 0 && rec.protocolName !== null) {
        for (const m of rec.members) {
          const member = new Member(
            m.memberId,
            m.groupInstanceId,
            m.clientId,
            m.clientHost,
            m.rebalanceTimeoutMs,
            m.sessionTimeoutMs,
            rec.protocolType ?? '',
            [{ name: rec.protocolName, metadata: m.subscription }],
          );
          member.assignment = m.assignment;
          g.add(member);
        }
        if (rec.leaderId !== null && g.has(rec.leaderId)) g.leaderId = rec.leaderId;
        g.state = 'Stable';
        for (const m of g.members.values()) this.scheduleHeartbeat(g, m);
      }
      this.groups.set(rec.groupId, g);
    }
    for (const groupId of this.store.groupsWithOffsets()) {
      if (!this.groups.has(groupId)) this.groups.set(groupId, new Group(groupId, now));
    }
  }

  // ------------------------------------------------------------------ JoinGroup

  /** Resolves when the member's join completes: a new generation, or an error. */
  joinGroup(req: JoinGroupRequest): Promise<JoinGroupResult> {
    return new Promise<JoinGroupResult>((resolve) => {
      if (this.closed) return resolve(joinError(req.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
      if (req.groupId === '') return resolve(joinError(req.memberId, ErrorCode.INVALID_GROUP_ID));
      if (req.sessionTimeoutMs < this.config.minSessionTimeoutMs || req.sessionTimeoutMs > this.config.maxSessionTimeoutMs) {
        return resolve(joinError(req.memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
      }
      const isUnknownMember = req.memberId === '';
      let group = this.groups.get(req.groupId);
      if (!group) {
        if (!isUnknownMember) return resolve(joinError(req.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
        group = new Group(req.groupId, this.now());
        this.groups.set(req.groupId, group);
      }
      const normalized: JoinGroupRequest = {
        ...req,
        rebalanceTimeoutMs: req.rebalanceTimeoutMs > 0 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
      };
      if (!this.acceptJoiningMember(group, req.memberId)) {
        resolve(joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED));
      } else if (isUnknownMember) {
        this.doNewMemberJoin(group, normalized, resolve);
      } else {
        this.doCurrentMemberJoin(group, normalized, resolve);
      }
      if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
      this.maybeDropUnusedGroup(group);
    });
  }

  private acceptJoiningMember(group: Group, memberId: string): boolean {
    const max = this.config.groupMaxSize;
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return true;
      case 'PreparingRebalance':
        return (group.has(memberId) && group.get(memberId).awaitingJoin !== undefined) || group.numMembersAwaitingJoin < max;
      case 'CompletingRebalance':
      case 'Stable':
        return group.has(memberId) || group.size < max;
    }
  }

  private doNewMemberJoin(group: Group, req: JoinGroupRequest, respond: (r: JoinGroupResult) => void): void {
    if (group.is('Dead')) return respond(joinError(req.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!group.supportsProtocols(req.protocolType, req.protocols)) {
      return respond(joinError(req.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    const newMemberId = `${req.groupInstanceId ?? req.clientId}-${this.randomId()}`;
    if (req.groupInstanceId !== null) {
      this.doStaticMemberJoin(group, newMemberId, req, respond);
    } else if (req.requireKnownMemberId) {
      // KIP-394: the member must come back with this id; until then it holds up the rebalance.
      group.pendingMembers.set(
        newMemberId,
        this.timers.schedule(req.sessionTimeoutMs, () => this.removePendingMember(group, newMemberId)),
      );
      respond(joinError(newMemberId, ErrorCode.MEMBER_ID_REQUIRED));
    } else {
      this.addMemberAndRebalance(group, newMemberId, req, respond);
    }
  }

  private doStaticMemberJoin(group: Group, newMemberId: string, req: JoinGroupRequest, respond: (r: JoinGroupResult) => void): void {
    const instanceId = req.groupInstanceId!;
    const oldMemberId = group.staticMemberId(instanceId);
    if (oldMemberId === undefined) return this.addMemberAndRebalance(group, newMemberId, req, respond);
    this.log('info', 'static member rejoins with a new member id; replacing the old one', {
      groupId: group.groupId,
      groupInstanceId: instanceId,
      oldMemberId,
      newMemberId,
      state: group.state,
    });
    const currentLeader = group.leaderId;
    const member = group.get(oldMemberId);
    // Fence whoever still waits with the old id: only one process may own an instance id.
    group.invokeJoin(member, joinError(oldMemberId, ErrorCode.FENCED_INSTANCE_ID));
    group.invokeSync(member, syncError(ErrorCode.FENCED_INSTANCE_ID));
    group.replaceStaticMember(instanceId, oldMemberId, newMemberId);
    group.updateMember(member, req.protocols, req.rebalanceTimeoutMs, req.sessionTimeoutMs, respond);
    this.scheduleHeartbeat(group, member);

    switch (group.state) {
      case 'Stable': {
        if (group.selectProtocol() !== group.protocolName) {
          this.maybePrepareRebalance(group, `static member ${instanceId} changed the selected protocol`);
          return;
        }
        // No rebalance: the member keeps its assignment. The new member id must be durable first,
        // or after a broker restart the old id would come back and fence this member.
        const generation = group.generationId;
        const answer = (r: JoinGroupResult): void => {
          if (group.is('Stable') && group.generationId === generation && group.members.get(newMemberId) === member) {
            group.invokeJoin(member, r);
          }
        };
        this.store.write({ type: 'groupMetadata', group: this.groupRecord(group) }).then(
          () => {
            const isLeader = group.isLeader(newMemberId);
            const skip = isLeader && req.supportSkippingAssignment;
            answer({
              errorCode: ErrorCode.NONE,
              generationId: group.generationId,
              protocolType: group.protocolType,
              protocolName: group.protocolName,
              // Older clients must not see themselves as leader, or they would reassign.
              leader: (req.supportSkippingAssignment ? group.leaderId : currentLeader) ?? '',
              skipAssignment: skip,
              memberId: newMemberId,
              members: skip ? group.currentMemberMetadata() : [],
            });
          },
          (e: unknown) => answer(joinError(newMemberId, storeErrorCode(e))),
        );
        return;
      }
      case 'CompletingRebalance':
        // The leader may already be assigning to the old id: redo the rebalance.
        this.prepareRebalance(group, `static member ${instanceId} rejoined during CompletingRebalance`);
        return;
      default:
        // PreparingRebalance: the member simply takes part in the rebalance under its new id.
        return;
    }
  }

  private doCurrentMemberJoin(group: Group, req: JoinGroupRequest, respond: (r: JoinGroupResult) => void): void {
    const memberId = req.memberId;
    if (group.is('Dead')) return respond(joinError(memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!group.supportsProtocols(req.protocolType, req.protocols)) {
      return respond(joinError(memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    if (group.isPendingMember(memberId)) {
      group.pendingMembers.get(memberId)!();
      // Pending members are always dynamic: static ones never get MEMBER_ID_REQUIRED.
      return this.addMemberAndRebalance(group, memberId, { ...req, groupInstanceId: null }, respond);
    }
    if (group.isStaticMemberFenced(req.groupInstanceId, memberId)) {
      return respond(joinError(memberId, ErrorCode.FENCED_INSTANCE_ID));
    }
    if (!group.has(memberId) || (req.groupInstanceId !== null && !group.hasStaticMember(req.groupInstanceId))) {
      return respond(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
    const member = group.get(memberId);
    switch (group.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(group, member, req, respond, 'member rejoined during PreparingRebalance');
      case 'CompletingRebalance':
        if (member.matches(req.protocols)) {
          // Same metadata: probably a retry after a lost JoinGroup response.
          return respond(this.currentGenerationResult(group, memberId, group.isLeader(memberId)));
        }
        return this.updateMemberAndRebalance(group, member, req, respond, 'member metadata changed during CompletingRebalance');
      case 'Stable':
        if (group.isLeader(memberId)) {
          // The leader rejoins to make the group reassign (e.g. topic metadata changed).
          return this.updateMemberAndRebalance(group, member, req, respond, 'leader rejoined');
        }
        if (!member.matches(req.protocols)) {
          return this.updateMemberAndRebalance(group, member, req, respond, 'member metadata changed');
        }
        return respond(this.currentGenerationResult(group, memberId, false));
      case 'Empty':
      case 'Dead':
        return respond(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  private currentGenerationResult(group: Group, memberId: string, withMembers: boolean): JoinGroupResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? '',
      skipAssignment: false,
      memberId,
      members: withMembers ? group.currentMemberMetadata() : [],
    };
  }

  private addMemberAndRebalance(group: Group, memberId: string, req: JoinGroupRequest, respond: (r: JoinGroupResult) => void): void {
    const member = new Member(
      memberId,
      req.groupInstanceId,
      req.clientId,
      req.clientHost,
      req.rebalanceTimeoutMs,
      req.sessionTimeoutMs,
      req.protocolType,
      req.protocols,
    );
    member.isNew = true;
    if (group.is('PreparingRebalance') && group.generationId === 0) group.newMemberAdded = true;
    group.add(member, respond);
    // A new member cannot heartbeat before it has its id, so its JoinGroup is bounded by a
    // separate timeout instead of the session timeout.
    this.scheduleHeartbeat(group, member, this.config.newMemberJoinTimeoutMs);
    this.maybePrepareRebalance(group, `member ${memberId} joined${req.reason ? ` (${req.reason})` : ''}`);
  }

  private updateMemberAndRebalance(
    group: Group,
    member: Member,
    req: JoinGroupRequest,
    respond: (r: JoinGroupResult) => void,
    reason: string,
  ): void {
    // A second JoinGroup for the same member (the client gave up on the first): answer the old one.
    group.invokeJoin(member, joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    group.updateMember(member, req.protocols, req.rebalanceTimeoutMs, req.sessionTimeoutMs, respond);
    this.maybePrepareRebalance(group, reason);
  }

  private maybePrepareRebalance(group: Group, reason: string): void {
    if (group.canRebalance()) this.prepareRebalance(group, reason);
  }

  private prepareRebalance(group: Group, reason: string): void {
    if (group.is('CompletingRebalance')) this.resetAndPropagateAssignmentError(group, ErrorCode.REBALANCE_IN_PROGRESS);
    this.cancelSyncTimer(group);
    const wasEmpty = group.is('Empty');
    group.transitionTo('PreparingRebalance', this.now());
    this.cancelJoinTimer(group);
    this.log('info', 'preparing to rebalance group', { groupId: group.groupId, generationId: group.generationId, reason });
    const delay = this.config.initialRebalanceDelayMs;
    if (wasEmpty && delay > 0) {
      // Give more members of a starting group the chance to join one first generation.
      group.inInitialDelay = true;
      group.newMemberAdded = false;
      group.initialDelayRemainingMs = Math.max(group.rebalanceTimeoutMs() - delay, 0);
      group.joinTimer = this.timers.schedule(delay, () => this.onInitialDelayExpired(group));
    } else {
      group.inInitialDelay = false;
      group.joinTimer = this.timers.schedule(group.rebalanceTimeoutMs(), () => this.onCompleteJoin(group));
      this.tryCompleteJoin(group);
    }
  }

  private onInitialDelayExpired(group: Group): void {
    group.joinTimer = undefined;
    if (!group.is('PreparingRebalance') || !group.inInitialDelay) return;
    if (group.newMemberAdded && group.initialDelayRemainingMs > 0) {
      group.newMemberAdded = false;
      const delay = Math.min(this.config.initialRebalanceDelayMs, group.initialDelayRemainingMs);
      group.initialDelayRemainingMs = Math.max(group.initialDelayRemainingMs - delay, 0);
      group.joinTimer = this.timers.schedule(delay, () => this.onInitialDelayExpired(group));
      return;
    }
    this.onCompleteJoin(group);
  }

  private tryCompleteJoin(group: Group): void {
    if (group.is('PreparingRebalance') && !group.inInitialDelay && group.hasAllMembersJoined()) this.onCompleteJoin(group);
  }

  private onCompleteJoin(group: Group): void {
    this.cancelJoinTimer(group);
    group.inInitialDelay = false;
    if (!group.is('PreparingRebalance')) return;
    // Dynamic members that did not rejoin in time are gone; static ones keep their place.
    for (const m of group.notYetRejoinedMembers()) {
      if (m.isStatic) continue;
      this.log('info', 'removing member that did not rejoin in time', { groupId: group.groupId, memberId: m.memberId });
      this.removeMember(group, m, ErrorCode.UNKNOWN_MEMBER_ID);
    }
    if (!group.maybeElectNewJoinedLeader() && group.size > 0) {
      // Only static members that have not rejoined remain: wait for them or their session timeouts.
      this.log('warn', 'no member rejoined the group; waiting another rebalance timeout', { groupId: group.groupId });
      group.joinTimer = this.timers.schedule(group.rebalanceTimeoutMs(), () => this.onCompleteJoin(group));
      return;
    }
    group.initNextGeneration(this.now());
    if (group.is('Empty')) {
      this.log('info', 'group is now empty', { groupId: group.groupId, generationId: group.generationId });
      this.store.write({ type: 'groupMetadata', group: this.groupRecord(group) }).catch((e: unknown) =>
        this.log('warn', 'failed to persist empty group metadata', { groupId: group.groupId, error: String(e) }),
      );
      return;
    }
    this.log('info', 'group generation complete, waiting for the leader assignment', {
      groupId: group.groupId,
      generationId: group.generationId,
      protocol: group.protocolName,
      members: group.size,
      leader: group.leaderId,
    });
    for (const m of group.members.values()) {
      group.invokeJoin(m, this.currentGenerationResult(group, m.memberId, group.isLeader(m.memberId)));
      this.scheduleHeartbeat(group, m);
      m.isNew = false;
      group.pendingSyncMembers.add(m.memberId);
    }
    this.schedulePendingSync(group);
  }

  private schedulePendingSync(group: Group): void {
    this.cancelSyncTimer(group);
    const generation = group.generationId;
    group.syncTimer = this.timers.schedule(group.rebalanceTimeoutMs(), () => {
      group.syncTimer = undefined;
      if (group.generationId !== generation || !(group.is('CompletingRebalance') || group.is('Stable'))) return;
      if (group.pendingSyncMembers.size === 0) return;
      const missing = [...group.pendingSyncMembers];
      this.log('info', 'removing members that did not send SyncGroup in time', { groupId: group.groupId, members: missing });
      for (const id of missing) {
        const m = group.members.get(id);
        if (m) this.removeMember(group, m, ErrorCode.UNKNOWN_MEMBER_ID);
      }
      this.prepareRebalance(group, `members ${missing.join(', ')} did not sync in time`);
    });
  }

  // ------------------------------------------------------------------ SyncGroup

  /** Resolves with the member's assignment once the leader's SyncGroup is durable. */
  syncGroup(req: SyncGroupRequest): Promise<SyncGroupResult> {
    return new Promise<SyncGroupResult>((resolve) => {
      if (this.closed) return resolve(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
      if (req.groupId === '') return resolve(syncError(ErrorCode.INVALID_GROUP_ID));
      const group = this.groups.get(req.groupId);
      if (!group) return resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      const err = this.validateSync(group, req);
      if (err !== ErrorCode.NONE) return resolve(syncError(err));
      switch (group.state) {
        case 'Empty':
          return resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
        case 'PreparingRebalance':
          return resolve(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        case 'Dead':
          return resolve(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
        case 'Stable': {
          this.removePendingSyncMember(group, req.memberId);
          const member = group.get(req.memberId);
          resolve({ errorCode: ErrorCode.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment });
          this.scheduleHeartbeat(group, member);
          return;
        }
        case 'CompletingRebalance': {
          const member = group.get(req.memberId);
          group.invokeSync(member, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
          member.awaitingSync = resolve;
          this.removePendingSyncMember(group, req.memberId);
          if (group.isLeader(req.memberId)) this.completeSync(group, req);
          return;
        }
      }
    });
  }

  private validateSync(group: Group, req: SyncGroupRequest): number {
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (group.isStaticMemberFenced(req.groupInstanceId, req.memberId)) return ErrorCode.FENCED_INSTANCE_ID;
    if (!group.has(req.memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (req.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    if (req.protocolType !== null && req.protocolType !== group.protocolType) return ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
    if (req.protocolName !== null && req.protocolName !== group.protocolName) return ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
    return ErrorCode.NONE;
  }

  private completeSync(group: Group, req: SyncGroupRequest): void {
    const assignments = new Map<string, Buffer>();
    for (const a of req.assignments) assignments.set(a.memberId, a.assignment);
    const missing = [...group.members.keys()].filter((id) => !assignments.has(id));
    if (missing.length > 0) {
      this.log('warn', 'leader sent no assignment for some members; they get an empty one', { groupId: group.groupId, members: missing });
    }
    const generation = group.generationId;
    this.store.write({ type: 'groupMetadata', group: this.groupRecord(group, assignments, 'Stable') }).then(
      () => {
        if (!group.is('CompletingRebalance') || group.generationId !== generation) return;
        for (const m of group.members.values()) m.assignment = assignments.get(m.memberId) ?? EMPTY;
        group.transitionTo('Stable', this.now());
        this.propagateAssignment(group, ErrorCode.NONE);
        this.log('info', 'group is stable', { groupId: group.groupId, generationId: generation, members: group.size });
      },
      (e: unknown) => {
        if (!group.is('CompletingRebalance') || group.generationId !== generation) return;
        this.log('warn', 'failed to persist group assignment; rebalancing', { groupId: group.groupId, error: String(e) });
        this.resetAndPropagateAssignmentError(group, storeErrorCode(e));
        this.maybePrepareRebalance(group, 'failed to persist the assignment');
      },
    );
  }

  private propagateAssignment(group: Group, errorCode: number): void {
    for (const m of group.members.values()) {
      if (!m.awaitingSync) continue;
      group.invokeSync(
        m,
        errorCode === ErrorCode.NONE
          ? { errorCode, protocolType: group.protocolType, protocolName: group.protocolName, assignment: m.assignment }
          : syncError(errorCode),
      );
      // Session expiries were ignored while the member waited: start its session clock again.
      this.scheduleHeartbeat(group, m);
    }
  }

  private resetAndPropagateAssignmentError(group: Group, errorCode: number): void {
    for (const m of group.members.values()) m.assignment = EMPTY;
    this.propagateAssignment(group, errorCode);
  }

  private removePendingSyncMember(group: Group, memberId: string): void {
    group.pendingSyncMembers.delete(memberId);
    if (group.pendingSyncMembers.size === 0) this.cancelSyncTimer(group);
  }

  // ------------------------------------------------------------------ Heartbeat / LeaveGroup

  heartbeat(req: HeartbeatRequest): number {
    if (this.closed) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (req.groupId === '') return ErrorCode.INVALID_GROUP_ID;
    const group = this.groups.get(req.groupId);
    if (!group) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const err = this.validateCurrentMember(group, req.memberId, req.groupInstanceId);
    if (err !== ErrorCode.NONE) return err;
    if (req.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    switch (group.state) {
      case 'Empty':
        return ErrorCode.UNKNOWN_MEMBER_ID;
      case 'PreparingRebalance':
        this.scheduleHeartbeat(group, group.get(req.memberId));
        return ErrorCode.REBALANCE_IN_PROGRESS;
      case 'CompletingRebalance':
      case 'Stable':
        this.scheduleHeartbeat(group, group.get(req.memberId));
        return ErrorCode.NONE;
      case 'Dead':
        return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
  }

  private validateCurrentMember(group: Group, memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      if (!group.hasStaticMember(groupInstanceId)) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (group.isStaticMemberFenced(groupInstanceId, memberId)) return ErrorCode.FENCED_INSTANCE_ID;
      return ErrorCode.NONE;
    }
    return group.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  /**
   * Removes members (by member id, or by instance id alone for administrative removal).
   * The top-level error is for the whole request; each member has its own.
   */
  leaveGroup(groupId: string, members: readonly LeavingMember[]): LeaveGroupResult {
    if (this.closed) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] };
    const result = (m: LeavingMember, errorCode: number) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode });
    const group = this.groups.get(groupId);
    if (!group) return { errorCode: ErrorCode.NONE, members: members.map((m) => result(m, ErrorCode.UNKNOWN_MEMBER_ID)) };
    if (group.is('Dead')) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    const out = members.map((m) => {
      if (m.memberId === '') {
        const current = m.groupInstanceId !== null ? group.staticMemberId(m.groupInstanceId) : undefined;
        if (current === undefined) return result(m, ErrorCode.UNKNOWN_MEMBER_ID);
        this.removeMemberAndUpdateGroup(group, group.get(current), `static member ${m.groupInstanceId} removed by LeaveGroup`);
        return result(m, ErrorCode.NONE);
      }
      if (group.isPendingMember(m.memberId)) {
        this.removePendingMember(group, m.memberId);
        return result(m, ErrorCode.NONE);
      }
      const err = this.validateCurrentMember(group, m.memberId, m.groupInstanceId);
      if (err !== ErrorCode.NONE) return result(m, err);
      this.removeMemberAndUpdateGroup(group, group.get(m.memberId), `member ${m.memberId} left${m.reason ? ` (${m.reason})` : ''}`);
      return result(m, ErrorCode.NONE);
    });
    return { errorCode: ErrorCode.NONE, members: out };
  }

  // ------------------------------------------------------------------ membership helpers

  private scheduleHeartbeat(group: Group, member: Member, timeoutMs = member.sessionTimeoutMs): void {
    member.heartbeatTimer?.();
    member.heartbeatTimer = this.timers.schedule(timeoutMs, () => {
      member.heartbeatTimer = undefined;
      this.onExpireHeartbeat(group, member);
    });
  }

  private onExpireHeartbeat(group: Group, member: Member): void {
    if (this.closed || group.is('Dead') || group.members.get(member.memberId) !== member) return;
    // Members waiting for a rebalance answer satisfy their heartbeats, except new members, whose
    // JoinGroup is bounded by the new-member join timeout.
    if (!member.isNew && (member.awaitingJoin || member.awaitingSync)) return;
    this.log('info', 'member session expired; removing it from the group', {
      groupId: group.groupId,
      memberId: member.memberId,
      sessionTimeoutMs: member.sessionTimeoutMs,
    });
    this.removeMemberAndUpdateGroup(group, member, `member ${member.memberId} session expired`);
  }

  /** Removes a member and answers whatever it still waits for. */
  private removeMember(group: Group, member: Member, errorCode: number): void {
    group.invokeJoin(member, joinError('', errorCode));
    group.invokeSync(member, syncError(errorCode));
    member.heartbeatTimer?.();
    member.heartbeatTimer = undefined;
    group.remove(member.memberId);
  }

  private removeMemberAndUpdateGroup(group: Group, member: Member, reason: string): void {
    this.removeMember(group, member, ErrorCode.UNKNOWN_MEMBER_ID);
    switch (group.state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.maybePrepareRebalance(group, reason);
        return;
      case 'PreparingRebalance':
        this.tryCompleteJoin(group);
        return;
      default:
        return;
    }
  }

  private removePendingMember(group: Group, memberId: string): void {
    const cancel = group.pendingMembers.get(memberId);
    if (!cancel) return;
    cancel();
    group.pendingMembers.delete(memberId);
    if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
    this.maybeDropUnusedGroup(group);
  }

  /** A group that never had a generation, members, offsets or persisted metadata is forgotten at once. */
  private maybeDropUnusedGroup(group: Group): void {
    if (
      group.is('Empty') &&
      group.generationId === 0 &&
      group.size === 0 &&
      group.pendingMembers.size === 0 &&
      !this.store.hasOffsets(group.groupId) &&
      !this.store.persistedGroups().has(group.groupId) &&
      this.groups.get(group.groupId) === group &&
      !this.pendingCommits.has(group.groupId)
    ) {
      this.groups.delete(group.groupId);
    }
  }

  private cancelJoinTimer(group: Group): void {
    group.joinTimer?.();
    group.joinTimer = undefined;
  }

  private cancelSyncTimer(group: Group): void {
    group.syncTimer?.();
    group.syncTimer = undefined;
  }

  private groupRecord(group: Group, assignments?: ReadonlyMap<string, Buffer>, state: GroupState = group.state): GroupMetadataRecord {
    const members =
      state === 'Empty' || group.protocolName === null
        ? []
        : [...group.members.values()].map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            rebalanceTimeoutMs: m.rebalanceTimeoutMs,
            sessionTimeoutMs: m.sessionTimeoutMs,
            subscription: m.metadata(group.protocolName!),
            assignment: assignments ? (assignments.get(m.memberId) ?? EMPTY) : m.assignment,
          }));
    return {
      groupId: group.groupId,
      protocolType: group.protocolType,
      generationId: group.generationId,
      protocolName: group.protocolName,
      leaderId: group.leaderId,
      stateTimestamp: state === group.state ? group.stateTimestamp : this.now(),
      members,
    };
  }

  // ------------------------------------------------------------------ offsets

  /**
   * Commits offsets; resolves with one error code per partition, in request order, once the
   * commit is durable. Topic existence is the caller's check (the coordinator does not know topics).
   */
  async commitOffsets(req: OffsetCommitRequest): Promise<number[]> {
    const all = (code: number): number[] => req.partitions.map(() => code);
    if (this.closed) return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    let group = this.groups.get(req.groupId);
    if (!group) {
      // No group management: a simple consumer storing offsets. Anything else comes from an
      // older generation of a group that no longer exists.
      if (req.generationId >= 0) return all(ErrorCode.ILLEGAL_GENERATION);
      group = new Group(req.groupId, this.now());
      this.groups.set(req.groupId, group);
    }
    const err = this.validateOffsetCommit(group, req);
    if (err !== ErrorCode.NONE) return all(err);
    switch (group.state) {
      case 'CompletingRebalance':
        // The member has the new generation but no assignment yet.
        return all(ErrorCode.REBALANCE_IN_PROGRESS);
      case 'Stable':
      case 'PreparingRebalance':
        this.scheduleHeartbeat(group, group.get(this.memberIdFor(group, req)));
        break;
      default:
        break;
    }
    const codes = all(ErrorCode.NONE);
    const now = this.now();
    const partitions: CommittedPartition[] = [];
    const indexes: number[] = [];
    req.partitions.forEach((p, i) => {
      const metadata = p.metadata ?? '';
      if (Buffer.byteLength(metadata, 'utf8') > this.config.offsetMetadataMaxBytes) {
        codes[i] = ErrorCode.OFFSET_METADATA_TOO_LARGE;
        return;
      }
      const commitTimestamp = p.commitTimestamp >= 0 ? p.commitTimestamp : now;
      partitions.push({
        topic: p.topic,
        partition: p.partition,
        offset: p.offset,
        leaderEpoch: p.leaderEpoch,
        metadata,
        commitTimestamp,
        expireTimestamp: req.retentionTimeMs >= 0 ? commitTimestamp + req.retentionTimeMs : -1,
      });
      indexes.push(i);
    });
    if (partitions.length === 0) return codes;
    const groupId = req.groupId;
    this.pendingCommits.set(groupId, (this.pendingCommits.get(groupId) ?? 0) + 1);
    try {
      await this.store.write({ type: 'offsetCommit', groupId, partitions });
    } catch (e) {
      this.log('warn', 'offset commit failed to persist', { groupId, error: String(e) });
      for (const i of indexes) codes[i] = storeErrorCode(e);
    } finally {
      const n = this.pendingCommits.get(groupId)! - 1;
      if (n === 0) this.pendingCommits.delete(groupId);
      else this.pendingCommits.set(groupId, n);
    }
    if (this.groups.get(groupId) === group) this.maybeDropUnusedGroup(group);
    return codes;
  }

  private memberIdFor(group: Group, req: { memberId: string; groupInstanceId: string | null }): string {
    return req.groupInstanceId !== null ? (group.staticMemberId(req.groupInstanceId) ?? req.memberId) : req.memberId;
  }

  private validateOffsetCommit(group: Group, req: OffsetCommitRequest): number {
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (req.generationId >= 0 || req.memberId !== '' || req.groupInstanceId !== null) {
      const err = this.validateCurrentMember(group, req.memberId, req.groupInstanceId);
      if (err !== ErrorCode.NONE) return err;
      return req.generationId === group.generationId ? ErrorCode.NONE : ErrorCode.ILLEGAL_GENERATION;
    }
    // Outside group management only an empty group accepts commits.
    return group.is('Empty') ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  /**
   * Committed offsets of a group: the requested partitions (-1 for none committed), or all of
   * them when `topics` is null. Works for any group id, existing or not.
   */
  fetchOffsets(groupId: string, topics: readonly { name: string; partitions: readonly number[] }[] | null): OffsetFetchResult {
    if (this.closed) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, topics: [] };
    const committed = this.store.offsetsOf(groupId);
    const entry = (partitionIndex: number, e: OffsetEntry | undefined): FetchedOffset =>
      e
        ? { partitionIndex, committedOffset: e.offset, committedLeaderEpoch: e.leaderEpoch, metadata: e.metadata, errorCode: ErrorCode.NONE }
        : { partitionIndex, committedOffset: OFFSET_NONE, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE };
    if (topics === null) {
      const out: { name: string; partitions: FetchedOffset[] }[] = [];
      for (const [name, parts] of [...(committed ?? new Map<string, ReadonlyMap<number, OffsetEntry>>())].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
        out.push({ name, partitions: [...parts].sort((a, b) => a[0] - b[0]).map(([p, e]) => entry(p, e)) });
      }
      return { errorCode: ErrorCode.NONE, topics: out };
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => entry(p, committed?.get(t.name)?.get(p))) })),
    };
  }

  /**
   * Removes expired offsets (Kafka's rules: an empty group's offsets expire `offsetsRetentionMs`
   * after it became empty; a simple consumer's after each commit; a stable consumer group's
   * only for topics it no longer subscribes to), then forgets empty groups left without offsets.
   */
  async expireOffsets(): Promise<void> {
    if (this.closed) return;
    const now = this.now();
    const retention = this.config.offsetsRetentionMs;
    const writes: Promise<void>[] = [];
    for (const group of [...this.groups.values()]) {
      const offsets = this.store.offsetsOf(group.groupId);
      if (offsets && !this.pendingCommits.has(group.groupId)) {
        let base: ((e: OffsetEntry) => number) | undefined;
        let keepTopics: ReadonlySet<string> = new Set();
        if (group.protocolType === null || group.protocolType === '') {
          if (group.is('Empty')) base = (e) => e.commitTimestamp;
        } else if (group.is('Empty')) {
          base = () => group.stateTimestamp;
        } else if (group.protocolType === 'consumer' && group.is('Stable') && group.protocolName !== null) {
          const subscribed = new Set<string>();
          let known = true;
          for (const m of group.members.values()) {
            const topics = subscribedTopics(m.metadata(group.protocolName));
            if (!topics) known = false;
            else for (const t of topics) subscribed.add(t);
          }
          if (known) {
            base = (e) => e.commitTimestamp;
            keepTopics = subscribed;
          }
        }
        if (base) {
          const expired: { topic: string; partition: number }[] = [];
          for (const [topic, parts] of offsets) {
            if (keepTopics.has(topic)) continue;
            for (const [partition, e] of parts) {
              const due = e.expireTimestamp >= 0 ? now >= e.expireTimestamp : now - base(e) >= retention;
              if (due) expired.push({ topic, partition });
            }
          }
          if (expired.length > 0) {
            this.log('info', 'expiring committed offsets', { groupId: group.groupId, partitions: expired.length });
            writes.push(this.store.write({ type: 'offsetDelete', groupId: group.groupId, partitions: expired }));
          }
        }
      }
    }
    const results = await Promise.allSettled(writes);
    for (const r of results) if (r.status === 'rejected') this.log('warn', 'failed to persist offset expiry', { error: String(r.reason) });
    const tombstones: Promise<void>[] = [];
    for (const group of [...this.groups.values()]) {
      if (
        group.is('Empty') &&
        group.size === 0 &&
        group.pendingMembers.size === 0 &&
        !this.store.hasOffsets(group.groupId) &&
        !this.pendingCommits.has(group.groupId)
      ) {
        group.transitionTo('Dead', now);
        this.groups.delete(group.groupId);
        if (this.store.persistedGroups().has(group.groupId)) {
          tombstones.push(this.store.write({ type: 'groupTombstone', groupId: group.groupId }));
        }
      }
    }
    for (const r of await Promise.allSettled(tombstones)) {
      if (r.status === 'rejected') this.log('warn', 'failed to persist group removal', { error: String(r.reason) });
    }
  }

  // Periodic work is rescheduled when it starts (a fixed period), and skipped while the previous
  // run is still going.
  private scheduleRetentionCheck(): void {
    const every = this.config.offsetsRetentionCheckIntervalMs;
    if (every <= 0 || this.closed) return;
    this.retentionTimer = this.timers.schedule(every, () => {
      this.scheduleRetentionCheck();
      if (this.expiring) return;
      this.expiring = this.expireOffsets()
        .catch((e: unknown) => this.log('warn', 'offset expiry failed', { error: String(e) }))
        .finally(() => {
          this.expiring = undefined;
        });
    });
  }

  private scheduleSnapshot(): void {
    const every = this.config.snapshotIntervalMs;
    if (every <= 0 || this.closed) return;
    this.snapshotTimer = this.timers.schedule(every, () => {
      this.scheduleSnapshot();
      if (!this.store.dirty) return;
      this.store.snapshot().catch((e: unknown) => this.log('warn', 'group coordinator snapshot failed', { error: String(e) }));
    });
  }

  /** Snapshots the durable state to the KV store and trims the offsets log. */
  snapshotNow(): Promise<void> {
    return this.store.snapshot();
  }

  storeStats(): GroupStoreStats {
    return this.store.stats();
  }

  // ------------------------------------------------------------------ admin

  /** Groups (not Dead), optionally only those in the given states (case-insensitive). */
  listGroups(statesFilter: readonly string[] = []): ListedGroup[] {
    if (this.closed) return [];
    const wanted = new Set(statesFilter.map((s) => s.toLowerCase()));
    const out: ListedGroup[] = [];
    for (const g of this.groups.values()) {
      if (g.is('Dead')) continue;
      if (wanted.size > 0 && !wanted.has(g.state.toLowerCase())) continue;
      out.push({ groupId: g.groupId, protocolType: g.protocolType ?? '', groupState: g.state });
    }
    return out;
  }

  /** A group's state and members; an unknown group is reported as Dead with no error (as Kafka does up to v5). */
  describeGroup(groupId: string): DescribedGroup {
    const base = { groupId, protocolType: '', protocolData: '', members: [] };
    if (this.closed) return { ...base, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groupState: '' };
    const g = this.groups.get(groupId);
    if (!g) return { ...base, errorCode: ErrorCode.NONE, groupState: 'Dead' };
    const stable = g.is('Stable') && g.protocolName !== null;
    return {
      errorCode: ErrorCode.NONE,
      groupId,
      groupState: g.state,
      protocolType: g.protocolType ?? '',
      protocolData: stable ? g.protocolName! : '',
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: stable ? m.metadata(g.protocolName!) : EMPTY,
        memberAssignment: stable ? m.assignment : EMPTY,
      })),
    };
  }

  /** Deletes empty groups with their offsets; resolves once the deletions are durable. */
  async deleteGroups(groupIds: readonly string[]): Promise<{ groupId: string; errorCode: number }[]> {
    const now = this.now();
    const results = groupIds.map(async (groupId) => {
      if (this.closed) return { groupId, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
      const g = this.groups.get(groupId);
      if (!g || g.is('Dead')) return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND };
      if (!g.is('Empty')) return { groupId, errorCode: ErrorCode.NON_EMPTY_GROUP };
      for (const cancel of g.pendingMembers.values()) cancel();
      g.pendingMembers.clear();
      g.transitionTo('Dead', now);
      this.groups.delete(groupId);
      try {
        await this.store.write({ type: 'groupTombstone', groupId });
        this.log('info', 'group deleted', { groupId });
        return { groupId, errorCode: ErrorCode.NONE };
      } catch (e) {
        return { groupId, errorCode: storeErrorCode(e) };
      }
    });
    return Promise.all(results);
  }

  /** States a ListGroups filter may name. */
  static readonly states: readonly GroupState[] = GROUP_STATES;

  /**
   * Stops timers, answers every waiting JoinGroup/SyncGroup with NOT_COORDINATOR (clients then
   * find the coordinator again), waits for in-flight writes and, unless told not to, writes a
   * final snapshot. Does not close the offsets log stream: the caller owns it.
   *
   * `snapshot: false` is for giving up a shard another broker may already have taken over: a
   * snapshot written then could replace a newer one of the new owner.
   */
  async close(opts: { snapshot?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.retentionTimer?.();
    this.snapshotTimer?.();
    for (const g of this.groups.values()) {
      this.cancelJoinTimer(g);
      this.cancelSyncTimer(g);
      for (const cancel of g.pendingMembers.values()) cancel();
      for (const m of g.members.values()) {
        m.heartbeatTimer?.();
        m.heartbeatTimer = undefined;
        g.invokeJoin(m, joinError(m.memberId, ErrorCode.NOT_COORDINATOR));
        g.invokeSync(m, syncError(ErrorCode.NOT_COORDINATOR));
      }
    }
    await this.expiring;
    await this.store.close({ snapshot: opts.snapshot ?? true });
  }
}
