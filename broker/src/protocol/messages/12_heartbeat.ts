/** Heartbeat (key 12), versions 0-4, flexible 4+. */
import { api, f, message } from '../schema.js';

export const Heartbeat = api(
  message({
    name: 'HeartbeatRequest',
    apiKey: 12,
    type: 'request',
    valid: '0-4',
    flexible: '4+',
    fields: {
      groupId: f.string(),
      generationId: f.int32(),
      memberId: f.string(),
      groupInstanceId: f.nstring({ v: '3+', nullable: '3+', default: null }),
    },
  }),
  message({
    name: 'HeartbeatResponse',
    apiKey: 12,
    type: 'response',
    valid: '0-4',
    flexible: '4+',
    fields: {
      throttleTimeMs: f.int32({ v: '1+' }),
      errorCode: f.int16(),
    },
  }),
);
