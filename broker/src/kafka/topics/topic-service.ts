/**
 * Topic administration: create, delete, add partitions, alter configs. Each partition gets its
 * own stream. Errors are returned as Kafka error codes with a message, never thrown at handlers.
 *
 * Logs are never opened or closed here: changing the catalogue changes leadership (the ClusterView
 * follows it), the LeadershipReconciler opens or releases the partitions this broker leads, and
 * admin operations wait for that (`ownership.settled()`) before answering.
 */
import type { Logger } from 'winston';
import type { KvStore, StreamClient } from '../../s3stream/api.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { BrokerConfig } from '../config/broker-config.js';
import { effectiveTopicConfig, validateTopicConfigs } from '../config/topic-config.js';
import type { LogManager } from '../log/log-manager.js';
import type { LeadershipReconciler } from '../log/leadership-reconciler.js';
import { topicNameProblem } from './topic-names.js';
import { TopicRegistry, type TopicRecord } from './topic-registry.js';

export interface TopicResult {
  errorCode: number;
  errorMessage: string | null;
  topic?: TopicRecord;
}

export const MAX_PARTITIONS = 10_000;

const ok = (topic?: TopicRecord): TopicResult => ({ errorCode: 0, errorMessage: null, ...(topic ? { topic } : {}) });
const fail = (errorCode: number, errorMessage: string): TopicResult => ({ errorCode, errorMessage });

export class TopicService {
  constructor(
    readonly registry: TopicRegistry,
    private readonly logs: LogManager,
    private readonly ownership: Pick<LeadershipReconciler, 'settled'>,
    private readonly streams: StreamClient,
    private readonly kv: KvStore,
    readonly config: BrokerConfig,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /** Checks a create request without doing it (validateOnly and the real path share it). */
  checkCreate(name: string, numPartitions: number, replicationFactor: number, configs: Record<string, string>): TopicResult | undefined {
    const nameProblem = topicNameProblem(name);
    if (nameProblem) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem);
    if (this.registry.get(name)) return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `topic "${name}" already exists`);
    const n = numPartitions === -1 ? this.config.int('num.partitions') : numPartitions;
    if (n < 1 || n > MAX_PARTITIONS) return fail(ErrorCode.INVALID_PARTITIONS, `number of partitions must be between 1 and ${MAX_PARTITIONS}, got ${numPartitions}`);
    if (replicationFactor !== -1 && replicationFactor < 1) {
      return fail(ErrorCode.INVALID_REPLICATION_FACTOR, `replication factor must be -1 or at least 1, got ${replicationFactor}`);
    }
    const problem = validateTopicConfigs(configs);
    if (problem) return fail(ErrorCode.INVALID_CONFIG, problem);
    return undefined;
  }

  create(name: string, numPartitions: number, replicationFactor: number, configs: Record<string, string>): Promise<TopicResult> {
    return this.registry.serialize(async () => {
      const problem = this.checkCreate(name, numPartitions, replicationFactor, configs);
      if (problem) return problem;
      const n = numPartitions === -1 ? this.config.int('num.partitions') : numPartitions;
      const partitions = [];
      for (let p = 0; p < n; p++) {
        const stream = await this.streams.createStream();
        partitions.push({ streamId: stream.id, leaderEpoch: 0 });
        await stream.close();
      }
      const topic: TopicRecord = { name, id: TopicRegistry.newTopicId(), partitions, configs: { ...configs }, createdAtMs: this.now() };
      await this.registry.put(topic);
      await this.ownership.settled();
      this.log.info('topic created', { topic: name, topicId: topic.id, partitions: n });
      return ok(topic);
    });
  }

  /** Creates a topic with broker defaults if auto-creation is on; used by Metadata. */
  async autoCreate(name: string): Promise<TopicResult> {
    if (!this.config.bool('auto.create.topics.enable')) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${name}" does not exist`);
    const r = await this.create(name, -1, -1, {});
    if (r.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS) return ok(this.registry.get(name));
    return r;
  }

  delete(name: string): Promise<TopicResult> {
    return this.registry.serialize(async () => {
      if (!this.config.bool('delete.topic.enable')) return fail(ErrorCode.TOPIC_DELETION_DISABLED, 'delete.topic.enable is false');
      const topic = this.registry.get(name);
      if (!topic) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${name}" does not exist`);
      // Removing the topic releases its partitions (appends accepted so far become durable first);
      // only then are its streams deleted.
      await this.registry.remove(name);
      await this.ownership.settled();
      for (let p = 0; p < topic.partitions.length; p++) {
        await this.kv.delete(`producers/${topic.id}/${p}`);
        await this.streams.deleteStream(topic.partitions[p]!.streamId);
      }
      this.log.info('topic deleted', { topic: name, topicId: topic.id });
      return ok(topic);
    });
  }

  checkAddPartitions(name: string, total: number): TopicResult | undefined {
    const topic = this.registry.get(name);
    if (!topic) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${name}" does not exist`);
    if (total <= topic.partitions.length) {
      return fail(ErrorCode.INVALID_PARTITIONS, `topic "${name}" has ${topic.partitions.length} partitions; the new count ${total} must be larger`);
    }
    if (total > MAX_PARTITIONS) return fail(ErrorCode.INVALID_PARTITIONS, `at most ${MAX_PARTITIONS} partitions`);
    return undefined;
  }

  addPartitions(name: string, total: number): Promise<TopicResult> {
    return this.registry.serialize(async () => {
      const problem = this.checkAddPartitions(name, total);
      if (problem) return problem;
      const topic = this.registry.get(name)!;
      const partitions = [...topic.partitions];
      while (partitions.length < total) {
        const stream = await this.streams.createStream();
        partitions.push({ streamId: stream.id, leaderEpoch: 0 });
        await stream.close();
      }
      const next: TopicRecord = { ...topic, partitions };
      await this.registry.put(next);
      await this.ownership.settled();
      this.log.info('partitions added', { topic: name, partitions: total });
      return ok(next);
    });
  }

  /** Replaces (full) or patches (incremental) a topic's config overrides. */
  alterConfigs(name: string, change: (current: Record<string, string>) => Record<string, string>, validateOnly: boolean): Promise<TopicResult> {
    return this.registry.serialize(async () => {
      const topic = this.registry.get(name);
      if (!topic) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${name}" does not exist`);
      const configs = change({ ...topic.configs });
      const problem = validateTopicConfigs(configs);
      if (problem) return fail(ErrorCode.INVALID_CONFIG, problem);
      if (validateOnly) return ok(topic);
      const next: TopicRecord = { ...topic, configs };
      await this.registry.put(next);
      this.log.info('topic configs altered', { topic: name, configs });
      return ok(next);
    });
  }

  /** Effective value of a topic config. */
  topicConfig(topic: TopicRecord, name: string): string {
    return effectiveTopicConfig(name, topic.configs, this.config.all());
  }

  /** Applies retention.ms and retention.bytes to every partition. */
  async enforceRetention(): Promise<void> {
    const now = this.now();
    for (const topic of this.registry.list()) {
      const ms = Number(this.topicConfig(topic, 'retention.ms'));
      const bytes = Number(this.topicConfig(topic, 'retention.bytes'));
      for (const log of this.logs.partitions(topic.name)) {
        try {
          if (ms >= 0) await log.stream.retainSince(now - ms);
          if (bytes >= 0) await log.stream.retainBytes(bytes);
        } catch (err) {
          this.log.warn('retention failed', { topic: topic.name, partition: log.partition, error: (err as Error).message });
        }
      }
    }
  }
}
