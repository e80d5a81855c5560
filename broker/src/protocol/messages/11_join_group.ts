/** JoinGroup (key 11), versions 0-9, flexible 6+. */
import { api, f, message } from '../schema.js';

export const JoinGroup = api(
  message({
    name: 'JoinGroupRequest',
    apiKey: 11,
    type: 'request',
    valid: '0-9',
    flexible: '6+',
    fields: {
      groupId: f.string(),
      sessionTimeoutMs: f.int32(),
      rebalanceTimeoutMs: f.int32({ v: '1+', default: -1 }),
      memberId: f.string(),
      groupInstanceId: f.nstring({ v: '5+', nullable: '5+', default: null }),
      protocolType: f.string(),
      protocols: f.array({
        name: f.string(),
        metadata: f.bytes(),
      }),
      reason: f.nstring({ v: '8+', nullable: '8+', default: null }),
    },
  }),
  message({
    name: 'JoinGroupResponse',
    apiKey: 11,
    type: 'response',
    valid: '0-9',
    flexible: '6+',
    fields: {
      throttleTimeMs: f.int32({ v: '2+' }),
      errorCode: f.int16(),
      generationId: f.int32({ default: -1 }),
      protocolType: f.nstring({ v: '7+', nullable: '7+', default: null }),
      protocolName: f.nstring({ nullable: '7+', default: '' }),
      leader: f.string(),
      skipAssignment: f.bool({ v: '9+', default: false }),
      memberId: f.string(),
      members: f.array({
        memberId: f.string(),
        groupInstanceId: f.nstring({ v: '5+', nullable: '5+', default: null }),
        metadata: f.bytes(),
      }),
    },
  }),
);
