/**
 * The Kafka side of the active controller, on top of the store's metadata owner: broker
 * registrations and heartbeats, fencing of brokers that went silent (their WAL first, then their
 * partitions), leader assignment, partition moves (reassignments, controlled shutdown) and
 * producer-id blocks. Every decision is a KV record in the one metadata log, so a new controller
 * replays them and carries on; brokers see them through their replicas (KvClusterView).
 *
 * Mutations of the KV are serialized (one chain), so each decision reads the state the previous
 * one left. Moves hold their partition out of automatic assignment while the old leader releases.
 */
import type { Logger } from 'winston';
import { ErrorCode } from '../../protocol/errors.js';
import type { MetadataOwner } from '../../s3stream/metadata/owner.js';
import type { KvStore } from '../../s3stream/api.js';
import { GROUP_SHARDS_TOPIC } from '../../kafka/cluster/cluster-view.js';
import type {
  ClusterController,
  OngoingReassignment,
  PartitionRef,
  PartitionResult,
  ReassignmentRequest,
} from '../../kafka/cluster/controller-api.js';
import { kvProducerIdBlocks } from '../../kafka/producer/producer-id-manager.js';
import type { ProducerIdBlocks } from '../../kafka/producer/producer-id-manager.js';
import { RpcClient } from '../rpc/index.js';
import { brokerRecordSchema, KV, leadersSchema, ReleasePartitions } from '../protocol.js';
import type { BrokerRecord, ControllerInfo, Leaders } from '../protocol.js';

export interface ControllerConfig {
  /** A broker silent this long is fenced and its partitions move (broker.session.timeout.ms). */
  sessionTimeoutMs: number;
  /** How long the old leader gets to release a partition before it is fenced. */
  releaseTimeoutMs: number;
  /** Group shards (groups/num-shards), assigned like partitions of GROUP_SHARDS_TOPIC. */
  groupShards: number;
}

const TOPIC_PREFIX = 'topics/';
const CHECK_INTERVAL_MS = 500;
const RECONCILE_INTERVAL_MS = 5000;
const MOVE_CONCURRENCY = 16;

/** The owner's KV as a KvStore (reads the owner's state, writes through it). */
export class OwnerKv implements KvStore {
  constructor(private readonly owner: MetadataOwner) {}
  get(key: string): Buffer | undefined {
    const v = this.owner.state.kv.get(key);
    return v === undefined ? undefined : Buffer.from(v);
  }
  list(prefix: string): string[] {
    return [...this.owner.state.kv.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
  async put(key: string, value: Buffer): Promise<void> {
    await this.owner.appendOwn([{ t: 'kv', put: [[key, value.toString('base64')]], del: [] }]);
  }
  async delete(key: string): Promise<void> {
    await this.owner.appendOwn([{ t: 'kv', put: [], del: [key] }]);
  }
  onChange(): () => void {
    return () => undefined;
  }
}

interface Move {
  readonly target: readonly number[];
  readonly startedAtMs: number;
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export class KafkaController implements ClusterController {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly lastSeen = new Map<number, number>();
  private readonly moves = new Map<string, Move>();
  private readonly draining = new Set<number>();
  private balancingShards = false;
  private readonly clients = new Map<number, RpcClient>();
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void) | undefined;
  private stopped = false;
  private readonly kv: OwnerKv;
  private readonly producerIdBlocks: ProducerIdBlocks;

  constructor(
    private readonly owner: MetadataOwner,
    private info: ControllerInfo,
    private readonly cfg: ControllerConfig,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.kv = new OwnerKv(owner);
    this.producerIdBlocks = kvProducerIdBlocks(this.kv);
  }

  /** The controller's own broker id, once it registered (a new cluster's first broker has none before). */
  setNodeId(nodeId: number): void {
    this.info = { ...this.info, nodeId };
  }

  get controllerInfo(): ControllerInfo {
    return this.info;
  }

  /** Records itself as controller, gives every known broker a fresh session, starts the checks. */
  async start(silentSince?: { nodeId: number; sinceMs: number }): Promise<void> {
    const t = this.now();
    for (const b of this.brokers().values()) if (b.state !== 'fenced') this.lastSeen.set(b.nodeId, t);
    // The previous controller's broker has been silent since before this election: its session is
    // counted from then, so a dead controller's partitions move as soon as a dead broker's would.
    if (silentSince !== undefined && silentSince.nodeId !== this.info.nodeId && this.lastSeen.has(silentSince.nodeId)) {
      this.lastSeen.set(silentSince.nodeId, silentSince.sinceMs);
    }
    await this.putJson([[KV.controller, this.info]]);
    // Topics are created, grown and deleted by the admin handlers (through the log): assign at once.
    this.unsubscribe = this.owner.onWritten((b) => {
      const topicsChanged = b.records.some((r) => r.t === 'kv' && (r.put.some(([k]) => k.startsWith(TOPIC_PREFIX)) || r.del.some((k) => k.startsWith(TOPIC_PREFIX))));
      if (topicsChanged) void this.assignNow().catch(() => undefined);
    });
    // Failures are logged by serial() and retried at the next tick; a rejected promise must never
    // escape a timer (it would end the process).
    this.timers.push(setInterval(() => void this.checkSessions().catch(() => undefined), CHECK_INTERVAL_MS));
    this.timers.push(
      setInterval(() => {
        void this.serial(() => this.reconcile())
          .then(() => this.balanceShards())
          .catch(() => undefined);
      }, RECONCILE_INTERVAL_MS),
    );
    for (const tm of this.timers) tm.unref();
    await this.serial(() => this.reconcile());
    this.log.info('controller active', { nodeId: this.info.nodeId, epoch: this.info.epoch, address: `${this.info.host}:${this.info.port}` });
  }

  /**
   * An orderly stop of the controller's broker (its storage already closed): drops the broker like
   * any leaving one, then records that the controller resigned, so the brokers elect a successor at
   * once instead of after controller.session.timeout.ms of silence.
   */
  async resign(): Promise<void> {
    await this.serial(async () => {
      const me = this.brokers().get(this.info.nodeId);
      if (me !== undefined && me.state !== 'fenced') await this.fence(me, 'it left the cluster (orderly stop)');
      await this.reconcile();
      await this.markResigned();
    });
    this.log.info('controller resigned', { nodeId: this.info.nodeId, epoch: this.info.epoch });
  }

  /**
   * Records in the log that this controller stopped acting (also after stop(): it bypasses the
   * serial chain). A successor then gives its broker a fresh session instead of counting the
   * controller's silence against it, and brokers elect without waiting for that silence.
   */
  async markResigned(): Promise<void> {
    await this.putJson([[KV.controller, { ...this.info, resigned: true }]]);
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const c of this.clients.values()) void c.close();
    this.clients.clear();
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.chain.then(() => {
      if (this.stopped) throw new Error('the controller stopped (another broker took over)');
      return task();
    });
    this.chain = run.catch((err: unknown) => {
      if (!this.stopped) this.log.warn('controller step failed; retried at the next check', { error: String(err) });
    });
    return run;
  }

  private async putJson(puts: [string, unknown][], dels: string[] = []): Promise<void> {
    if (puts.length === 0 && dels.length === 0) return;
    await this.owner.appendOwn([
      { t: 'kv', put: puts.map(([k, v]) => [k, Buffer.from(JSON.stringify(v), 'utf8').toString('base64')] as [string, string]), del: dels },
    ]);
  }

  private readJson<T>(key: string, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }): T | undefined {
    const raw = this.owner.state.kv.get(key);
    if (raw === undefined) return undefined;
    try {
      const r = schema.safeParse(JSON.parse(raw.toString('utf8')));
      return r.success ? r.data : undefined;
    } catch {
      return undefined;
    }
  }

  brokers(): Map<number, BrokerRecord> {
    const out = new Map<number, BrokerRecord>();
    for (const key of this.kv.list(KV.brokerPrefix)) {
      const b = this.readJson(key, brokerRecordSchema);
      if (b !== undefined) out.set(b.nodeId, b);
    }
    return out;
  }

  private alive(): BrokerRecord[] {
    return [...this.brokers().values()].filter((b) => b.state === 'alive').sort((a, b) => a.nodeId - b.nodeId);
  }

  /** Topic name -> partition count, group shards included. */
  private partitionCounts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const key of this.kv.list(TOPIC_PREFIX)) {
      const raw = this.owner.state.kv.get(key);
      if (raw === undefined) continue;
      try {
        const t = JSON.parse(raw.toString('utf8')) as { name?: unknown; partitions?: unknown };
        if (typeof t.name === 'string' && Array.isArray(t.partitions)) out.set(t.name, t.partitions.length);
      } catch {
        this.log.error('unreadable topic record ignored by the controller', { key });
      }
    }
    out.set(GROUP_SHARDS_TOPIC, this.cfg.groupShards);
    return out;
  }

  private leadersOf(topic: string): Leaders {
    return this.readJson(KV.leaders(topic), leadersSchema) ?? [];
  }

  // ---- registration and heartbeats ----------------------------------------------------------

  register(req: { host: string; port: number; rack: string | null; incarnation: string }): Promise<number> {
    return this.serial(async () => {
      const all = this.brokers();
      const same = [...all.values()].find((b) => b.host === req.host && b.port === req.port);
      if (same !== undefined && same.incarnation !== req.incarnation && same.state !== 'fenced') {
        // Two processes cannot listen on one address: the old one is gone. Its WAL first, then its
        // partitions go to live brokers at once (a restart after a crash is the fastest failover).
        await this.fence(same, 'a new process registered at its address');
        await this.reconcile();
      }
      const nodeId = same?.nodeId ?? Math.max(-1, ...all.keys()) + 1;
      const rec: BrokerRecord = { nodeId, host: req.host, port: req.port, rack: req.rack, incarnation: req.incarnation, state: 'registered' };
      await this.putJson([[KV.broker(nodeId), rec]]);
      this.lastSeen.set(nodeId, this.now());
      this.log.info('broker registered', { nodeId, address: `${req.host}:${req.port}`, rack: req.rack });
      return nodeId;
    });
  }

  heartbeat(req: { nodeId: number; incarnation: string; ready: boolean; shuttingDown: boolean; leaving?: boolean | undefined }): Promise<{ state: 'alive' | 'fenced'; drained: boolean }> {
    const b = this.brokers().get(req.nodeId);
    if (b === undefined || b.incarnation !== req.incarnation || b.state === 'fenced') return Promise.resolve({ state: 'fenced', drained: false });
    this.lastSeen.set(req.nodeId, this.now());
    if (req.leaving === true) {
      // Its storage is closed: fencing recovers nothing new, and what it still led (a drain cut
      // short by its deadline) moves now instead of a session timeout later. Clients stop seeing it.
      return this.serial(async () => {
        const cur = this.brokers().get(req.nodeId);
        if (cur === undefined || cur.state === 'fenced' || cur.incarnation !== req.incarnation) return;
        await this.fence(cur, 'it left the cluster (orderly stop)');
        await this.reconcile();
      }).then(() => ({ state: 'fenced' as const, drained: true }));
    }
    if (req.shuttingDown && b.state !== 'draining') {
      void this.serial(() => this.setState(req.nodeId, 'draining'))
        .then(() => this.drain(req.nodeId))
        .catch(() => undefined); // logged by serial(); the broker asks again at its next heartbeat
      return Promise.resolve({ state: 'alive', drained: false });
    }
    if (req.ready && b.state === 'registered') {
      void this.serial(async () => {
        await this.setState(req.nodeId, 'alive');
        await this.reconcile();
      })
        .then(() => this.balanceShards())
        .catch(() => undefined); // logged by serial(); the next heartbeat tries again
    }
    const drained = b.state === 'draining' && !this.draining.has(req.nodeId) && !this.leadsAnything(req.nodeId);
    if (req.shuttingDown && b.state === 'draining' && !drained && !this.draining.has(req.nodeId)) {
      // A previous drain left partitions behind (a move failed): try again.
      void this.drain(req.nodeId).catch(() => undefined);
    }
    return Promise.resolve({ state: 'alive', drained });
  }

  private async setState(nodeId: number, state: BrokerRecord['state']): Promise<void> {
    const b = this.brokers().get(nodeId);
    if (b === undefined || b.state === state) return;
    await this.putJson([[KV.broker(nodeId), { ...b, state }]]);
    this.log.info('broker state', { nodeId, state });
  }

  private leadsAnything(nodeId: number): boolean {
    for (const topic of this.partitionCounts().keys()) if (this.leadersOf(topic).some((l) => l.leader === nodeId)) return true;
    return false;
  }

  private async checkSessions(): Promise<void> {
    if (this.stopped || this.owner.isFenced()) return;
    const t = this.now();
    for (const b of this.brokers().values()) {
      if (b.state === 'fenced') continue;
      const seen = this.lastSeen.get(b.nodeId) ?? 0;
      if (t - seen > this.cfg.sessionTimeoutMs) {
        await this.serial(async () => {
          const cur = this.brokers().get(b.nodeId);
          if (cur === undefined || cur.state === 'fenced' || cur.incarnation !== b.incarnation) return;
          if (this.now() - (this.lastSeen.get(b.nodeId) ?? 0) <= this.cfg.sessionTimeoutMs) return;
          await this.fence(cur, `no heartbeat for ${this.cfg.sessionTimeoutMs} ms`);
          await this.reconcile();
        }).catch(() => undefined);
      }
    }
  }

  /**
   * Declares a broker dead: its WAL writer is fenced (a tombstone; what it made durable is
   * recovered into the metadata) BEFORE its partitions get new leaders, so nothing it acked is
   * missed and it can ack nothing more. Runs inside the serial chain.
   */
  private async fence(b: BrokerRecord, why: string): Promise<void> {
    await this.owner.fenceNode(b.nodeId);
    const puts: [string, unknown][] = [[KV.broker(b.nodeId), { ...b, state: 'fenced' }]];
    for (const topic of this.partitionCounts().keys()) {
      const leaders = this.leadersOf(topic);
      if (!leaders.some((l) => l.leader === b.nodeId)) continue;
      puts.push([KV.leaders(topic), leaders.map((l) => (l.leader === b.nodeId ? { leader: -1, epoch: l.epoch } : l))]);
    }
    await this.putJson(puts);
    this.lastSeen.delete(b.nodeId);
    this.log.warn('broker fenced', { nodeId: b.nodeId, reason: why });
  }

  // ---- assignment -------------------------------------------------------------------------

  /**
   * How many data partitions and how many group shards each of these brokers leads. The two are
   * balanced each on their own: a broker holding many shards must still get its share of partitions.
   */
  private leaderCounts(nodeIds: readonly number[]): { data: Map<number, number>; shards: Map<number, number> } {
    const out = { data: new Map<number, number>(nodeIds.map((id) => [id, 0])), shards: new Map<number, number>(nodeIds.map((id) => [id, 0])) };
    for (const topic of this.partitionCounts().keys()) {
      const load = topic === GROUP_SHARDS_TOPIC ? out.shards : out.data;
      for (const l of this.leadersOf(topic)) if (load.has(l.leader)) load.set(l.leader, load.get(l.leader)! + 1);
    }
    return out;
  }

  /**
   * Gives every partition without a live leader (and not being moved) the least loaded live broker,
   * with the next leader epoch; drops the leaders of deleted topics. Idempotent.
   */
  private async reconcile(): Promise<void> {
    const alive = this.alive();
    const counts = this.partitionCounts();
    const loads = this.leaderCounts(alive.map((b) => b.nodeId));
    const aliveIds = new Set(alive.map((b) => b.nodeId));
    const current = new Map<string, Leaders>([...counts.keys()].map((topic) => [topic, this.leadersOf(topic)]));
    let load = loads.data;
    const pick = (): number | undefined => {
      let best: number | undefined;
      for (const [id, n] of load) if (best === undefined || n < load.get(best)! || (n === load.get(best)! && id < best)) best = id;
      if (best !== undefined) load.set(best, load.get(best)! + 1);
      return best;
    };
    const puts: [string, unknown][] = [];
    for (const [topic, n] of counts) {
      load = topic === GROUP_SHARDS_TOPIC ? loads.shards : loads.data;
      const leaders = current.get(topic)!;
      const next: Leaders = [];
      let changed = leaders.length !== n;
      for (let p = 0; p < n; p++) {
        const cur = leaders[p] ?? { leader: -1, epoch: 0 };
        const draining = this.brokers().get(cur.leader)?.state === 'draining';
        if (aliveIds.has(cur.leader) || draining || this.moves.has(partitionKey(topic, p))) {
          next.push(cur);
          continue;
        }
        const chosen = pick();
        if (chosen === undefined) {
          next.push(cur);
          continue;
        }
        next.push({ leader: chosen, epoch: cur.epoch + 1 });
        changed = true;
      }
      if (changed) puts.push([KV.leaders(topic), next]);
    }
    const dels = this.kv.list(KV.leadersPrefix).filter((k) => !counts.has(k.slice(KV.leadersPrefix.length)));
    if (puts.length > 0 || dels.length > 0) {
      await this.putJson(puts, dels);
      this.log.info('leaders assigned', { topics: puts.map(([k]) => k.slice(KV.leadersPrefix.length)), removed: dels.length });
    }
  }

  /** Runs an assignment pass now (after topic changes). */
  assignNow(): Promise<void> {
    return this.serial(() => this.reconcile());
  }

  // ---- moves ------------------------------------------------------------------------------

  private client(nodeId: number): RpcClient | undefined {
    const b = this.brokers().get(nodeId);
    if (b === undefined) return undefined;
    let c = this.clients.get(nodeId);
    if (c !== undefined && c.address !== `${b.host}:${b.port}`) {
      void c.close();
      c = undefined;
    }
    if (c === undefined) {
      c = new RpcClient({ host: b.host, port: b.port, clientId: `controller-${this.info.nodeId}`, connectTimeoutMs: 2000, log: this.log });
      this.clients.set(nodeId, c);
    }
    return c;
  }

  /**
   * Moves one partition's leadership: the old leader releases it (stops appending, makes its data
   * durable and committed), then the new leader is recorded with the next epoch. An old leader that
   * does not release in time is fenced as a whole: correctness must not depend on it.
   */
  private async move(topic: string, partition: number, target: readonly number[]): Promise<void> {
    const key = partitionKey(topic, partition);
    this.moves.set(key, { target, startedAtMs: this.now() });
    try {
      const cur = this.leadersOf(topic)[partition] ?? { leader: -1, epoch: 0 };
      const to = target.find((id) => this.brokers().get(id)?.state === 'alive');
      if (to === undefined) throw new Error(`no live broker among ${JSON.stringify(target)} for ${topic}-${partition}`);
      if (cur.leader === to) return;
      const old = this.brokers().get(cur.leader);
      if (old !== undefined && old.state !== 'fenced') {
        try {
          await this.client(old.nodeId)!.call(ReleasePartitions, { partitions: [{ topic, partition, leaderEpoch: cur.epoch }] }, { timeoutMs: this.cfg.releaseTimeoutMs });
        } catch (err) {
          this.log.warn('old leader did not release the partition in time: fencing it', { topic, partition, nodeId: old.nodeId, error: String(err) });
          await this.serial(async () => {
            const again = this.brokers().get(old.nodeId);
            if (again !== undefined && again.state !== 'fenced' && again.incarnation === old.incarnation) await this.fence(again, 'did not release a partition');
          });
        }
      }
      await this.serial(async () => {
        const leaders = [...this.leadersOf(topic)];
        const now = leaders[partition] ?? { leader: -1, epoch: 0 };
        leaders[partition] = { leader: to, epoch: now.epoch + 1 };
        await this.putJson([[KV.leaders(topic), leaders]]);
      });
      this.log.info('partition moved', { topic, partition, from: cur.leader, to, ms: this.now() - this.moves.get(key)!.startedAtMs });
    } finally {
      this.moves.delete(key);
    }
  }

  /**
   * Evens out the group shards over the live brokers, one move at a time, while the busiest leads
   * two more than the idlest. Clients cannot move shards (they are not topics to them), and the
   * shards of a new cluster all land on its first broker, which would coordinate every group.
   * Data partitions are left where they are: moving those is the admin's (or the balancer's) call.
   */
  private async balanceShards(): Promise<void> {
    if (this.stopped || this.balancingShards) return;
    this.balancingShards = true;
    try {
      for (let i = 0; i < this.cfg.groupShards; i++) {
        if (this.stopped || [...this.moves.keys()].some((k) => k.startsWith(`${GROUP_SHARDS_TOPIC}\u0000`))) return;
        const alive = this.alive();
        if (alive.length < 2) return;
        const led = new Map<number, number[]>(alive.map((b) => [b.nodeId, []]));
        this.leadersOf(GROUP_SHARDS_TOPIC).forEach((l, shard) => led.get(l.leader)?.push(shard));
        const byLoad = [...led].sort((a, b) => a[1].length - b[1].length || a[0] - b[0]);
        const [idlest, idle] = byLoad[0]!;
        const [, busy] = byLoad[byLoad.length - 1]!;
        if (busy.length - idle.length <= 1) return;
        await this.move(GROUP_SHARDS_TOPIC, busy[busy.length - 1]!, [idlest]);
      }
    } catch (err) {
      this.log.warn('balancing group shards failed; retried at the next check', { error: String(err) });
    } finally {
      this.balancingShards = false;
    }
  }

  /** Controlled shutdown: moves everything the broker leads to the others, a few at a time. */
  private async drain(nodeId: number): Promise<void> {
    if (this.draining.has(nodeId)) return;
    this.draining.add(nodeId);
    try {
      const work: { topic: string; partition: number }[] = [];
      for (const topic of this.partitionCounts().keys()) {
        this.leadersOf(topic).forEach((l, partition) => {
          if (l.leader === nodeId) work.push({ topic, partition });
        });
      }
      // Least loaded first (as the assignment counts), counting the moves of this batch as they
      // are handed out so one batch spreads.
      for (let i = 0; i < work.length; i += MOVE_CONCURRENCY) {
        const batchLoads = this.leaderCounts(this.alive().filter((b) => b.nodeId !== nodeId).map((b) => b.nodeId));
        await Promise.all(
          work.slice(i, i + MOVE_CONCURRENCY).map(async (w) => {
            const load = w.topic === GROUP_SHARDS_TOPIC ? batchLoads.shards : batchLoads.data;
            const target = [...load].sort((a, b) => a[1] - b[1] || a[0] - b[0]).map(([id]) => id);
            if (target.length === 0) return; // nobody to take it: the partition goes offline with the broker
            load.set(target[0]!, load.get(target[0]!)! + 1);
            await this.move(w.topic, w.partition, target).catch((err: unknown) =>
              this.log.warn('moving a partition off a stopping broker failed', { ...w, error: String(err) }),
            );
          }),
        );
      }
      this.log.info('broker drained', { nodeId, partitions: work.length });
    } finally {
      this.draining.delete(nodeId);
    }
  }

  // ---- ClusterController (admin APIs) -----------------------------------------------------

  async reassign(requests: readonly ReassignmentRequest[]): Promise<PartitionResult[]> {
    const counts = this.partitionCounts();
    const brokers = this.brokers();
    const out: PartitionResult[] = [];
    for (const r of requests) {
      const res = (errorCode: number, errorMessage: string | null): void => {
        out.push({ topic: r.topic, partition: r.partition, errorCode, errorMessage });
      };
      const n = counts.get(r.topic);
      if (n === undefined || r.topic === GROUP_SHARDS_TOPIC || r.partition >= n) {
        res(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${r.topic}-${r.partition} does not exist`);
        continue;
      }
      if (r.replicas === null) {
        if (!this.moves.has(partitionKey(r.topic, r.partition))) res(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, `no reassignment of ${r.topic}-${r.partition} is in progress`);
        else res(ErrorCode.NONE, null); // a move cannot be undone half-way: it completes
        continue;
      }
      const bad = r.replicas.find((id) => brokers.get(id)?.state !== 'alive');
      if (r.replicas.length === 0 || bad !== undefined) {
        res(ErrorCode.INVALID_REPLICA_ASSIGNMENT, r.replicas.length === 0 ? 'the replica list is empty' : `broker ${bad} is not a live broker of this cluster`);
        continue;
      }
      res(ErrorCode.NONE, null);
      void this.move(r.topic, r.partition, r.replicas).catch((err: unknown) =>
        this.log.warn('reassignment failed', { topic: r.topic, partition: r.partition, error: String(err) }),
      );
    }
    return out;
  }

  listReassignments(partitions?: readonly PartitionRef[]): OngoingReassignment[] {
    const wanted = partitions === undefined ? undefined : new Set(partitions.map((p) => partitionKey(p.topic, p.partition)));
    const out: OngoingReassignment[] = [];
    for (const [key, m] of this.moves) {
      if (wanted !== undefined && !wanted.has(key)) continue;
      const [topic, p] = key.split('\u0000') as [string, string];
      if (topic === GROUP_SHARDS_TOPIC) continue;
      const partition = Number(p);
      const cur = this.leadersOf(topic)[partition]?.leader ?? -1;
      const adding = m.target.filter((id) => id !== cur);
      out.push({ topic, partition, replicas: [...new Set([cur, ...m.target].filter((id) => id >= 0))], addingReplicas: adding, removingReplicas: cur >= 0 && !m.target.includes(cur) ? [cur] : [] });
    }
    return out;
  }

  async electLeaders(type: 0 | 1, partitions?: readonly PartitionRef[]): Promise<PartitionResult[]> {
    const counts = this.partitionCounts();
    const refs = partitions ?? [...counts].filter(([t]) => t !== GROUP_SHARDS_TOPIC).flatMap(([topic, n]) => Array.from({ length: n }, (_, partition) => ({ topic, partition })));
    const alive = new Set(this.alive().map((b) => b.nodeId));
    const needs: PartitionRef[] = [];
    const out: PartitionResult[] = [];
    for (const r of refs) {
      const n = counts.get(r.topic);
      if (n === undefined || r.topic === GROUP_SHARDS_TOPIC || r.partition >= n) {
        out.push({ ...r, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `${r.topic}-${r.partition} does not exist` });
        continue;
      }
      const l = this.leadersOf(r.topic)[r.partition];
      if (l !== undefined && alive.has(l.leader)) {
        // One replica: the leader is always the preferred one.
        out.push({ ...r, errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: 'the partition already has its preferred leader' });
        continue;
      }
      needs.push(r);
    }
    if (needs.length > 0) await this.assignNow();
    for (const r of needs) {
      const l = this.leadersOf(r.topic)[r.partition];
      const ok = l !== undefined && alive.has(l.leader);
      out.push({ ...r, errorCode: ok ? ErrorCode.NONE : ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, errorMessage: ok ? null : 'no live broker can lead it' });
    }
    void type;
    return out;
  }

  // ---- producer ids -----------------------------------------------------------------------

  allocateProducerIds(): Promise<{ start: number; count: number }> {
    return this.producerIdBlocks();
  }
}
