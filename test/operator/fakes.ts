// An in-memory Kafka topic admin with the same contract as KafkaJsTopicAdmin.
import type { TopicAdmin, TopicAdminFactory, TopicDescription } from '../../operator/src/kafka/admin.js';

export class FakeKafka {
  readonly topics = new Map<string, TopicDescription>();
  readonly calls: string[] = [];
  unreachable = false;
  /** Node id DescribeCluster reports as the active controller. */
  controller: number | undefined = 0;

  factory: TopicAdminFactory = (bootstrap) => {
    const check = (op: string) => {
      this.calls.push(`${op}@${bootstrap.join(',')}`);
      if (this.unreachable) throw new Error(`cannot reach ${bootstrap.join(',')}`);
    };
    const admin: TopicAdmin = {
      describeCluster: async () => {
        check('describeCluster');
        return { controller: this.controller, brokers: this.controller === undefined ? [] : [{ nodeId: this.controller, host: 'broker', port: 9092 }] };
      },
      describeTopic: async (name) => {
        check(`describe:${name}`);
        const t = this.topics.get(name);
        return t ? { partitions: t.partitions, configs: { ...t.configs }, ...(t.topicId ? { topicId: t.topicId } : {}) } : undefined;
      },
      createTopic: async (name, partitions, configs) => {
        check(`create:${name}`);
        if (this.topics.has(name)) throw new Error(`topic ${name} already exists`);
        this.topics.set(name, { partitions, configs: { ...configs }, topicId: Buffer.from(name.padEnd(16, '_').slice(0, 16)).toString('base64url') });
      },
      createPartitions: async (name, total) => {
        check(`partitions:${name}:${total}`);
        const t = this.topics.get(name);
        if (!t) throw new Error(`unknown topic ${name}`);
        if (total <= t.partitions) throw new Error(`INVALID_PARTITIONS: ${total} <= ${t.partitions}`);
        t.partitions = total;
      },
      replaceConfigs: async (name, configs) => {
        check(`configs:${name}`);
        const t = this.topics.get(name);
        if (!t) throw new Error(`unknown topic ${name}`);
        t.configs = { ...configs };
      },
      deleteTopic: async (name) => {
        check(`delete:${name}`);
        this.topics.delete(name);
      },
      close: async () => {},
    };
    return admin;
  };
}
