// The operator's Kafka dependency: topic management through the public admin API (kafkajs, plus
// the project's own codec for the topic ids kafkajs cannot fetch).
import kafkajs, { type Admin } from 'kafkajs';
import { fetchTopicIds } from './topic-ids.js';

// kafkajs is CommonJS: its named exports are reachable through the default import only.
const { ConfigResourceTypes, Kafka, logLevel } = kafkajs;

export interface TopicDescription {
  partitions: number;
  /** Kafka's topic id in display form (22-character URL-safe base64); undefined if the broker has none. */
  topicId?: string;
  /** Dynamic (topic-level) configs only; defaults inherited from the broker are left out. */
  configs: Record<string, string>;
}

export interface ClusterDescription {
  /** Node id of the active controller; undefined when the cluster does not say. */
  controller: number | undefined;
  brokers: { nodeId: number; host: string; port: number }[];
}

export interface TopicAdmin {
  /** DescribeCluster (or Metadata): the active controller and the live brokers. */
  describeCluster(): Promise<ClusterDescription>;
  describeTopic(name: string): Promise<TopicDescription | undefined>;
  createTopic(name: string, partitions: number, configs: Record<string, string>): Promise<void>;
  createPartitions(name: string, totalCount: number): Promise<void>;
  /** Sets exactly these topic-level configs; keys not listed go back to the cluster default. */
  replaceConfigs(name: string, configs: Record<string, string>): Promise<void>;
  deleteTopic(name: string): Promise<void>;
  close(): Promise<void>;
}

export type TopicAdminFactory = (bootstrapServers: string[]) => TopicAdmin;

const TOPIC_CONFIG_SOURCE = 1; // DescribeConfigs: DYNAMIC_TOPIC_CONFIG

function isUnknownTopic(err: unknown): boolean {
  const e = err as { type?: string; message?: string; errors?: unknown[] };
  if (e?.type === 'UNKNOWN_TOPIC_OR_PARTITION') return true;
  if (Array.isArray(e?.errors)) return e.errors.some(isUnknownTopic);
  return /does not host this topic-partition|UNKNOWN_TOPIC_OR_PARTITION/i.test(e?.message ?? '');
}

export class KafkaJsTopicAdmin implements TopicAdmin {
  private admin: Admin | undefined;
  private connecting: Promise<Admin> | undefined;

  constructor(
    private readonly brokers: string[],
    private readonly clientId = 'automq-operator',
  ) {}

  private async get(): Promise<Admin> {
    if (this.admin) return this.admin;
    this.connecting ??= (async () => {
      const kafka = new Kafka({ clientId: this.clientId, brokers: this.brokers, logLevel: logLevel.NOTHING, connectionTimeout: 5000, requestTimeout: 15000, retry: { retries: 2 } });
      const admin = kafka.admin();
      try {
        await admin.connect();
      } catch (err) {
        this.connecting = undefined;
        throw new Error(`cannot reach the cluster's Kafka admin API at ${this.brokers.join(',')}: ${err instanceof Error ? err.message : String(err)}`);
      }
      this.admin = admin;
      return admin;
    })();
    return this.connecting;
  }

  async describeCluster(): Promise<ClusterDescription> {
    const admin = await this.get();
    const d = await admin.describeCluster();
    // kafkajs reports "no controller" as null or -1 depending on the protocol version.
    const controller = typeof d.controller === 'number' && d.controller >= 0 ? d.controller : undefined;
    return { controller, brokers: d.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })) };
  }

  async describeTopic(name: string): Promise<TopicDescription | undefined> {
    const admin = await this.get();
    const topics = await admin.listTopics();
    if (!topics.includes(name)) return undefined;
    const md = await admin.fetchTopicMetadata({ topics: [name] });
    const t = md.topics.find((x) => x.name === name);
    if (!t) return undefined;
    const cfg = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name }] });
    const configs: Record<string, string> = {};
    for (const r of cfg.resources) {
      for (const e of r.configEntries) {
        const source = (e as { configSource?: number }).configSource;
        const dynamic = source !== undefined ? source === TOPIC_CONFIG_SOURCE : !e.isDefault;
        if (dynamic && e.configValue !== null && !e.isSensitive) configs[e.configName] = e.configValue;
      }
    }
    const topicId = (await fetchTopicIds(this.brokers, [name])).get(name);
    return { partitions: t.partitions.length, configs, ...(topicId ? { topicId } : {}) };
  }

  async createTopic(name: string, partitions: number, configs: Record<string, string>): Promise<void> {
    const admin = await this.get();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: name, numPartitions: partitions, configEntries: Object.entries(configs).map(([n, value]) => ({ name: n, value })) }],
    });
  }

  async createPartitions(name: string, totalCount: number): Promise<void> {
    const admin = await this.get();
    await admin.createPartitions({ topicPartitions: [{ topic: name, count: totalCount }] });
  }

  async replaceConfigs(name: string, configs: Record<string, string>): Promise<void> {
    const admin = await this.get();
    // Non-incremental AlterConfigs replaces the whole topic-level set: absent keys are reset.
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name, configEntries: Object.entries(configs).map(([n, value]) => ({ name: n, value })) }],
    });
  }

  async deleteTopic(name: string): Promise<void> {
    const admin = await this.get();
    try {
      await admin.deleteTopics({ topics: [name], timeout: 15000 });
    } catch (err) {
      if (!isUnknownTopic(err)) throw err;
    }
  }

  async close(): Promise<void> {
    const a = this.admin;
    this.admin = undefined;
    this.connecting = undefined;
    await a?.disconnect().catch(() => undefined);
  }
}

export const kafkaJsAdminFactory: TopicAdminFactory = (brokers) => new KafkaJsTopicAdmin(brokers);
