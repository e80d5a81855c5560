/** DescribeCluster (key 60), versions 0-1, flexible 0+. */
import { api, f, message } from '../schema.js';

export const DescribeCluster = api(
  message({
    name: 'DescribeClusterRequest',
    apiKey: 60,
    type: 'request',
    valid: '0-1',
    flexible: '0+',
    fields: {
      includeClusterAuthorizedOperations: f.bool(),
      // 1: brokers, 2: controllers
      endpointType: f.int8({ v: '1+', default: 1 }),
    },
  }),
  message({
    name: 'DescribeClusterResponse',
    apiKey: 60,
    type: 'response',
    valid: '0-1',
    flexible: '0+',
    fields: {
      throttleTimeMs: f.int32(),
      errorCode: f.int16(),
      errorMessage: f.nstring({ nullable: '0+' }),
      endpointType: f.int8({ v: '1+', default: 1 }),
      clusterId: f.string(),
      controllerId: f.int32({ default: -1 }),
      brokers: f.array({
        brokerId: f.int32(),
        host: f.string(),
        port: f.int32(),
        rack: f.nstring({ nullable: '0+' }),
      }),
      // bitfield of AclOperation; INT32_MIN means "not requested"
      clusterAuthorizedOperations: f.int32({ default: -2147483648 }),
    },
  }),
);
