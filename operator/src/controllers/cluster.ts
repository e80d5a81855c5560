// AutoMQCluster reconciler: a fixed chain of small named steps. Whatever happens, the status is
// written at the end (conditions name the failing step), and a failure is rethrown so the work
// queue retries with backoff.
import { automqClusterSchema, type AutoMQCluster, type ClusterStatus } from '../api/automqcluster.js';
import { PAUSE_ANNOTATION, type Condition } from '../api/common.js';
import { canonicalJson, getCondition, initialConditions, setCondition } from '../api/conditions.js';
import type { KubeClient, ObjectLike } from '../k8s/client.js';
import { isConflict, RESOURCES } from '../k8s/client.js';
import type { Informer, Logger } from '../k8s/informer.js';
import { TerminalError, type HandlerResult } from '../k8s/workqueue.js';
import { clusterBootstrap, type AdminPool } from '../kafka/pool.js';
import type { BrokerLoadTracker } from '../metrics/broker-load.js';
import { checkGracePeriod } from '../model/broker-config.js';
import { clusterIdOf, desiredChildren, serviceAddress, type DesiredChildren, type KubeObject } from '../model/cluster.js';
import { brokerSelector, checkNameLengths, FIELD_MANAGER, LABEL_CLUSTER, LABEL_ZONE, names, selectorString, TEMPLATE_HASH_ANNOTATION } from '../model/names.js';
import { isSettled, planRollout, type DesiredZone, type LiveDeployment, type RolloutPlan } from '../model/rollout.js';
import type { EventRecorder } from './events.js';

export interface DeploymentObj extends ObjectLike {
  metadata: {
    name: string;
    namespace: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { uid: string; controller?: boolean }[];
    managedFields?: { manager?: string; operation?: string; fieldsV1?: { 'f:spec'?: Record<string, unknown> } }[];
  };
  spec?: { replicas?: number };
  status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; readyReplicas?: number; availableReplicas?: number; terminatingReplicas?: number };
}

export interface ServiceObj extends ObjectLike {
  metadata: { name: string; namespace: string; labels?: Record<string, string>; ownerReferences?: { uid: string }[] };
  spec?: { type?: string; ports?: { port: number; nodePort?: number }[] };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

export interface PodObj extends ObjectLike {
  metadata: { name: string; namespace: string; labels?: Record<string, string>; deletionTimestamp?: string };
  status?: { podIP?: string; phase?: string; conditions?: { type: string; status: string }[] };
}

/** Where to reach a cluster's brokers; tests point this at local processes. */
export interface BrokerEndpoints {
  bootstrapServers: string[];
  /**
   * Metrics URL per broker id (pod name), and the address the broker advertises to Kafka clients
   * (pod IP and Kafka port), which is how a pod is matched to its controller-assigned node id.
   */
  metrics: { id: string; zone: string; url: string; kafka?: string }[];
}

export interface ClusterControllerDeps {
  client: KubeClient;
  clusters: Informer<ObjectLike>;
  deployments: Informer<DeploymentObj>;
  services: Informer<ServiceObj>;
  events: EventRecorder;
  logger: Logger;
  now: () => Date;
  loadTracker?: BrokerLoadTracker;
  /** How often a settled cluster's broker load and controller are looked at again (default 30 s). */
  loadIntervalMs?: number;
  /** Overrides how brokers are reached (default: pod IPs from the API, Service DNS names). */
  endpoints?: (cluster: AutoMQCluster) => Promise<BrokerEndpoints | undefined>;
  /** How soon to look again while something is moving. */
  progressPollMs?: number;
  /** Kafka admin connections (shared with the TableTopic controller); without it activeController stays unset. */
  admins?: AdminPool;
  /** Overrides the bootstrap servers of a cluster (tests run brokers as local processes). */
  bootstrapFor?: (cluster: AutoMQCluster) => string[] | undefined;
  /** Longest wait for the Kafka admin API when looking up the active controller. */
  kafkaTimeoutMs?: number;
}

const CONDITION_TYPES = ['Ready', 'Progressing', 'Degraded'] as const;

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

class StepError extends Error {
  constructor(
    readonly step: string,
    err: unknown,
  ) {
    super(`step ${step} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

interface ReconcileState {
  cluster: AutoMQCluster;
  desired?: DesiredChildren;
  plan?: RolloutPlan;
  live: Map<string, DeploymentObj>;
  status: ClusterStatus;
  /** Pod name -> advertised Kafka address, from brokerLoad, for matching node ids. */
  brokerAddresses: Map<string, string>;
  /** Some broker's metrics did not answer, or the active controller is unknown: look again soon. */
  unsure: boolean;
}

export async function applyChild<T extends ObjectLike>(client: KubeClient, obj: ObjectLike, logger: Logger): Promise<T> {
  try {
    return await client.apply<T>(obj, { fieldManager: FIELD_MANAGER });
  } catch (err) {
    if (!isConflict(err)) throw err;
    // Someone else (kubectl edit, another tool) owns a field we set: take it back, loudly.
    logger.warn(`taking ownership of conflicting fields on ${obj.kind} ${obj.metadata?.name}: ${(err as Error).message}`);
    return client.apply<T>(obj, { fieldManager: FIELD_MANAGER, force: true });
  }
}

/** Co-owns Deployment replicas while they pass from the operator to an autoscaler. */
export const REPLICAS_HANDOVER_MANAGER = `${FIELD_MANAGER}-replicas-handover`;

/** Whether the operator's own server-side apply still sets spec.replicas on this Deployment. */
function operatorAppliesReplicas(d: DeploymentObj): boolean {
  return (d.metadata.managedFields ?? []).some((m) => m.manager === FIELD_MANAGER && m.operation === 'Apply' && m.fieldsV1?.['f:spec']?.['f:replicas'] !== undefined);
}

/**
 * `terminating`: the zone's broker pods that are shutting down. The Deployment's own status stops
 * counting a pod once it terminates (terminatingReplicas exists only on newer API servers, behind
 * a feature gate), so the pods are counted directly.
 */
function toLive(d: DeploymentObj, terminatingPods: number): LiveDeployment {
  const terminating = Math.max(terminatingPods, d.status?.terminatingReplicas ?? 0);
  return {
    replicas: d.spec?.replicas ?? 1,
    templateHash: d.metadata.annotations?.[TEMPLATE_HASH_ANNOTATION],
    settled: isSettled(d) && terminating === 0,
    readyReplicas: d.status?.readyReplicas ?? 0,
    terminating,
  };
}

export class ClusterController {
  constructor(private readonly deps: ClusterControllerDeps) {}

  /** Work-queue handler for "namespace/name" keys. */
  async reconcile(key: string): Promise<HandlerResult> {
    const raw = this.deps.clusters.get(key);
    if (!raw) return; // deleted: owner references let the garbage collector remove the children
    const meta = raw.metadata as AutoMQCluster['metadata'];
    if (meta.deletionTimestamp) return;
    const parsed = automqClusterSchema.safeParse(raw);
    let prevStatus = (raw as { status?: ClusterStatus }).status ?? {};
    if (!parsed.success) {
      const msg = `invalid spec: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
      // observedGeneration too: this generation was looked at and is final (a health check that
      // waits for observedGeneration would otherwise show Progressing instead of Degraded).
      await this.writeStatus(raw, prevStatus, { ...prevStatus, conditions: this.failedConditions(prevStatus.conditions, meta.generation, 'InvalidSpec', msg), ...(meta.generation !== undefined ? { observedGeneration: meta.generation } : {}) });
      throw new TerminalError(msg);
    }
    const cluster = parsed.data;
    const generation = cluster.metadata.generation;
    const paused = cluster.metadata.annotations?.[PAUSE_ANNOTATION] === 'true';

    // Every condition exists from the first reconcile on (Unknown until the steps have run), so
    // `kubectl wait --for=condition=Ready` and Argo CD never see a missing condition, even while
    // a slow step (API calls, the Kafka admin API) is still in progress.
    const initial = paused
      ? initialConditions(prevStatus.conditions, CONDITION_TYPES, generation, this.deps.now(), 'ReconciliationPaused', `annotation ${PAUSE_ANNOTATION}=true: not reconciled yet`)
      : initialConditions(prevStatus.conditions, CONDITION_TYPES, generation, this.deps.now(), 'Reconciling', 'first reconcile in progress');
    if (initial) {
      const next = { ...prevStatus, conditions: initial };
      await this.writeStatus(raw, prevStatus, next);
      prevStatus = next;
    }

    if (paused) {
      const conditions = setCondition(prevStatus.conditions, { type: 'Progressing', status: 'False', reason: 'ReconciliationPaused', message: `annotation ${PAUSE_ANNOTATION}=true: children are left as they are` }, generation, this.deps.now());
      await this.writeStatus(raw, prevStatus, { ...prevStatus, conditions });
      return;
    }

    const state: ReconcileState = { cluster, live: new Map(), status: { ...prevStatus }, brokerAddresses: new Map(), unsure: false };
    const steps: [string, (s: ReconcileState) => Promise<void>][] = [
      ['validate', (s) => this.validate(s)],
      ['serviceAccount', (s) => this.applyOne(s.desired!.serviceAccount)],
      ['rbac', async (s) => {
        await this.applyOne(s.desired!.role);
        await this.applyOne(s.desired!.roleBinding);
      }],
      ['configMap', (s) => this.applyOne(s.desired!.configMap)],
      ['services', (s) => this.services(s)],
      ['podDisruptionBudget', (s) => this.applyOne(s.desired!.pdb)],
      ['deployments', (s) => this.deployments(s)],
      ['observe', (s) => this.observe(s)],
      ['brokerLoad', (s) => this.brokerLoad(s)],
      ['activeController', (s) => this.activeController(s)],
    ];

    let failure: StepError | undefined;
    for (const [name, fn] of steps) {
      try {
        await fn(state);
      } catch (err) {
        failure = new StepError(name, err);
        break;
      }
    }

    const now = this.deps.now();
    let conditions: Condition[];
    if (failure) {
      conditions = this.failedConditions(state.status.conditions, generation, 'ReconcileFailed', failure.message);
      this.deps.events.record(raw, 'Warning', 'ReconcileFailed', failure.message);
    } else {
      conditions = this.successConditions(state, now);
    }
    const prevReady = getCondition(prevStatus.conditions, 'Ready')?.status;
    const ready = getCondition(conditions, 'Ready');
    if (ready && prevReady !== ready.status) {
      this.deps.events.record(raw, ready.status === 'True' ? 'Normal' : 'Warning', ready.reason, ready.message || `Ready is ${ready.status}`);
    }
    const status: ClusterStatus = { ...state.status, conditions, ...(generation !== undefined ? { observedGeneration: generation } : {}) };
    await this.writeStatus(raw, prevStatus, status);
    if (failure) {
      if (failure.step === 'validate') throw new TerminalError(failure.message);
      throw failure;
    }
    // While a broker does not answer or the controller is unknown (a broker died, a controller
    // election is running), look again soon, so status.activeController and status.brokers follow
    // a failover within a few poll periods instead of the next resync.
    if (state.plan?.progressing || state.unsure) return { requeueAfterMs: this.deps.progressPollMs ?? 5000 };
    return { requeueAfterMs: this.deps.loadTracker ? (this.deps.loadIntervalMs ?? 30_000) : 0 };
  }

  private failedConditions(prev: Condition[] | undefined, generation: number | undefined, reason: string, message: string): Condition[] {
    const now = this.deps.now();
    let c = setCondition(prev, { type: 'Ready', status: 'False', reason, message }, generation, now);
    c = setCondition(c, { type: 'Degraded', status: 'True', reason, message }, generation, now);
    c = setCondition(c, { type: 'Progressing', status: 'False', reason, message }, generation, now);
    return c;
  }

  private successConditions(state: ReconcileState, now: Date): Condition[] {
    const generation = state.cluster.metadata.generation;
    const desiredTotal = state.cluster.spec.replicas;
    const ready = state.status.readyReplicas ?? 0;
    const waiting = state.plan?.actions.filter((a) => a.action === 'wait' || a.reason !== 'in sync') ?? [];
    const allReady = !state.plan?.progressing && (state.cluster.spec.externalScaling || ready === desiredTotal);
    let c = setCondition(
      state.status.conditions,
      allReady
        ? { type: 'Ready', status: 'True', reason: 'AllBrokersReady', message: `${ready}/${state.status.replicas ?? 0} brokers ready` }
        : { type: 'Ready', status: 'False', reason: 'BrokersNotReady', message: `${ready}/${desiredTotal} brokers ready` },
      generation,
      now,
    );
    c = setCondition(
      c,
      state.plan?.progressing
        ? { type: 'Progressing', status: 'True', reason: waiting.some((a) => a.reason === 'roll') ? 'RollingUpdate' : 'Reconciling', message: waiting.map((a) => `${a.zone}: ${a.reason}`).join('; ') || (state.plan.terminating > 0 ? `waiting for ${state.plan.terminating} terminating broker pod(s) to finish their controlled shutdown` : 'waiting for brokers to settle') }
        : { type: 'Progressing', status: 'False', reason: 'ReconcileComplete', message: 'children match the spec' },
      generation,
      now,
    );
    c = setCondition(c, { type: 'Degraded', status: 'False', reason: 'AsExpected', message: '' }, generation, now);
    return c;
  }

  private async writeStatus(raw: ObjectLike, prev: ClusterStatus, next: ClusterStatus): Promise<void> {
    if (canonicalJson(prev) === canonicalJson(next)) return;
    await this.deps.client.apply(
      { apiVersion: raw.apiVersion, kind: raw.kind, metadata: { name: raw.metadata?.name, namespace: raw.metadata?.namespace }, status: next },
      { fieldManager: FIELD_MANAGER, force: true, subresource: 'status' },
    );
  }

  private async applyOne(obj: KubeObject): Promise<void> {
    await applyChild(this.deps.client, obj, this.deps.logger);
  }

  private async validate(s: ReconcileState): Promise<void> {
    const err = checkNameLengths(s.cluster.metadata.name ?? '', s.cluster.spec.zones.map((z) => z.name)) ?? checkGracePeriod(s.cluster.spec);
    if (err) throw new Error(err);
    s.desired = desiredChildren(s.cluster);
    s.status.clusterId = clusterIdOf(s.cluster);
    s.status.zoneNames = s.cluster.spec.zones.map((z) => z.name).join(',');
    s.status.selector = selectorString(brokerSelector(s.cluster.metadata.name ?? ''));
  }

  private owned(o: { metadata: { ownerReferences?: { uid: string }[] } }, uid: string | undefined): boolean {
    return (o.metadata.ownerReferences ?? []).some((r) => r.uid === uid);
  }

  private async services(s: ReconcileState): Promise<void> {
    const wanted = new Set<string>();
    for (const svc of s.desired!.services) {
      wanted.add(svc.metadata.name);
      await this.applyOne(svc);
    }
    const name = s.cluster.metadata.name ?? '';
    const ns = s.cluster.metadata.namespace ?? 'default';
    for (const svc of this.deps.services.list()) {
      if (svc.metadata.namespace !== ns || svc.metadata.labels?.[LABEL_CLUSTER] !== name) continue;
      if (!wanted.has(svc.metadata.name) && this.owned(svc, s.cluster.metadata.uid)) {
        await this.deps.client.delete(RESOURCES.Service, ns, svc.metadata.name);
        this.deps.events.record(s.cluster, 'Normal', 'ServiceDeleted', `deleted Service ${svc.metadata.name}: no longer in the spec`);
      }
    }
  }

  private async deployments(s: ReconcileState): Promise<void> {
    const name = s.cluster.metadata.name ?? '';
    const ns = s.cluster.metadata.namespace ?? 'default';
    const uid = s.cluster.metadata.uid;
    const liveByZone = new Map<string, DeploymentObj>();
    for (const d of this.deps.deployments.list()) {
      if (d.metadata.namespace !== ns || d.metadata.labels?.[LABEL_CLUSTER] !== name || !this.owned(d, uid)) continue;
      const zone = d.metadata.labels?.[LABEL_ZONE];
      if (zone) liveByZone.set(zone, d);
    }
    const desired: DesiredZone[] = s.desired!.deployments.map((z) => ({ zone: z.zone, replicas: z.replicas, templateHash: z.templateHash }));
    // Zones removed from the spec drain to zero one broker at a time, then their Deployment goes.
    const removed = [...liveByZone.keys()].filter((z) => !desired.some((d) => d.zone === z));
    for (const zone of removed) {
      const l = liveByZone.get(zone)!;
      desired.push({ zone, replicas: 0, templateHash: l.metadata.annotations?.[TEMPLATE_HASH_ANNOTATION] ?? '' });
    }
    // Brokers still in their controlled shutdown hold partitions that are moving: the next broker
    // is removed (or the next zone rolled) only once they are gone.
    const pods = await this.deps.client.list<PodObj>(RESOURCES.Pod, ns, selectorString(brokerSelector(name)));
    const terminating = new Map<string, number>();
    for (const p of pods.items) {
      const zone = p.metadata.labels?.[LABEL_ZONE];
      if (p.metadata.deletionTimestamp && zone) terminating.set(zone, (terminating.get(zone) ?? 0) + 1);
    }
    const live = new Map([...liveByZone].map(([z, d]) => [z, toLive(d, terminating.get(z) ?? 0)]));
    const plan = planRollout(desired, live, s.cluster.spec.externalScaling);
    s.plan = plan;

    for (const action of plan.actions) {
      const zd = s.desired!.deployments.find((d) => d.zone === action.zone);
      const prev = liveByZone.get(action.zone);
      if (!zd) {
        // a removed zone
        if (prev && (prev.spec?.replicas ?? 0) === 0 && live.get(action.zone)?.settled) {
          await this.deps.client.delete(RESOURCES.Deployment, ns, prev.metadata.name);
          this.deps.events.record(s.cluster, 'Normal', 'ZoneRemoved', `deleted Deployment ${prev.metadata.name}: zone ${action.zone} is no longer in the spec`);
          liveByZone.delete(action.zone);
        } else if (prev && action.action === 'apply' && action.replicas !== prev.spec?.replicas) {
          const scaled = await this.deps.client.mergePatch<DeploymentObj>(RESOURCES.Deployment, ns, prev.metadata.name, { spec: { replicas: action.replicas } });
          liveByZone.set(action.zone, scaled);
        }
        continue;
      }
      if (action.action === 'wait') continue;
      const obj = structuredClone(zd.deployment);
      if (!s.cluster.spec.externalScaling) (obj.spec as { replicas?: number }).replicas = action.replicas;
      if (prev && action.reason === 'roll') {
        this.deps.events.record(s.cluster, 'Normal', 'RollingZone', `rolling zone ${action.zone} (template ${zd.templateHash})`);
      }
      if (prev && action.replicas < (prev.spec?.replicas ?? 0)) {
        this.deps.events.record(s.cluster, 'Normal', 'ScalingIn', `zone ${action.zone}: ${prev.spec?.replicas} -> ${action.replicas} brokers (one at a time)`);
      }
      if (prev && s.cluster.spec.externalScaling && operatorAppliesReplicas(prev)) await this.handOverReplicas(prev);
      const applied = await applyChild<DeploymentObj>(this.deps.client, obj, this.deps.logger);
      liveByZone.set(action.zone, applied);
    }
    s.live = liveByZone;
  }

  /**
   * With externalScaling the operator's apply leaves replicas out. A field that disappears from
   * the only apply that owned it is removed, and the API server then defaults it to 1: every
   * zone would drop to one broker at once. So another manager first co-owns the current value
   * (read fresh, not from the cache); the autoscaler's next write then takes it over.
   */
  private async handOverReplicas(prev: DeploymentObj): Promise<void> {
    const live = await this.deps.client.get<DeploymentObj>(RESOURCES.Deployment, prev.metadata.namespace, prev.metadata.name);
    const replicas = live?.spec?.replicas;
    if (replicas === undefined) return;
    await this.deps.client.apply(
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: prev.metadata.name, namespace: prev.metadata.namespace }, spec: { replicas } },
      { fieldManager: REPLICAS_HANDOVER_MANAGER },
    );
    this.deps.logger.info(`Deployment ${prev.metadata.namespace}/${prev.metadata.name}: replicas (${replicas}) handed over to the external autoscaler`);
  }

  private async observe(s: ReconcileState): Promise<void> {
    const name = s.cluster.metadata.name ?? '';
    const ns = s.cluster.metadata.namespace ?? 'default';
    const port = s.cluster.spec.listeners.internal.port;
    let replicas = 0;
    let ready = 0;
    const zones: NonNullable<ClusterStatus['zones']> = [];
    for (const z of s.desired!.deployments) {
      const d = s.live.get(z.zone);
      const r = d?.status?.replicas ?? 0;
      const rr = d?.status?.readyReplicas ?? 0;
      replicas += r;
      ready += rr;
      zones.push({ name: z.zone, replicas: d?.spec?.replicas ?? z.replicas, readyReplicas: rr, bootstrapServers: serviceAddress(names.zoneService(name, z.zone), ns, port) });
    }
    for (const [zone, d] of s.live) {
      if (!s.desired!.deployments.some((z) => z.zone === zone)) {
        replicas += d.status?.replicas ?? 0;
        ready += d.status?.readyReplicas ?? 0;
      }
    }
    const listeners: NonNullable<ClusterStatus['listeners']> = [
      { name: 'internal', type: 'ClusterIP', bootstrapServers: serviceAddress(names.bootstrapService(name), ns, port) },
    ];
    const ext = s.cluster.spec.listeners.external;
    if (ext) {
      for (const z of s.cluster.spec.zones) {
        const svc = this.deps.services.get(`${ns}/${names.externalService(name, z.name)}`);
        let addr = '';
        if (ext.type === 'LoadBalancer') {
          const ing = svc?.status?.loadBalancer?.ingress?.[0];
          const host = ing?.hostname ?? ing?.ip;
          if (host) addr = `${host}:${ext.port}`;
        } else {
          const np = svc?.spec?.ports?.[0]?.nodePort;
          if (np) addr = `<node-address>:${np}`;
        }
        listeners.push({ name: `external-${z.name}`, type: ext.type, bootstrapServers: addr });
      }
    }
    s.status.replicas = replicas;
    s.status.readyReplicas = ready;
    s.status.zones = zones;
    s.status.listeners = listeners;
  }

  private async defaultEndpoints(cluster: AutoMQCluster): Promise<BrokerEndpoints> {
    const name = cluster.metadata.name ?? '';
    const ns = cluster.metadata.namespace ?? 'default';
    const pods = await this.deps.client.list<PodObj>(RESOURCES.Pod, ns, selectorString(brokerSelector(name)));
    return {
      bootstrapServers: [serviceAddress(names.bootstrapService(name), ns, cluster.spec.listeners.internal.port)],
      metrics: pods.items
        .filter((p) => p.status?.podIP && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
        .map((p) => ({
          id: p.metadata.name,
          zone: p.metadata.labels?.[LABEL_ZONE] ?? '',
          url: `http://${p.status!.podIP}:${cluster.spec.metrics.port}/metrics`,
          // The brokers advertise $(POD_IP):<internal port> (see brokerContainer in model/cluster.ts).
          kafka: `${p.status!.podIP}:${cluster.spec.listeners.internal.port}`,
        })),
    };
  }

  /** Best effort: a broker that does not answer is left out of the summary, not a failure. */
  private async brokerLoad(s: ReconcileState): Promise<void> {
    const tracker = this.deps.loadTracker;
    if (!tracker) return;
    const ep = this.deps.endpoints ? await this.deps.endpoints(s.cluster) : await this.defaultEndpoints(s.cluster);
    if (!ep) return;
    const brokers: NonNullable<ClusterStatus['brokers']> = [];
    const loads = await Promise.all(ep.metrics.map(async (m) => ({ m, load: await tracker.scrape(`${s.cluster.metadata.uid}/${m.id}`, m.url) })));
    for (const { m, load } of loads) {
      if (!load) {
        s.unsure = true;
        continue;
      }
      if (m.kafka) s.brokerAddresses.set(m.id, m.kafka);
      // A node id seen on an earlier reconcile is kept until DescribeCluster says otherwise.
      const known = s.status.brokers?.find((b) => b.pod === m.id && b.nodeId !== undefined)?.nodeId;
      brokers.push({ pod: m.id, zone: m.zone, ...(known !== undefined ? { nodeId: known } : {}), partitions: load.partitions, ...(load.bytesInPerSec !== undefined ? { bytesInPerSec: load.bytesInPerSec, bytesOutPerSec: load.bytesOutPerSec } : {}) });
    }
    tracker.forgetExcept(new Set(ep.metrics.map((m) => `${s.cluster.metadata.uid}/${m.id}`)));
    s.status.brokers = brokers;
  }

  /**
   * Best effort, like brokerLoad: the active controller's node id from the Kafka admin API
   * (DescribeCluster), and each broker's controller-assigned node id, matched by the address it
   * advertises. In a one-broker cluster the controller is the broker itself. Left unset while no
   * broker is ready or the cluster does not answer in time: an unknown controller is not a
   * reconcile failure.
   */
  private async activeController(s: ReconcileState): Promise<void> {
    const prev = s.status.activeController;
    delete s.status.activeController;
    const admins = this.deps.admins;
    if (!admins) return;
    const override = this.deps.bootstrapFor?.(s.cluster);
    if (!override && (s.status.readyReplicas ?? 0) === 0) return;
    const bootstrap = clusterBootstrap(s.cluster, this.deps.bootstrapFor);
    try {
      const d = await withDeadline(admins.get(bootstrap).describeCluster(), this.deps.kafkaTimeoutMs ?? 5000, `DescribeCluster at ${bootstrap.join(',')}`);
      const byAddress = new Map(d.brokers.map((b) => [`${b.host}:${b.port}`, b.nodeId]));
      for (const b of s.status.brokers ?? []) {
        const addr = s.brokerAddresses.get(b.pod);
        const id = addr === undefined ? undefined : byAddress.get(addr);
        if (id !== undefined) b.nodeId = id;
        else delete b.nodeId; // not (or no longer) registered at that address
      }
      if (d.controller === undefined) {
        s.unsure = true;
        return;
      }
      s.status.activeController = d.controller;
      if (prev !== undefined && prev !== d.controller) {
        this.deps.events.record(s.cluster, 'Normal', 'ControllerChanged', `active controller moved from node ${prev} to node ${d.controller}`);
      }
    } catch (err) {
      this.deps.logger.debug(`active controller of ${s.cluster.metadata.namespace}/${s.cluster.metadata.name} unknown: ${err instanceof Error ? err.message : String(err)}`);
      s.unsure = true;
      await admins.drop(bootstrap);
    }
  }
}
