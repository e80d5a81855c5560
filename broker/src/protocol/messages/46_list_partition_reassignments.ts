/** ListPartitionReassignments (key 46), versions 0, flexible 0+. */
import { api, f, message } from '../schema.js';

export const ListPartitionReassignments = api(
  message({
    name: 'ListPartitionReassignmentsRequest',
    apiKey: 46,
    type: 'request',
    valid: '0',
    flexible: '0+',
    fields: {
      timeoutMs: f.int32({ default: 60000 }),
      // null lists every ongoing reassignment
      topics: f.narray(
        {
          name: f.string(),
          partitionIndexes: f.arrayOf(f.int32()),
        },
        { nullable: '0+' },
      ),
    },
  }),
  message({
    name: 'ListPartitionReassignmentsResponse',
    apiKey: 46,
    type: 'response',
    valid: '0',
    flexible: '0+',
    fields: {
      throttleTimeMs: f.int32(),
      errorCode: f.int16(),
      errorMessage: f.nstring({ nullable: '0+', default: '' }),
      topics: f.array({
        name: f.string(),
        partitions: f.array({
          partitionIndex: f.int32(),
          replicas: f.arrayOf(f.int32()),
          addingReplicas: f.arrayOf(f.int32()),
          removingReplicas: f.arrayOf(f.int32()),
        }),
      }),
    },
  }),
);
