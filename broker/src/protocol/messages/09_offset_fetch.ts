/** OffsetFetch (key 9), versions 0-9, flexible 6+. v8 moves to a batch of groups. */
import { api, f, message } from '../schema.js';

export const OffsetFetch = api(
  message({
    name: 'OffsetFetchRequest',
    apiKey: 9,
    type: 'request',
    valid: '0-9',
    flexible: '6+',
    fields: {
      groupId: f.string({ v: '0-7' }),
      topics: f.narray(
        {
          name: f.string({ v: '0-7' }),
          partitionIndexes: f.arrayOf(f.int32({ v: '0-7' }), { v: '0-7' }),
        },
        { v: '0-7', nullable: '2-7', default: [] },
      ),
      groups: f.array(
        {
          groupId: f.string({ v: '8+' }),
          memberId: f.nstring({ v: '9+', nullable: '9+', default: null }),
          memberEpoch: f.int32({ v: '9+', default: -1 }),
          topics: f.narray(
            {
              name: f.string({ v: '8+' }),
              partitionIndexes: f.arrayOf(f.int32({ v: '8+' }), { v: '8+' }),
            },
            { v: '8+', nullable: '8+', default: [] },
          ),
        },
        { v: '8+' },
      ),
      requireStable: f.bool({ v: '7+', default: false }),
    },
  }),
  message({
    name: 'OffsetFetchResponse',
    apiKey: 9,
    type: 'response',
    valid: '0-9',
    flexible: '6+',
    fields: {
      throttleTimeMs: f.int32({ v: '3+' }),
      topics: f.array(
        {
          name: f.string({ v: '0-7' }),
          partitions: f.array(
            {
              partitionIndex: f.int32({ v: '0-7' }),
              committedOffset: f.int64({ v: '0-7' }),
              committedLeaderEpoch: f.int32({ v: '5-7', default: -1 }),
              metadata: f.nstring({ v: '0-7', nullable: '0-7', default: '' }),
              errorCode: f.int16({ v: '0-7' }),
            },
            { v: '0-7' },
          ),
        },
        { v: '0-7' },
      ),
      errorCode: f.int16({ v: '2-7', default: 0 }),
      groups: f.array(
        {
          groupId: f.string({ v: '8+' }),
          topics: f.array(
            {
              name: f.string({ v: '8+' }),
              partitions: f.array(
                {
                  partitionIndex: f.int32({ v: '8+' }),
                  committedOffset: f.int64({ v: '8+' }),
                  committedLeaderEpoch: f.int32({ v: '8+', default: -1 }),
                  metadata: f.nstring({ v: '8+', nullable: '8+', default: '' }),
                  errorCode: f.int16({ v: '8+' }),
                },
                { v: '8+' },
              ),
            },
            { v: '8+' },
          ),
          errorCode: f.int16({ v: '8+', default: 0 }),
        },
        { v: '8+' },
      ),
    },
  }),
);
