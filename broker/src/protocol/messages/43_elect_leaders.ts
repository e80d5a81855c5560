/** ElectLeaders (key 43), versions 0-2, flexible 2+. */
import { api, f, message } from '../schema.js';

export const ElectLeaders = api(
  message({
    name: 'ElectLeadersRequest',
    apiKey: 43,
    type: 'request',
    valid: '0-2',
    flexible: '2+',
    fields: {
      // 0: preferred, 1: unclean (v0 is always preferred)
      electionType: f.int8({ v: '1+' }),
      // null means every partition
      topicPartitions: f.narray(
        {
          topic: f.string(),
          partitions: f.arrayOf(f.int32()),
        },
        { nullable: '0+', default: [] },
      ),
      timeoutMs: f.int32({ default: 60000 }),
    },
  }),
  message({
    name: 'ElectLeadersResponse',
    apiKey: 43,
    type: 'response',
    valid: '0-2',
    flexible: '2+',
    fields: {
      throttleTimeMs: f.int32(),
      errorCode: f.int16({ v: '1+' }),
      replicaElectionResults: f.array({
        topic: f.string(),
        partitionResult: f.array({
          partitionId: f.int32(),
          errorCode: f.int16(),
          errorMessage: f.nstring({ nullable: '0+', default: '' }),
        }),
      }),
    },
  }),
);
