/** Metadata (key 3), versions 0-12, flexible 9+. */
import { api, f, message } from '../schema.js';

export const Metadata = api(
  message({
    name: 'MetadataRequest',
    apiKey: 3,
    type: 'request',
    valid: '0-12',
    flexible: '9+',
    fields: {
      // v0: empty means all topics; v1+: null means all topics, empty means none
      topics: f.narray(
        {
          topicId: f.uuid({ v: '10+' }),
          name: f.nstring({ nullable: '10+', default: '' }),
        },
        { nullable: '1+', default: [] },
      ),
      allowAutoTopicCreation: f.bool({ v: '4+', default: true }),
      includeClusterAuthorizedOperations: f.bool({ v: '8-10' }),
      includeTopicAuthorizedOperations: f.bool({ v: '8+' }),
    },
  }),
  message({
    name: 'MetadataResponse',
    apiKey: 3,
    type: 'response',
    valid: '0-12',
    flexible: '9+',
    fields: {
      throttleTimeMs: f.int32({ v: '3+' }),
      brokers: f.array({
        nodeId: f.int32(),
        host: f.string(),
        port: f.int32(),
        rack: f.nstring({ v: '1+', nullable: '1+' }),
      }),
      clusterId: f.nstring({ v: '2+', nullable: '2+' }),
      controllerId: f.int32({ v: '1+', default: -1 }),
      topics: f.array({
        errorCode: f.int16(),
        // null only for unknown topics looked up by id (v12+)
        name: f.nstring({ nullable: '12+', default: '' }),
        topicId: f.uuid({ v: '10+' }),
        isInternal: f.bool({ v: '1+', default: false }),
        partitions: f.array({
          errorCode: f.int16(),
          partitionIndex: f.int32(),
          leaderId: f.int32(),
          leaderEpoch: f.int32({ v: '7+', default: -1 }),
          replicaNodes: f.arrayOf(f.int32()),
          isrNodes: f.arrayOf(f.int32()),
          offlineReplicas: f.arrayOf(f.int32(), { v: '5+' }),
        }),
        // bitfield of AclOperation; INT32_MIN means "not requested"
        topicAuthorizedOperations: f.int32({ v: '8+', default: -2147483648 }),
      }),
      clusterAuthorizedOperations: f.int32({ v: '8-10', default: -2147483648 }),
    },
  }),
);
