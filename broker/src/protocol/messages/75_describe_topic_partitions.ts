/** DescribeTopicPartitions (key 75), versions 0, flexible 0+. Paged topic/partition metadata (Kafka 3.8+ tools). */
import { api, f, message } from '../schema.js';

const cursor = {
  topicName: f.string(),
  partitionIndex: f.int32(),
};

export const DescribeTopicPartitions = api(
  message({
    name: 'DescribeTopicPartitionsRequest',
    apiKey: 75,
    type: 'request',
    valid: '0',
    flexible: '0+',
    fields: {
      topics: f.array({
        name: f.string(),
      }),
      responsePartitionLimit: f.int32({ default: 2000 }),
      cursor: f.nstruct(cursor, { nullable: '0+' }),
    },
  }),
  message({
    name: 'DescribeTopicPartitionsResponse',
    apiKey: 75,
    type: 'response',
    valid: '0',
    flexible: '0+',
    fields: {
      throttleTimeMs: f.int32(),
      topics: f.array({
        errorCode: f.int16(),
        name: f.nstring({ nullable: '0+', default: '' }),
        topicId: f.uuid(),
        isInternal: f.bool({ default: false }),
        partitions: f.array({
          errorCode: f.int16(),
          partitionIndex: f.int32(),
          leaderId: f.int32(),
          leaderEpoch: f.int32({ default: -1 }),
          replicaNodes: f.arrayOf(f.int32()),
          isrNodes: f.arrayOf(f.int32()),
          eligibleLeaderReplicas: f.narrayOf(f.int32(), { nullable: '0+' }),
          lastKnownElr: f.narrayOf(f.int32(), { nullable: '0+' }),
          offlineReplicas: f.arrayOf(f.int32()),
        }),
        topicAuthorizedOperations: f.int32({ default: -2147483648 }),
      }),
      nextCursor: f.nstruct(cursor, { nullable: '0+' }),
    },
  }),
);
