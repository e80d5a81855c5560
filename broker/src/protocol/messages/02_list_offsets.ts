/** ListOffsets (key 2), versions 0-10, flexible 6+. */
import { api, f, message } from '../schema.js';

export const ListOffsets = api(
  message({
    name: 'ListOffsetsRequest',
    apiKey: 2,
    type: 'request',
    valid: '0-10',
    flexible: '6+',
    fields: {
      replicaId: f.int32(),
      isolationLevel: f.int8({ v: '2+' }),
      topics: f.array({
        name: f.string(),
        partitions: f.array({
          partitionIndex: f.int32(),
          currentLeaderEpoch: f.int32({ v: '4+', default: -1 }),
          // a timestamp, or -1 (latest), -2 (earliest), -3 (max timestamp), ...
          timestamp: f.int64(),
          maxNumOffsets: f.int32({ v: '0', default: 1 }),
        }),
      }),
      timeoutMs: f.int32({ v: '10+' }),
    },
  }),
  message({
    name: 'ListOffsetsResponse',
    apiKey: 2,
    type: 'response',
    valid: '0-10',
    flexible: '6+',
    fields: {
      throttleTimeMs: f.int32({ v: '2+' }),
      topics: f.array({
        name: f.string(),
        partitions: f.array({
          partitionIndex: f.int32(),
          errorCode: f.int16(),
          // v0 only: a list of offsets instead of one timestamp/offset pair
          oldStyleOffsets: f.arrayOf(f.int64(), { v: '0' }),
          timestamp: f.int64({ v: '1+', default: -1n }),
          offset: f.int64({ v: '1+', default: -1n }),
          leaderEpoch: f.int32({ v: '4+', default: -1 }),
        }),
      }),
    },
  }),
);
