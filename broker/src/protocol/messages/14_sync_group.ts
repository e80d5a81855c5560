/** SyncGroup (key 14), versions 0-5, flexible 4+. */
import { api, f, message } from '../schema.js';

export const SyncGroup = api(
  message({
    name: 'SyncGroupRequest',
    apiKey: 14,
    type: 'request',
    valid: '0-5',
    flexible: '4+',
    fields: {
      groupId: f.string(),
      generationId: f.int32(),
      memberId: f.string(),
      groupInstanceId: f.nstring({ v: '3+', nullable: '3+', default: null }),
      protocolType: f.nstring({ v: '5+', nullable: '5+', default: null }),
      protocolName: f.nstring({ v: '5+', nullable: '5+', default: null }),
      assignments: f.array({
        memberId: f.string(),
        assignment: f.bytes(),
      }),
    },
  }),
  message({
    name: 'SyncGroupResponse',
    apiKey: 14,
    type: 'response',
    valid: '0-5',
    flexible: '4+',
    fields: {
      throttleTimeMs: f.int32({ v: '1+' }),
      errorCode: f.int16(),
      protocolType: f.nstring({ v: '5+', nullable: '5+', default: null }),
      protocolName: f.nstring({ v: '5+', nullable: '5+', default: null }),
      assignment: f.bytes(),
    },
  }),
);
