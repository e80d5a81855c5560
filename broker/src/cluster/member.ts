/**
 * One broker's membership in the cluster: finding the active controller, standing for election when
 * there is none, registering and heartbeating, running the controller role while elected, and
 * answering the controller's release requests.
 *
 * Election: the controller is whoever wrote the newest `open` record of the metadata log (the
 * store's put-if-absent lets exactly one candidate win each seq). A broker that has not reached the
 * controller for controller.session.timeout.ms reads the log tail from the store; if the newest
 * `open` is still the silent controller's, it stands (after a random delay, so one candidate
 * usually wins first time). A deposed controller finds out at its next metadata append (412) and
 * steps down.
 *
 * With a Kubernetes Lease (controller.election=kubernetes-lease) only the Lease holder stands: it
 * takes the log over as soon as it acquires the Lease, and steps down when it loses the Lease. The
 * other brokers still learn the controller's address from the log tail. The log's put-if-absent
 * stays the fencing: a holder that lost the Lease while paused cannot append either.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'winston';
import { z } from 'zod';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { MetadataFencedError } from '../s3stream/api.js';
import type { InstrumentedObjectStore } from '../s3stream/object-store/instrumented.js';
import { MetadataOwner } from '../s3stream/metadata/owner.js';
import type { MetadataOwnerOptions } from '../s3stream/metadata/owner.js';
import { latestOpen } from '../s3stream/metadata/metadata-log.js';
import type { ClusterController } from '../kafka/cluster/controller-api.js';
import { LeaseElector } from '../k8s/lease-elector.js';
import type { LeaseApi } from '../k8s/lease-elector.js';
import { RpcClient, RpcRemoteError, RpcUnavailableError } from './rpc/index.js';
import type { RpcRouter } from './rpc/index.js';
import { KafkaController, OwnerKv } from './controller/kafka-controller.js';
import { resolveGroupShardCount } from '../group/shards.js';
import { withTimeout } from '../util/with-timeout.js';
import { AllocateProducerIds, BrokerHeartbeat, BrokerRegister, controllerInfoSchema, KV, ReleasePartitions } from './protocol.js';
import type { ControllerInfo } from './protocol.js';

export interface MemberConfig {
  clusterId: string | undefined;
  host: string;
  port: number;
  rack: string | null;
  heartbeatIntervalMs: number;
  sessionTimeoutMs: number;
  controllerSessionTimeoutMs: number;
  releaseTimeoutMs: number;
  /** offsets.topic.num.partitions: the group shard count a new cluster starts with. */
  groupShards: number;
  /** Elect through this Kubernetes Lease instead of through the store alone. */
  lease?: LeaseApi;
}

/** Where the controller is, for the metadata channel and the heartbeats. */
export interface ControllerAddress {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly epoch: number;
}

const openInfoSchema = z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65535) });

/** What the broker does when the controller asks it to release partitions. */
export type Releaser = (partitions: { topic: string; partition: number; leaderEpoch: number }[]) => Promise<void>;

export class ClusterMember {
  readonly incarnation = randomBytes(12).toString('hex');
  private controllerAddr: ControllerAddress | undefined;
  private lastContact = 0;
  private changeWaiters: (() => void)[] = [];
  private owner: MetadataOwner | undefined;
  private controller: KafkaController | undefined;
  private nodeIdValue: number | undefined;
  private ready = false;
  private shuttingDown = false;
  private drained = false;
  private stopped = false;
  private electing: Promise<void> | undefined;
  private loop: Promise<void> | undefined;
  private client: RpcClient | undefined;
  private releaser: Releaser | undefined;
  private clusterIdValue: string | undefined;
  private readonly elector: LeaseElector | undefined;
  private electorLoop: Promise<void> | undefined;

  constructor(
    private readonly store: InstrumentedObjectStore,
    private readonly router: RpcRouter,
    private readonly cfg: MemberConfig,
    private readonly ownerOptions: Omit<MetadataOwnerOptions, 'store' | 'node' | 'info' | 'onFenced' | 'log'>,
    private readonly log: Logger,
    /** This process was fenced while alive: it must stop (exit 3: "restart me"). */
    private readonly onFenced: (why: string) => void,
  ) {
    if (cfg.lease !== undefined) {
      // The Lease lasts a controller session; the holder gives up after 3/4 of it without a
      // renewal, so it stops acting before any other broker may acquire the Lease.
      const leaseDurationMs = Math.max(2000, Math.ceil(cfg.controllerSessionTimeoutMs / 1000) * 1000);
      const renewDeadlineMs = Math.floor(leaseDurationMs * 0.75);
      this.elector = new LeaseElector(cfg.lease, {
        identity: `${cfg.host}:${cfg.port}/${this.incarnation}`,
        leaseDurationMs,
        renewDeadlineMs,
        retryPeriodMs: Math.min(cfg.heartbeatIntervalMs, Math.floor(renewDeadlineMs / 3)),
        log: { info: (m) => this.log.info(m), warn: (m) => this.log.warn(m) },
      });
    }
    this.serve();
  }

  get nodeId(): number {
    if (this.nodeIdValue === undefined) throw new Error('the broker has not registered yet');
    return this.nodeIdValue;
  }

  get clusterId(): string {
    if (this.clusterIdValue === undefined) throw new Error('the cluster id is not known yet');
    return this.clusterIdValue;
  }

  /** The controller API while this broker is the active controller. */
  activeController(): ClusterController | undefined {
    return this.controller;
  }

  /** The metadata owner while this broker is the active controller. */
  activeOwner(): MetadataOwner | undefined {
    return this.owner;
  }

  // ---- locating the controller ------------------------------------------------------------

  current(): ControllerAddress | undefined {
    return this.controllerAddr;
  }

  /** Resolves when the controller address changes, after timeoutMs, or when the signal aborts. */
  changed(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        this.changeWaiters = this.changeWaiters.filter((w) => w !== done);
        resolve();
      };
      const t = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      this.changeWaiters.push(done);
    });
  }

  reportUnreachable(addr: { host: string; port: number }, err: Error): void {
    const c = this.controllerAddr;
    if (c !== undefined && c.host === addr.host && c.port === addr.port) {
      this.log.debug('controller unreachable', { controller: `${addr.host}:${addr.port}`, error: err.message });
      void this.maybeElect().catch((e: unknown) => this.log.error('controller election failed', { error: String(e) }));
    }
  }

  private setController(addr: ControllerAddress): void {
    const prev = this.controllerAddr;
    if (prev !== undefined && prev.epoch > addr.epoch) return;
    const moved = prev === undefined || prev.epoch !== addr.epoch || prev.host !== addr.host || prev.port !== addr.port;
    this.controllerAddr = addr;
    if (!moved) return;
    this.lastContact = Date.now();
    if (this.client !== undefined && this.client.address !== `${addr.host}:${addr.port}`) {
      void this.client.close();
      this.client = undefined;
    }
    this.log.info('controller is', { nodeId: addr.nodeId, address: `${addr.host}:${addr.port}`, epoch: addr.epoch });
    for (const w of this.changeWaiters.splice(0)) w();
  }

  /** Takes a newer controller address learnt from the metadata (KV cluster/controller). */
  learn(info: ControllerInfo | undefined): void {
    if (info === undefined) return;
    this.setController(info);
    if (info.resigned === true && this.owner === undefined && !this.stopped && this.controllerAddr?.epoch === info.epoch) {
      // The controller stopped in order: no need to wait for its silence.
      this.log.info('the controller resigned; electing a successor now', { nodeId: info.nodeId, epoch: info.epoch });
      this.lastContact = 0;
      void this.maybeElect().catch((err: unknown) => this.log.error('controller election failed', { error: String(err) }));
    }
  }

  private rpc(): RpcClient | undefined {
    const c = this.controllerAddr;
    if (c === undefined) return undefined;
    this.client ??= new RpcClient({ host: c.host, port: c.port, clientId: `broker-${this.nodeIdValue ?? 'new'}`, connectTimeoutMs: 2000, log: this.log });
    return this.client;
  }

  /** What the store says: the newest `open` record. */
  private async discover(): Promise<ControllerAddress | undefined> {
    const open = await latestOpen(this.store);
    if (open === undefined || open.info === undefined) return undefined;
    const parsed = openInfoSchema.safeParse(JSON.parse(open.info));
    if (!parsed.success) return undefined;
    return { nodeId: -1, host: parsed.data.host, port: parsed.data.port, epoch: open.seq };
  }

  /**
   * Stands for election when the controller has been silent too long and the store names no newer
   * one. One election at a time.
   */
  private maybeElect(): Promise<void> {
    this.electing ??= this.elect().finally(() => {
      this.electing = undefined;
    });
    return this.electing;
  }

  private async elect(): Promise<void> {
    if (this.stopped || this.owner !== undefined) return;
    const silentFor = Date.now() - this.lastContact;
    if (this.controllerAddr !== undefined && silentFor < this.cfg.controllerSessionTimeoutMs) return;
    const fresh = await this.discover().catch((err: unknown) => {
      this.log.warn('reading the metadata log tail failed', { error: String(err) });
      return undefined;
    });
    if (fresh !== undefined && (this.controllerAddr === undefined || fresh.epoch > this.controllerAddr.epoch)) {
      this.setController(fresh);
      return;
    }
    // With a Lease, the holder stands (takeControl); the others only look for it in the log.
    if (this.elector !== undefined) return;
    // Spread the candidates: usually one wins before the others even try.
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 1000)));
    const again = await this.discover().catch(() => undefined);
    if (again !== undefined && (fresh === undefined || again.epoch > fresh.epoch)) {
      this.setController(again);
      return;
    }
    await this.becomeController(Math.max(this.controllerAddr?.epoch ?? 0, fresh?.epoch ?? 0, again?.epoch ?? 0));
  }

  /**
   * The Lease was acquired: take the log over from whichever controller wrote the newest `open`.
   * Not awaited by the elector, so the Lease keeps being renewed while the log is replayed.
   */
  private async takeControl(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.stopped || this.owner !== undefined || this.elector?.isLeader !== true) return;
      try {
        const fresh = await this.discover();
        await this.becomeController(fresh?.epoch ?? 0);
        if (this.owner !== undefined || attempt >= 3) break;
      } catch (err) {
        this.log.error('could not take the controller role after acquiring the Lease', { error: String(err) });
        break;
      }
    }
    // Still not the controller while holding the Lease: let another broker try.
    if (this.owner === undefined && this.elector?.isLeader === true) await this.elector.resign('could not take the metadata log over');
  }

  /** Takes the log over from the controller whose epoch is `replacing` (0: there was none). */
  private async becomeController(replacing: number): Promise<void> {
    if (this.stopped) return;
    let owner: MetadataOwner;
    try {
      owner = await MetadataOwner.open({
        ...this.ownerOptions,
        store: this.store,
        node: this.nodeIdValue ?? 0,
        info: JSON.stringify({ host: this.cfg.host, port: this.cfg.port }),
        log: (level, msg, fields) => this.log.log(level, msg, { component: 's3stream-owner', ...fields }),
        onFenced: () => this.stepDown('another broker took over the metadata log'),
        takeOverFrom: replacing,
      });
    } catch (err) {
      if (err instanceof MetadataFencedError) {
        this.log.info('lost the controller election', { error: err.message });
        const fresh = await this.discover().catch(() => undefined);
        if (fresh !== undefined) this.setController(fresh);
        return;
      }
      throw err;
    }
    this.owner = owner;
    try {
      const kv = new OwnerKv(owner);
      const existing = kv.get('cluster/id')?.toString('utf8');
      if (existing !== undefined && this.cfg.clusterId !== undefined && existing !== this.cfg.clusterId) {
        throw new Error(`the object store belongs to cluster "${existing}", not "${this.cfg.clusterId}": use the right --object-store or --cluster-id`);
      }
      const clusterId = existing ?? this.cfg.clusterId ?? randomBytes(16).toString('base64url');
      if (existing === undefined) await kv.put('cluster/id', Buffer.from(clusterId));
      this.clusterIdValue = clusterId;
      const shards = await resolveGroupShardCount(kv, this.cfg.groupShards);
      const info: ControllerInfo = { nodeId: this.nodeIdValue ?? -1, host: this.cfg.host, port: this.cfg.port, epoch: owner.epoch };
      const running = new KafkaController(
        owner,
        info,
        { sessionTimeoutMs: this.cfg.sessionTimeoutMs, releaseTimeoutMs: this.cfg.releaseTimeoutMs, groupShards: shards.shards },
        this.log,
      );
      if (this.nodeIdValue === undefined) {
        this.nodeIdValue = await running.register({ host: this.cfg.host, port: this.cfg.port, rack: this.cfg.rack, incarnation: this.incarnation });
      }
      running.setNodeId(this.nodeIdValue);
      const withId = running.controllerInfo;
      // The replaced controller has been silent since this broker's last contact with it: its own
      // broker's session counts from then (only for that one; the others get a fresh session).
      const previous = controllerInfoSchema.safeParse(JSON.parse(kv.get(KV.controller)?.toString('utf8') ?? 'null'));
      const silent = previous.success && previous.data.epoch === replacing && replacing > 0 && previous.data.resigned !== true;
      await running.start(silent ? { nodeId: previous.data.nodeId, sinceMs: this.lastContact || Date.now() - this.cfg.controllerSessionTimeoutMs } : undefined);
      this.controller = running;
      this.setController(withId);
    } catch (err) {
      this.log.error('could not start as controller; stepping down', { error: String(err) });
      this.stepDown(String(err));
      throw err;
    }
  }

  private stepDown(why: string): void {
    const owner = this.owner;
    if (owner === undefined) return;
    const controller = this.controller;
    this.owner = undefined;
    controller?.stop();
    this.controller = undefined;
    this.log.warn('no longer the controller', { reason: why });
    void (async () => {
      // Alive, and the log is still ours (the Lease was lost, not the log): say so in the log, or
      // the successor would count this broker's silence as controller against its session and
      // fence a live broker. A deposed owner (412) cannot, and need not: it is the silent one.
      if (controller !== undefined && !owner.isFenced()) {
        await withTimeout(controller.markResigned(), 2000, 'recording the step-down').catch((err: unknown) => this.log.debug('could not record the step-down', { error: String(err) }));
      }
      await owner.close().catch(() => undefined);
    })();
    this.lastContact = 0;
    if (this.elector !== undefined) void this.elector.resign(why).catch(() => undefined);
    void this.maybeElect().catch(() => undefined);
  }

  // ---- serving ----------------------------------------------------------------------------

  private requireController(): KafkaController {
    if (this.controller === undefined) throw new KafkaError(ErrorCode.NOT_CONTROLLER, 'this broker is not the active controller');
    return this.controller;
  }

  private serve(): void {
    this.router.handle(BrokerRegister, async (req) => {
      const c = this.requireController();
      if (req.clusterId !== null && req.clusterId !== this.clusterIdValue) {
        throw new KafkaError(ErrorCode.INCONSISTENT_CLUSTER_ID, `this cluster is "${this.clusterIdValue}", the broker asked for "${req.clusterId}"`);
      }
      return { nodeId: await c.register(req) };
    });
    this.router.handle(BrokerHeartbeat, (req) => this.requireController().heartbeat(req));
    this.router.handle(AllocateProducerIds, () => this.requireController().allocateProducerIds());
    this.router.handle(ReleasePartitions, async (req) => {
      if (this.releaser === undefined) throw new KafkaError(ErrorCode.BROKER_NOT_AVAILABLE, 'this broker is still starting');
      await this.releaser(req.partitions);
      return { released: req.partitions };
    });
  }

  // ---- lifecycle --------------------------------------------------------------------------

  /** Finds (or becomes) the controller and registers; resolves with this broker's node id. */
  async start(): Promise<number> {
    this.electorLoop = this.elector?.run({
      onStarted: () => {
        void this.takeControl();
      },
      onStopped: () => this.stepDown('the controller Lease was lost'),
    });
    const found = await this.discover();
    if (found !== undefined) this.setController(found);
    this.lastContact = found === undefined ? 0 : Date.now();
    for (let attempt = 0; this.nodeIdValue === undefined; attempt++) {
      if (this.stopped) throw new Error('stopped before registering');
      if (this.controllerAddr === undefined || Date.now() - this.lastContact >= this.cfg.controllerSessionTimeoutMs) await this.maybeElect();
      if (this.nodeIdValue !== undefined) break;
      const c = this.rpc();
      if (c === undefined) {
        // No controller yet (with a Lease: its holder is still taking the log over).
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      try {
        const r = await c.call(
          BrokerRegister,
          { clusterId: this.cfg.clusterId ?? null, host: this.cfg.host, port: this.cfg.port, rack: this.cfg.rack, incarnation: this.incarnation },
          { timeoutMs: 10_000 },
        );
        this.nodeIdValue = r.nodeId;
        this.lastContact = Date.now();
      } catch (err) {
        if (err instanceof RpcRemoteError && err.code === ErrorCode.INCONSISTENT_CLUSTER_ID) throw new Error(err.remoteMessage);
        // NOT_CONTROLLER: it may still be starting, or deposed; after the controller timeout the
        // store says which (a newer `open`), or this broker stands for election.
        this.log.info('registration with the controller failed, retrying', { controller: c.address, attempt, error: String(err) });
        await new Promise((r) => setTimeout(r, Math.min(1000, 100 * 2 ** Math.min(attempt, 4))));
      }
    }
    this.loop = this.heartbeatLoop();
    return this.nodeIdValue;
  }

  /** Storage reports this broker fenced (its WAL was taken over): stop, as for a fenced heartbeat. */
  fencedWhileAlive(why: string): void {
    this.onFenced(why);
  }

  /** The broker serves Kafka requests: it may lead partitions now. */
  setReady(releaser: Releaser): void {
    this.releaser = releaser;
    this.ready = true;
  }

  /** Learns the cluster id from the metadata (brokers that are not the controller). */
  setClusterId(id: string): void {
    this.clusterIdValue = id;
  }

  private async heartbeatLoop(): Promise<void> {
    while (!this.stopped) {
      const started = Date.now();
      const c = this.rpc();
      if (c !== undefined) {
        try {
          const r = await c.call(
            BrokerHeartbeat,
            { nodeId: this.nodeId, incarnation: this.incarnation, ready: this.ready, shuttingDown: this.shuttingDown },
            { timeoutMs: Math.max(1000, this.cfg.controllerSessionTimeoutMs / 2) },
          );
          this.lastContact = Date.now();
          if (r.state === 'fenced') {
            this.onFenced('the controller declared this broker dead (or another process registered at its address)');
            return;
          }
          if (r.drained) this.drained = true;
        } catch (err) {
          const expected = err instanceof RpcUnavailableError || (err instanceof RpcRemoteError && err.code === ErrorCode.NOT_CONTROLLER);
          if (!expected) this.log.warn('heartbeat failed', { error: String(err) });
        }
      }
      if (this.controllerAddr === undefined || Date.now() - this.lastContact >= this.cfg.controllerSessionTimeoutMs) {
        await this.maybeElect().catch((err: unknown) => this.log.error('controller election failed', { error: String(err) }));
      }
      const wait = this.cfg.heartbeatIntervalMs - (Date.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }

  /**
   * Controlled shutdown: asks the controller to move this broker's partitions away and waits until
   * it reports none left (or the deadline passes).
   */
  async drain(deadlineMs: number): Promise<boolean> {
    this.shuttingDown = true;
    const until = Date.now() + deadlineMs;
    while (!this.drained && Date.now() < until && !this.stopped) await new Promise((r) => setTimeout(r, 100));
    return this.drained;
  }

  /** A producer-id block from the controller (retried across controller changes, bounded). */
  async allocateProducerIds(): Promise<{ start: number; count: number }> {
    const until = Date.now() + 30_000;
    for (let attempt = 0; ; attempt++) {
      const c = this.rpc();
      try {
        if (c === undefined) throw new Error('no controller known');
        return await c.call(AllocateProducerIds, { nodeId: this.nodeId }, { timeoutMs: 10_000 });
      } catch (err) {
        if (Date.now() > until) throw new Error(`could not get producer ids from the controller: ${String(err)}`);
        await new Promise((r) => setTimeout(r, Math.min(1000, 100 * 2 ** Math.min(attempt, 4))));
      }
    }
  }

  /**
   * Stops membership. `leaving`: the broker stopped in order (its storage is closed), so it tells
   * the controller to drop it at once, or, being the controller, drops itself and resigns so the
   * brokers elect a successor without waiting for its silence.
   */
  async stop(o: { leaving?: boolean } = {}): Promise<void> {
    this.stopped = true;
    await this.loop;
    if (o.leaving === true && this.controller !== undefined) {
      await this.controller.resign().catch((err: unknown) => this.log.warn('could not resign as controller; the brokers will notice the silence', { error: String(err) }));
    }
    const c = this.client;
    if (o.leaving === true && this.controller === undefined && this.nodeIdValue !== undefined && c !== undefined) {
      await c
        .call(BrokerHeartbeat, { nodeId: this.nodeIdValue, incarnation: this.incarnation, ready: false, shuttingDown: true, leaving: true }, { timeoutMs: 3000 })
        .then(
          () => this.log.info('left the cluster', { nodeId: this.nodeIdValue }),
          (err: unknown) => this.log.warn('could not tell the controller this broker is leaving; it will notice the silence', { error: String(err) }),
        );
    }
    this.controller?.stop();
    this.controller = undefined;
    await this.owner?.close().catch(() => undefined);
    this.owner = undefined;
    // Released only now that the log is closed: the next holder takes over at once.
    await this.elector?.stop();
    await this.electorLoop;
    await this.client?.close();
  }
}
