/**
 * In-memory state of one classic group: members, generation, selected protocol, and the
 * bookkeeping the coordinator's state machine needs (who is awaiting a JoinGroup or SyncGroup
 * answer, pending members, timers). The transitions themselves live in coordinator.ts.
 */
import type { CancelTimer } from './timers.js';
import type { GroupProtocol, JoinGroupMember, JoinGroupResult, SyncGroupResult } from './types.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export const GROUP_STATES: readonly GroupState[] = ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead'];

const VALID_PREVIOUS: Record<GroupState, readonly GroupState[]> = {
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  Empty: ['PreparingRebalance'],
};

const EMPTY = Buffer.alloc(0);

export class Member {
  assignment: Buffer = EMPTY;
  /** Joined in the current rebalance for the first time: bounded by the new-member join timeout. */
  isNew = false;
  awaitingJoin: ((r: JoinGroupResult) => void) | undefined;
  awaitingSync: ((r: SyncGroupResult) => void) | undefined;
  heartbeatTimer: CancelTimer | undefined;

  constructor(
    public memberId: string,
    readonly groupInstanceId: string | null,
    public clientId: string,
    public clientHost: string,
    public rebalanceTimeoutMs: number,
    public sessionTimeoutMs: number,
    readonly protocolType: string,
    public protocols: readonly GroupProtocol[],
  ) {}

  get isStatic(): boolean {
    return this.groupInstanceId !== null;
  }

  metadata(protocol: string): Buffer {
    const p = this.protocols.find((x) => x.name === protocol);
    if (!p) throw new Error(`member ${this.memberId} does not support protocol ${protocol}`);
    return p.metadata;
  }

  /** Same protocols with the same metadata in the same order. */
  matches(protocols: readonly GroupProtocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    return protocols.every((p, i) => p.name === this.protocols[i]!.name && p.metadata.equals(this.protocols[i]!.metadata));
  }

  /** The member's most preferred protocol among the candidates. */
  vote(candidates: ReadonlySet<string>): string {
    const p = this.protocols.find((x) => candidates.has(x.name));
    if (!p) throw new Error(`member ${this.memberId} supports none of the candidate protocols`);
    return p.name;
  }
}

export class Group {
  state: GroupState = 'Empty';
  stateTimestamp: number;
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, Member>();
  /** group.instance.id -> member id */
  readonly staticMembers = new Map<string, string>();
  /** Members told MEMBER_ID_REQUIRED that have not joined with their id yet, with their expiry timers. */
  readonly pendingMembers = new Map<string, CancelTimer>();
  /** Members of the new generation that have not sent SyncGroup yet. */
  readonly pendingSyncMembers = new Set<string>();
  numMembersAwaitingJoin = 0;
  private readonly supportedProtocols = new Map<string, number>();
  /** A new member joined during the initial delayed join: the delay may be extended. */
  newMemberAdded = false;
  joinTimer: CancelTimer | undefined;
  /** Time left of the initial rebalance delay budget (rebalance timeout minus the first delay). */
  initialDelayRemainingMs = 0;
  /** True while the initial delayed join runs: it only completes on its timer. */
  inInitialDelay = false;
  syncTimer: CancelTimer | undefined;

  constructor(
    readonly groupId: string,
    now: number,
  ) {
    this.stateTimestamp = now;
  }

  is(state: GroupState): boolean {
    return this.state === state;
  }

  canRebalance(): boolean {
    return VALID_PREVIOUS.PreparingRebalance.includes(this.state);
  }

  transitionTo(state: GroupState, now: number): void {
    if (!VALID_PREVIOUS[state].includes(this.state)) {
      throw new Error(`group ${this.groupId}: illegal transition ${this.state} -> ${state}`);
    }
    this.state = state;
    this.stateTimestamp = now;
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  get(memberId: string): Member {
    const m = this.members.get(memberId);
    if (!m) throw new Error(`group ${this.groupId} has no member ${memberId}`);
    return m;
  }

  get size(): number {
    return this.members.size;
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  isPendingMember(memberId: string): boolean {
    return this.pendingMembers.has(memberId);
  }

  hasStaticMember(groupInstanceId: string | null): boolean {
    return groupInstanceId !== null && this.staticMembers.has(groupInstanceId);
  }

  staticMemberId(groupInstanceId: string): string | undefined {
    return this.staticMembers.get(groupInstanceId);
  }

  /** A static member id that does not match the one registered for its instance id. */
  isStaticMemberFenced(groupInstanceId: string | null, memberId: string): boolean {
    if (groupInstanceId === null) return false;
    const existing = this.staticMembers.get(groupInstanceId);
    return existing !== undefined && existing !== memberId;
  }

  add(member: Member, onJoin?: (r: JoinGroupResult) => void): void {
    if (this.members.size === 0) this.protocolType = member.protocolType;
    if (this.leaderId === null) this.leaderId = member.memberId;
    this.members.set(member.memberId, member);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    for (const p of member.protocols) this.supportedProtocols.set(p.name, (this.supportedProtocols.get(p.name) ?? 0) + 1);
    if (onJoin) {
      member.awaitingJoin = onJoin;
      this.numMembersAwaitingJoin++;
    }
    this.pendingMembers.delete(member.memberId);
  }

  remove(memberId: string): Member | undefined {
    const member = this.members.get(memberId);
    if (member) {
      this.members.delete(memberId);
      for (const p of member.protocols) this.supportedProtocols.set(p.name, (this.supportedProtocols.get(p.name) ?? 1) - 1);
      if (member.awaitingJoin) this.numMembersAwaitingJoin--;
      if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) {
        this.staticMembers.delete(member.groupInstanceId);
      }
    }
    if (this.isLeader(memberId)) {
      const next = this.members.keys().next();
      this.leaderId = next.done ? null : next.value;
    }
    this.pendingSyncMembers.delete(memberId);
    return member;
  }

  /** Gives a static member a new member id; the old id's pending answers are the caller's to fence. */
  replaceStaticMember(groupInstanceId: string, oldMemberId: string, newMemberId: string): Member {
    const member = this.members.get(oldMemberId);
    if (!member) throw new Error(`group ${this.groupId}: static member ${groupInstanceId} has no member ${oldMemberId}`);
    this.members.delete(oldMemberId);
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    if (this.isLeader(oldMemberId)) this.leaderId = newMemberId;
    this.staticMembers.set(groupInstanceId, newMemberId);
    if (this.pendingSyncMembers.delete(oldMemberId)) this.pendingSyncMembers.add(newMemberId);
    return member;
  }

  updateMember(
    member: Member,
    protocols: readonly GroupProtocol[],
    rebalanceTimeoutMs: number,
    sessionTimeoutMs: number,
    onJoin: ((r: JoinGroupResult) => void) | undefined,
  ): void {
    for (const p of member.protocols) this.supportedProtocols.set(p.name, (this.supportedProtocols.get(p.name) ?? 1) - 1);
    for (const p of protocols) this.supportedProtocols.set(p.name, (this.supportedProtocols.get(p.name) ?? 0) + 1);
    member.protocols = protocols;
    member.rebalanceTimeoutMs = rebalanceTimeoutMs;
    member.sessionTimeoutMs = sessionTimeoutMs;
    if (onJoin && !member.awaitingJoin) this.numMembersAwaitingJoin++;
    else if (!onJoin && member.awaitingJoin) this.numMembersAwaitingJoin--;
    member.awaitingJoin = onJoin;
  }

  /** Answers a member's pending JoinGroup, if any. */
  invokeJoin(member: Member, result: JoinGroupResult): void {
    const cb = member.awaitingJoin;
    if (!cb) return;
    member.awaitingJoin = undefined;
    this.numMembersAwaitingJoin--;
    cb(result);
  }

  /** Answers a member's pending SyncGroup, if any. */
  invokeSync(member: Member, result: SyncGroupResult): void {
    const cb = member.awaitingSync;
    if (!cb) return;
    member.awaitingSync = undefined;
    cb(result);
  }

  hasAllMembersJoined(): boolean {
    return this.members.size === this.numMembersAwaitingJoin && this.pendingMembers.size === 0;
  }

  /** Group rebalance timeout: the largest of its members'. */
  rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  /** Whether a joining member's protocols can coexist with the group's. */
  supportsProtocols(protocolType: string, protocols: readonly GroupProtocol[]): boolean {
    if (this.members.size === 0) return protocolType.length > 0 && protocols.length > 0;
    return this.protocolType === protocolType && protocols.some((p) => this.supportedProtocols.get(p.name) === this.members.size);
  }

  /** Protocols every member supports. */
  private candidateProtocols(): Set<string> {
    const out = new Set<string>();
    for (const [name, n] of this.supportedProtocols) if (n === this.members.size && n > 0) out.add(name);
    return out;
  }

  /**
   * Each member votes for its most preferred protocol among those all members support; the one
   * with most votes wins. Ties go to the protocol the leader (else first member) prefers.
   */
  selectProtocol(): string {
    if (this.members.size === 0) throw new Error(`group ${this.groupId}: cannot select a protocol without members`);
    const candidates = this.candidateProtocols();
    if (candidates.size === 0) throw new Error(`group ${this.groupId}: members share no protocol`);
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const v = m.vote(candidates);
      votes.set(v, (votes.get(v) ?? 0) + 1);
    }
    const first = (this.leaderId !== null ? this.members.get(this.leaderId) : undefined) ?? this.members.values().next().value!;
    let best: string | undefined;
    let bestVotes = -1;
    for (const p of first.protocols) {
      const n = votes.get(p.name) ?? -1;
      if (n > bestVotes) {
        best = p.name;
        bestVotes = n;
      }
    }
    return best!;
  }

  /** Leader's member list for a JoinGroup answer. */
  currentMemberMetadata(): JoinGroupMember[] {
    if (this.protocolName === null) throw new Error(`group ${this.groupId}: no protocol selected`);
    const out: JoinGroupMember[] = [];
    for (const m of this.members.values()) {
      out.push({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata(this.protocolName) });
    }
    return out;
  }

  /**
   * If the leader did not rejoin, any member that did becomes leader. False when no member
   * rejoined.
   */
  maybeElectNewJoinedLeader(): boolean {
    if (this.leaderId === null) return false;
    const leader = this.members.get(this.leaderId);
    if (leader?.awaitingJoin) return true;
    for (const m of this.members.values()) {
      if (m.awaitingJoin) {
        this.leaderId = m.memberId;
        return true;
      }
    }
    return false;
  }

  notYetRejoinedMembers(): Member[] {
    return [...this.members.values()].filter((m) => !m.awaitingJoin);
  }

  initNextGeneration(now: number): void {
    this.generationId++;
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this.transitionTo('CompletingRebalance', now);
    } else {
      this.protocolName = null;
      this.transitionTo('Empty', now);
    }
    this.pendingSyncMembers.clear();
  }
}
