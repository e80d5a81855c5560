/** AlterPartitionReassignments (key 45), versions 0, flexible 0+. */
import { api, f, message } from '../schema.js';

export const AlterPartitionReassignments = api(
  message({
    name: 'AlterPartitionReassignmentsRequest',
    apiKey: 45,
    type: 'request',
    valid: '0',
    flexible: '0+',
    fields: {
      timeoutMs: f.int32({ default: 60000 }),
      topics: f.array({
        name: f.string(),
        partitions: f.array({
          partitionIndex: f.int32(),
          // null cancels a pending reassignment
          replicas: f.narrayOf(f.int32(), { nullable: '0+' }),
        }),
      }),
    },
  }),
  message({
    name: 'AlterPartitionReassignmentsResponse',
    apiKey: 45,
    type: 'response',
    valid: '0',
    flexible: '0+',
    fields: {
      throttleTimeMs: f.int32(),
      errorCode: f.int16(),
      errorMessage: f.nstring({ nullable: '0+', default: '' }),
      responses: f.array({
        name: f.string(),
        partitions: f.array({
          partitionIndex: f.int32(),
          errorCode: f.int16(),
          errorMessage: f.nstring({ nullable: '0+', default: '' }),
        }),
      }),
    },
  }),
);
