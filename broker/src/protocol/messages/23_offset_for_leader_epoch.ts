/** OffsetForLeaderEpoch (key 23), versions 0-4, flexible 4+. */
import { api, f, message } from '../schema.js';

export const OffsetForLeaderEpoch = api(
  message({
    name: 'OffsetForLeaderEpochRequest',
    apiKey: 23,
    type: 'request',
    valid: '0-4',
    flexible: '4+',
    fields: {
      // >= 0 for a follower, -1 for a consumer; -2 (default) when unknown, as in versions before 3
      replicaId: f.int32({ v: '3+', default: -2 }),
      topics: f.array({
        topic: f.string(),
        partitions: f.array({
          partition: f.int32(),
          currentLeaderEpoch: f.int32({ v: '2+', default: -1 }),
          leaderEpoch: f.int32(),
        }),
      }),
    },
  }),
  message({
    name: 'OffsetForLeaderEpochResponse',
    apiKey: 23,
    type: 'response',
    valid: '0-4',
    flexible: '4+',
    fields: {
      throttleTimeMs: f.int32({ v: '2+' }),
      topics: f.array({
        topic: f.string(),
        partitions: f.array({
          errorCode: f.int16(),
          partition: f.int32(),
          leaderEpoch: f.int32({ v: '1+', default: -1 }),
          endOffset: f.int64({ default: -1n }),
        }),
      }),
    },
  }),
);
