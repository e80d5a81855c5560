/**
 * Owns the open PartitionLogs of this broker: opened when a topic is loaded or created, closed
 * when it is deleted. Lookups are synchronous so produce requests keep their arrival order.
 */
import type { KvStore, StreamClient } from '../../s3stream/api.js';
import type { TopicRecord } from '../topics/topic-registry.js';
import { PartitionLog } from './partition-log.js';

export class LogManager {
  private readonly logs = new Map<string, PartitionLog[]>();

  constructor(
    private readonly streams: StreamClient,
    private readonly kv: KvStore,
  ) {}

  get(topic: string, partition: number): PartitionLog | undefined {
    return this.logs.get(topic)?.[partition];
  }

  partitions(topic: string): readonly PartitionLog[] {
    return this.logs.get(topic) ?? [];
  }

  all(): PartitionLog[] {
    return [...this.logs.values()].flat();
  }

  /** Opens the logs of partitions not open yet (new topic or added partitions). */
  async open(topic: TopicRecord): Promise<void> {
    const open = this.logs.get(topic.name) ?? [];
    const next = [...open];
    for (let p = open.length; p < topic.partitions.length; p++) {
      const rec = topic.partitions[p]!;
      const stream = await this.streams.openStream(rec.streamId);
      next.push(
        await PartitionLog.open({ topic: topic.name, topicId: topic.id, partition: p, stream, leaderEpoch: rec.leaderEpoch, kv: this.kv }),
      );
    }
    this.logs.set(topic.name, next);
  }

  async close(topic: string): Promise<void> {
    const logs = this.logs.get(topic) ?? [];
    this.logs.delete(topic);
    await Promise.all(logs.map((l) => l.close()));
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.logs.keys()].map((t) => this.close(t)));
  }
}
