/** OffsetCommit (key 8), versions 0-9, flexible 8+. */
import { api, f, message } from '../schema.js';

export const OffsetCommit = api(
  message({
    name: 'OffsetCommitRequest',
    apiKey: 8,
    type: 'request',
    valid: '0-9',
    flexible: '8+',
    fields: {
      groupId: f.string(),
      generationIdOrMemberEpoch: f.int32({ v: '1+', default: -1 }),
      memberId: f.string({ v: '1+' }),
      groupInstanceId: f.nstring({ v: '7+', nullable: '7+', default: null }),
      retentionTimeMs: f.int64({ v: '2-4', default: -1n }),
      topics: f.array({
        name: f.string(),
        partitions: f.array({
          partitionIndex: f.int32(),
          committedOffset: f.int64(),
          committedLeaderEpoch: f.int32({ v: '6+', default: -1 }),
          commitTimestamp: f.int64({ v: '1', default: -1n }),
          committedMetadata: f.nstring({ nullable: '0+', default: '' }),
        }),
      }),
    },
  }),
  message({
    name: 'OffsetCommitResponse',
    apiKey: 8,
    type: 'response',
    valid: '0-9',
    flexible: '8+',
    fields: {
      throttleTimeMs: f.int32({ v: '3+' }),
      topics: f.array({
        name: f.string(),
        partitions: f.array({
          partitionIndex: f.int32(),
          errorCode: f.int16(),
        }),
      }),
    },
  }),
);
