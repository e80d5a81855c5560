/** LeaveGroup (key 13), versions 0-5, flexible 4+. v3 batches members (KIP-345). */
import { api, f, message } from '../schema.js';

export const LeaveGroup = api(
  message({
    name: 'LeaveGroupRequest',
    apiKey: 13,
    type: 'request',
    valid: '0-5',
    flexible: '4+',
    fields: {
      groupId: f.string(),
      memberId: f.string({ v: '0-2' }),
      members: f.array(
        {
          memberId: f.string({ v: '3+' }),
          groupInstanceId: f.nstring({ v: '3+', nullable: '3+', default: null }),
          reason: f.nstring({ v: '5+', nullable: '5+', default: null }),
        },
        { v: '3+' },
      ),
    },
  }),
  message({
    name: 'LeaveGroupResponse',
    apiKey: 13,
    type: 'response',
    valid: '0-5',
    flexible: '4+',
    fields: {
      throttleTimeMs: f.int32({ v: '1+' }),
      errorCode: f.int16(),
      members: f.array(
        {
          memberId: f.string({ v: '3+' }),
          groupInstanceId: f.nstring({ v: '3+', nullable: '3+', default: '' }),
          errorCode: f.int16({ v: '3+' }),
        },
        { v: '3+' },
      ),
    },
  }),
);
