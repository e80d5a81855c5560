/** Produce (key 0), versions 0-11, flexible 9+. */
import { api, f, message } from '../schema.js';

export const Produce = api(
  message({
    name: 'ProduceRequest',
    apiKey: 0,
    type: 'request',
    valid: '0-11',
    flexible: '9+',
    fields: {
      transactionalId: f.nstring({ v: '3+', nullable: '3+' }),
      // 0: no acknowledgement, 1: leader only, -1: full ISR
      acks: f.int16(),
      timeoutMs: f.int32(),
      topicData: f.array({
        name: f.string(),
        partitionData: f.array({
          index: f.int32(),
          records: f.records(),
        }),
      }),
    },
  }),
  message({
    name: 'ProduceResponse',
    apiKey: 0,
    type: 'response',
    valid: '0-11',
    flexible: '9+',
    fields: {
      responses: f.array({
        name: f.string(),
        partitionResponses: f.array({
          index: f.int32(),
          errorCode: f.int16(),
          baseOffset: f.int64(),
          // -1 unless the topic uses LogAppendTime
          logAppendTimeMs: f.int64({ v: '2+', default: -1n }),
          logStartOffset: f.int64({ v: '5+', default: -1n }),
          recordErrors: f.array(
            {
              batchIndex: f.int32({ v: '8+' }),
              batchIndexErrorMessage: f.nstring({ v: '8+', nullable: '8+' }),
            },
            { v: '8+' },
          ),
          errorMessage: f.nstring({ v: '8+', nullable: '8+' }),
          // sent with NOT_LEADER_OR_FOLLOWER so the client can redirect without a metadata round trip
          currentLeader: f.struct(
            {
              leaderId: f.int32({ v: '10+', default: -1 }),
              leaderEpoch: f.int32({ v: '10+', default: -1 }),
            },
            { v: '10+', tag: 0 },
          ),
        }),
      }),
      throttleTimeMs: f.int32({ v: '1+' }),
      nodeEndpoints: f.array(
        {
          nodeId: f.int32({ v: '10+' }),
          host: f.string({ v: '10+' }),
          port: f.int32({ v: '10+' }),
          rack: f.nstring({ v: '10+', nullable: '10+' }),
        },
        { v: '10+', tag: 0 },
      ),
    },
  }),
);
