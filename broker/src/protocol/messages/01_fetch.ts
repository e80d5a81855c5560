/** Fetch (key 1), versions 0-17, flexible 12+. */
import { api, f, message } from '../schema.js';

export const Fetch = api(
  message({
    name: 'FetchRequest',
    apiKey: 1,
    type: 'request',
    valid: '0-17',
    flexible: '12+',
    fields: {
      clusterId: f.nstring({ v: '12+', nullable: '12+', tag: 0 }),
      // -1 for consumers; replaced by the tagged replicaState from v15
      replicaId: f.int32({ v: '0-14', default: -1 }),
      replicaState: f.struct(
        {
          replicaId: f.int32({ v: '15+', default: -1 }),
          replicaEpoch: f.int64({ v: '15+', default: -1n }),
        },
        { v: '15+', tag: 1 },
      ),
      maxWaitMs: f.int32(),
      minBytes: f.int32(),
      maxBytes: f.int32({ v: '3+', default: 0x7fffffff }),
      // 0: READ_UNCOMMITTED, 1: READ_COMMITTED
      isolationLevel: f.int8({ v: '4+' }),
      sessionId: f.int32({ v: '7+' }),
      sessionEpoch: f.int32({ v: '7+', default: -1 }),
      topics: f.array({
        topic: f.string({ v: '0-12' }),
        topicId: f.uuid({ v: '13+' }),
        partitions: f.array({
          partition: f.int32(),
          currentLeaderEpoch: f.int32({ v: '9+', default: -1 }),
          fetchOffset: f.int64(),
          lastFetchedEpoch: f.int32({ v: '12+', default: -1 }),
          // only meaningful for follower fetches
          logStartOffset: f.int64({ v: '5+', default: -1n }),
          partitionMaxBytes: f.int32(),
          replicaDirectoryId: f.uuid({ v: '17+', tag: 0 }),
        }),
      }),
      // incremental fetch sessions: partitions to drop from the session
      forgottenTopicsData: f.array(
        {
          topic: f.string({ v: '7-12' }),
          topicId: f.uuid({ v: '13+' }),
          partitions: f.arrayOf(f.int32(), { v: '7+' }),
        },
        { v: '7+' },
      ),
      rackId: f.string({ v: '11+', default: '' }),
    },
  }),
  message({
    name: 'FetchResponse',
    apiKey: 1,
    type: 'response',
    valid: '0-17',
    flexible: '12+',
    fields: {
      throttleTimeMs: f.int32({ v: '1+' }),
      errorCode: f.int16({ v: '7+' }),
      sessionId: f.int32({ v: '7+' }),
      responses: f.array({
        topic: f.string({ v: '0-12' }),
        topicId: f.uuid({ v: '13+' }),
        partitions: f.array({
          partitionIndex: f.int32(),
          errorCode: f.int16(),
          highWatermark: f.int64(),
          lastStableOffset: f.int64({ v: '4+', default: -1n }),
          logStartOffset: f.int64({ v: '5+', default: -1n }),
          // set when the follower's lastFetchedEpoch diverges from the leader's log
          divergingEpoch: f.struct(
            {
              epoch: f.int32({ v: '12+', default: -1 }),
              endOffset: f.int64({ v: '12+', default: -1n }),
            },
            { v: '12+', tag: 0 },
          ),
          currentLeader: f.struct(
            {
              leaderId: f.int32({ v: '12+', default: -1 }),
              leaderEpoch: f.int32({ v: '12+', default: -1 }),
            },
            { v: '12+', tag: 1 },
          ),
          snapshotId: f.struct(
            {
              endOffset: f.int64({ default: -1n }),
              epoch: f.int32({ default: -1 }),
            },
            { v: '12+', tag: 2 },
          ),
          abortedTransactions: f.narray(
            {
              producerId: f.int64({ v: '4+' }),
              firstOffset: f.int64({ v: '4+' }),
            },
            { v: '4+', nullable: '4+', default: [] },
          ),
          preferredReadReplica: f.int32({ v: '11+', default: -1 }),
          records: f.records(),
        }),
      }),
      nodeEndpoints: f.array(
        {
          nodeId: f.int32({ v: '16+' }),
          host: f.string({ v: '16+' }),
          port: f.int32({ v: '16+' }),
          rack: f.nstring({ v: '16+', nullable: '16+' }),
        },
        { v: '16+', tag: 0 },
      ),
    },
  }),
);
