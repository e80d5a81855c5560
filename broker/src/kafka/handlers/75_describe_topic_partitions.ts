/**
 * DescribeTopicPartitions: v0. What Kafka 3.8+ tools (kafka-topics --describe) use instead of
 * Metadata: topics in name order (all topics when none is named), partitions paged by
 * responsePartitionLimit with a cursor. Leaders from the ClusterView, as Metadata reports them.
 * There are no replicas, so the eligible-leader lists are empty, as Kafka reports them without ELR.
 */
import { ErrorCode } from '../../protocol/errors.js';
import { DescribeTopicPartitions } from '../../protocol/messages/75_describe_topic_partitions.js';
import { defineHandler } from '../handler.js';
import { describedLeadership } from '../cluster/leadership.js';

export default defineHandler(DescribeTopicPartitions, { min: 0, max: 0 }, (req, _ctx, broker) => {
  const registry = broker.topicAdmin.registry;
  const names = (req.topics.length === 0 ? registry.list().map((t) => t.name) : req.topics.map((t) => t.name)).sort();
  const limit = Math.max(1, req.responsePartitionLimit);
  const topics = [];
  let budget = limit;
  let nextCursor: { topicName: string; partitionIndex: number } | null = null;
  for (const name of names) {
    if (req.cursor && name < req.cursor.topicName) continue;
    const t = registry.get(name);
    if (!t) {
      topics.push({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, partitions: [] });
      continue;
    }
    if (budget === 0) {
      nextCursor = { topicName: name, partitionIndex: 0 };
      break;
    }
    const first = req.cursor && name === req.cursor.topicName ? Math.max(0, req.cursor.partitionIndex) : 0;
    const partitions = [];
    for (let i = first; i < t.partitions.length; i++) {
      if (budget === 0) {
        nextCursor = { topicName: name, partitionIndex: i };
        break;
      }
      budget--;
      partitions.push({
        partitionIndex: i,
        ...describedLeadership(broker, name, i, t.partitions[i]!.leaderEpoch),
        eligibleLeaderReplicas: [],
        lastKnownElr: [],
        offlineReplicas: [],
      });
    }
    topics.push({ errorCode: 0, name, topicId: t.id, isInternal: false, partitions });
    if (nextCursor) break;
  }
  return { throttleTimeMs: 0, topics, nextCursor };
});
