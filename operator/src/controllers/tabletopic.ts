// TableTopic reconciler: the CR is the source of truth for its Kafka topic (one-way, like
// Strimzi's topic operator). Partitions only grow; configs set in the CR are enforced and keys
// removed from the CR go back to the cluster default. Deletion runs behind a finalizer only when
// deletionPolicy is Delete, and completes when the cluster is gone, or, when the cluster exists but
// does not answer, once deletionTimeoutMs has passed (saying that the topic may remain).
import { automqClusterSchema, type AutoMQCluster } from '../api/automqcluster.js';
import type { Condition } from '../api/common.js';
import { canonicalJson, initialConditions, setCondition } from '../api/conditions.js';
import { effectiveTopicName, tableTopicSchema, TOPIC_FINALIZER, type TableTopic, type TopicStatus } from '../api/tabletopic.js';
import { clusterBootstrap, type AdminPool } from '../kafka/pool.js';
import type { KubeClient, ObjectLike } from '../k8s/client.js';
import { RESOURCES } from '../k8s/client.js';
import type { Informer, Logger } from '../k8s/informer.js';
import { TerminalError, type HandlerResult } from '../k8s/workqueue.js';
import { FIELD_MANAGER } from '../model/names.js';
import type { EventRecorder } from './events.js';

export interface TopicControllerDeps {
  client: KubeClient;
  topics: Informer<ObjectLike>;
  clusters: Informer<ObjectLike>;
  /** Kafka admin connections, shared with the cluster controller. */
  admins: AdminPool;
  events: EventRecorder;
  logger: Logger;
  now: () => Date;
  /** Overrides the bootstrap servers of a cluster (tests run brokers as local processes). */
  bootstrapFor?: (cluster: AutoMQCluster) => string[] | undefined;
  retryMs?: number;
  /**
   * How long after the deletion request the finalizer keeps retrying a topic delete that fails
   * (cluster unreachable, admin errors) before it gives up and lets the TableTopic go. Default 5 min.
   */
  deletionTimeoutMs?: number;
  /** Longest single Kafka admin call during deletion, so one attempt cannot outlast the timeout by much. */
  kafkaTimeoutMs?: number;
}

export const DEFAULT_TOPIC_DELETION_TIMEOUT_MS = 5 * 60_000;

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

function toConfigStrings(c: Record<string, string | number> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(c ?? {}).map(([k, v]) => [k, String(v)]));
}

export class TopicController {
  constructor(private readonly deps: TopicControllerDeps) {}

  private bootstrap(cluster: AutoMQCluster): string[] {
    return clusterBootstrap(cluster, this.deps.bootstrapFor);
  }

  private liveCluster(ns: string, name: string): AutoMQCluster | undefined {
    const raw = this.deps.clusters.get(`${ns}/${name}`);
    if (!raw) return undefined;
    const p = automqClusterSchema.safeParse(raw);
    return p.success ? p.data : undefined;
  }

  async reconcile(key: string): Promise<HandlerResult> {
    const raw = this.deps.topics.get(key);
    if (!raw) return;
    const meta = raw.metadata as TableTopic['metadata'];
    const ns = meta.namespace ?? 'default';
    let prevStatus: TopicStatus = (raw as { status?: TopicStatus }).status ?? {};
    const parsed = tableTopicSchema.safeParse(raw);

    if (meta.deletionTimestamp) return this.finalize(raw, parsed.success ? parsed.data : undefined);
    if (!parsed.success) {
      const msg = `invalid spec: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
      await this.writeStatus(raw, prevStatus, { ...prevStatus, conditions: this.notReady(prevStatus.conditions, meta.generation, 'InvalidSpec', msg), ...(meta.generation !== undefined ? { observedGeneration: meta.generation } : {}) });
      throw new TerminalError(msg);
    }
    const topic = parsed.data;
    const topicName = effectiveTopicName(topic);

    // Conditions exist from the first reconcile on (Unknown until the topic is checked), so
    // `kubectl wait --for=condition=Ready` and Argo CD never see a missing condition.
    const initial = initialConditions(prevStatus.conditions, ['Ready', 'Degraded'], meta.generation, this.deps.now(), 'Reconciling', `checking topic ${topicName} in cluster ${topic.spec.clusterRef.name}`);
    if (initial) {
      const next = { ...prevStatus, conditions: initial };
      await this.writeStatus(raw, prevStatus, next);
      prevStatus = next;
    }

    // The finalizer exists only while there is cleanup to do (deletionPolicy Delete).
    const hasFinalizer = (meta.finalizers ?? []).includes(TOPIC_FINALIZER);
    if (topic.spec.deletionPolicy === 'Delete' && !hasFinalizer) await this.setFinalizers(raw, [...(meta.finalizers ?? []), TOPIC_FINALIZER]);
    if (topic.spec.deletionPolicy === 'Retain' && hasFinalizer) await this.setFinalizers(raw, (meta.finalizers ?? []).filter((f) => f !== TOPIC_FINALIZER));

    const status: TopicStatus = { ...prevStatus, topicName, observedGeneration: meta.generation };
    const fail = async (reason: string, message: string, retry: boolean): Promise<HandlerResult> => {
      await this.writeStatus(raw, prevStatus, { ...status, conditions: this.notReady(prevStatus.conditions, meta.generation, reason, message) });
      if (retry) return { requeueAfterMs: this.deps.retryMs ?? 30_000 };
      throw new TerminalError(message);
    };

    // Oldest CR wins when two CRs name the same topic in the same cluster.
    const rival = this.deps.topics
      .list()
      .map((o) => tableTopicSchema.safeParse(o))
      .filter((p) => p.success)
      .map((p) => p.data)
      .filter((t) => t.metadata.namespace === ns && t.metadata.name !== meta.name && t.spec.clusterRef.name === topic.spec.clusterRef.name && effectiveTopicName(t) === topicName)
      .find((t) => (t.metadata.creationTimestamp ?? '') < (meta.creationTimestamp ?? '') || ((t.metadata.creationTimestamp ?? '') === (meta.creationTimestamp ?? '') && (t.metadata.name ?? '') < (meta.name ?? '')));
    if (rival) return fail('DuplicateTopic', `TableTopic ${rival.metadata.name} already manages topic ${topicName} in cluster ${topic.spec.clusterRef.name}`, true);

    const cluster = this.liveCluster(ns, topic.spec.clusterRef.name);
    if (!cluster) return fail('ClusterNotFound', `AutoMQCluster ${topic.spec.clusterRef.name} not found in namespace ${ns}`, true);

    const bootstrap = this.bootstrap(cluster);
    const admin = this.deps.admins.get(bootstrap);
    const configs = toConfigStrings(topic.spec.config);
    let step = 'describeTopic';
    try {
      const current = await admin.describeTopic(topicName);
      if (!current) {
        step = 'createTopic';
        await admin.createTopic(topicName, topic.spec.partitions, configs);
        this.deps.events.record(raw, 'Normal', 'TopicCreated', `created topic ${topicName} with ${topic.spec.partitions} partitions`);
        status.partitions = topic.spec.partitions;
        step = 'describeTopic';
        const created = await admin.describeTopic(topicName);
        if (created?.topicId) status.topicId = created.topicId;
      } else {
        if (current.partitions > topic.spec.partitions) {
          return fail('PartitionsDecreased', `topic ${topicName} has ${current.partitions} partitions but spec.partitions is ${topic.spec.partitions}: partitions cannot be decreased; set spec.partitions to at least ${current.partitions}`, false);
        }
        if (current.partitions < topic.spec.partitions) {
          step = 'createPartitions';
          await admin.createPartitions(topicName, topic.spec.partitions);
          this.deps.events.record(raw, 'Normal', 'PartitionsIncreased', `topic ${topicName}: ${current.partitions} -> ${topic.spec.partitions} partitions`);
        }
        if (canonicalJson(current.configs) !== canonicalJson(configs)) {
          step = 'alterConfigs';
          await admin.replaceConfigs(topicName, configs);
          this.deps.events.record(raw, 'Normal', 'ConfigUpdated', `topic ${topicName}: configs updated`);
        }
        status.partitions = topic.spec.partitions;
        if (current.topicId) status.topicId = current.topicId;
      }
    } catch (err) {
      await this.deps.admins.drop(bootstrap);
      const message = `step ${step} failed for topic ${topicName}: ${err instanceof Error ? err.message : String(err)}`;
      await this.writeStatus(raw, prevStatus, { ...status, conditions: this.notReady(prevStatus.conditions, meta.generation, 'KafkaAdminError', message) });
      throw new Error(message);
    }
    const now = this.deps.now();
    let c = setCondition(prevStatus.conditions, { type: 'Ready', status: 'True', reason: 'TopicReady', message: `topic ${topicName} has ${status.partitions} partitions` }, meta.generation, now);
    c = setCondition(c, { type: 'Degraded', status: 'False', reason: 'AsExpected', message: '' }, meta.generation, now);
    await this.writeStatus(raw, prevStatus, { ...status, conditions: c });
    return;
  }

  private notReady(prev: Condition[] | undefined, generation: number | undefined, reason: string, message: string): Condition[] {
    const now = this.deps.now();
    const c = setCondition(prev, { type: 'Ready', status: 'False', reason, message }, generation, now);
    return setCondition(c, { type: 'Degraded', status: 'True', reason, message }, generation, now);
  }

  private async finalize(raw: ObjectLike, topic: TableTopic | undefined): Promise<HandlerResult> {
    const meta = raw.metadata as TableTopic['metadata'];
    const finalizers = meta.finalizers ?? [];
    if (!finalizers.includes(TOPIC_FINALIZER)) return;
    if (topic && topic.spec.deletionPolicy === 'Delete') {
      const clusterName = topic.spec.clusterRef.name;
      const cluster = this.liveCluster(meta.namespace ?? 'default', clusterName);
      // A cluster that is gone or going takes its topics with it: nothing left to clean up.
      if (cluster && !cluster.metadata.deletionTimestamp) {
        const name = effectiveTopicName(topic);
        const bootstrap = this.bootstrap(cluster);
        try {
          await withDeadline(this.deps.admins.get(bootstrap).deleteTopic(name), this.deps.kafkaTimeoutMs ?? 30_000, `DeleteTopics ${name} at ${bootstrap.join(',')}`);
        } catch (err) {
          await this.deps.admins.drop(bootstrap);
          return this.deletionFailed(raw, topic, name, err);
        }
        this.deps.events.record(raw, 'Normal', 'TopicDeleted', `deleted topic ${name}`);
      }
    }
    await this.setFinalizers(raw, finalizers.filter((f) => f !== TOPIC_FINALIZER));
    return;
  }

  /**
   * A topic delete failed. Until deletionTimeoutMs after the deletion request the failure is
   * retried (and shown as a condition); after that the finalizer goes anyway, with a Warning Event
   * and condition saying the topic may remain: a cluster that exists but never answers (wrong
   * address, scaled to zero, network policy) must not keep the TableTopic, and the namespace
   * holding it, in deletion forever.
   */
  private async deletionFailed(raw: ObjectLike, topic: TableTopic, name: string, err: unknown): Promise<HandlerResult> {
    const meta = raw.metadata as TableTopic['metadata'];
    const prevStatus: TopicStatus = (raw as { status?: TopicStatus }).status ?? {};
    const timeoutMs = this.deps.deletionTimeoutMs ?? DEFAULT_TOPIC_DELETION_TIMEOUT_MS;
    const requested = Date.parse(meta.deletionTimestamp ?? '');
    const now = this.deps.now().getTime();
    const giveUpAt = (Number.isFinite(requested) ? requested : now) + timeoutMs;
    const why = err instanceof Error ? err.message : String(err);
    const where = `topic ${name} in cluster ${topic.spec.clusterRef.name}`;
    if (now < giveUpAt) {
      const message = `deleting ${where} failed: ${why}; retrying until ${new Date(giveUpAt).toISOString()}, then the TableTopic is released and the topic may remain in the cluster`;
      await this.writeStatus(raw, prevStatus, { ...prevStatus, conditions: this.notReady(prevStatus.conditions, meta.generation, 'TopicDeletionFailed', message) });
      this.deps.logger.warn(message);
      return { requeueAfterMs: Math.max(100, Math.min(this.deps.retryMs ?? 30_000, giveUpAt - now)) };
    }
    const message = `gave up deleting ${where} after ${Math.round(timeoutMs / 1000)} s (last error: ${why}): the topic may remain in the cluster; delete it with the Kafka admin tools once the cluster answers`;
    const written = await this.writeStatus(raw, prevStatus, { ...prevStatus, conditions: this.notReady(prevStatus.conditions, meta.generation, 'TopicDeletionAbandoned', message) });
    this.deps.events.record(raw, 'Warning', 'TopicDeletionAbandoned', message);
    this.deps.logger.warn(message);
    // The status write moved the resourceVersion the finalizer patch compares against.
    await this.setFinalizers(written ?? raw, (meta.finalizers ?? []).filter((f) => f !== TOPIC_FINALIZER));
    return;
  }

  private async setFinalizers(raw: ObjectLike, finalizers: string[]): Promise<void> {
    // resourceVersion makes this a compare-and-swap: a concurrent change fails with 409 and retries.
    await this.deps.client.mergePatch(RESOURCES.TableTopic, raw.metadata?.namespace, raw.metadata?.name ?? '', {
      metadata: { finalizers, resourceVersion: raw.metadata?.resourceVersion },
    });
  }

  /** Returns the object as written, or undefined when nothing changed. */
  private async writeStatus(raw: ObjectLike, prev: TopicStatus, next: TopicStatus): Promise<ObjectLike | undefined> {
    if (canonicalJson(prev) === canonicalJson(next)) return undefined;
    return this.deps.client.apply(
      { apiVersion: raw.apiVersion, kind: raw.kind, metadata: { name: raw.metadata?.name, namespace: raw.metadata?.namespace }, status: next },
      { fieldManager: FIELD_MANAGER, force: true, subresource: 'status' },
    );
  }
}
