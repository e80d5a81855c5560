/** DescribeGroups (key 15), versions 0-5, flexible 5+. */
import { api, f, message } from '../schema.js';

export const DescribeGroups = api(
  message({
    name: 'DescribeGroupsRequest',
    apiKey: 15,
    type: 'request',
    valid: '0-5',
    flexible: '5+',
    fields: {
      groups: f.arrayOf(f.string()),
      includeAuthorizedOperations: f.bool({ v: '3+' }),
    },
  }),
  message({
    name: 'DescribeGroupsResponse',
    apiKey: 15,
    type: 'response',
    valid: '0-5',
    flexible: '5+',
    fields: {
      throttleTimeMs: f.int32({ v: '1+' }),
      groups: f.array({
        errorCode: f.int16(),
        groupId: f.string(),
        groupState: f.string(),
        protocolType: f.string(),
        protocolData: f.string(),
        members: f.array({
          memberId: f.string(),
          groupInstanceId: f.nstring({ v: '4+', nullable: '4+', default: null }),
          clientId: f.string(),
          clientHost: f.string(),
          memberMetadata: f.bytes(),
          memberAssignment: f.bytes(),
        }),
        authorizedOperations: f.int32({ v: '3+', default: -2147483648 }),
      }),
    },
  }),
);
