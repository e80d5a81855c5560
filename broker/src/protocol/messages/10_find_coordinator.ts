/** FindCoordinator (key 10), versions 0-6, flexible 3+. v4 batches keys (KIP-699). */
import { api, f, message } from '../schema.js';

export const FindCoordinator = api(
  message({
    name: 'FindCoordinatorRequest',
    apiKey: 10,
    type: 'request',
    valid: '0-6',
    flexible: '3+',
    fields: {
      key: f.string({ v: '0-3' }),
      keyType: f.int8({ v: '1+', default: 0 }),
      coordinatorKeys: f.arrayOf(f.string({ v: '4+' }), { v: '4+' }),
    },
  }),
  message({
    name: 'FindCoordinatorResponse',
    apiKey: 10,
    type: 'response',
    valid: '0-6',
    flexible: '3+',
    fields: {
      throttleTimeMs: f.int32({ v: '1+' }),
      errorCode: f.int16({ v: '0-3' }),
      errorMessage: f.nstring({ v: '1-3', nullable: '1-3', default: '' }),
      nodeId: f.int32({ v: '0-3' }),
      host: f.string({ v: '0-3' }),
      port: f.int32({ v: '0-3' }),
      coordinators: f.array(
        {
          key: f.string({ v: '4+' }),
          nodeId: f.int32({ v: '4+' }),
          host: f.string({ v: '4+' }),
          port: f.int32({ v: '4+' }),
          errorCode: f.int16({ v: '4+' }),
          errorMessage: f.nstring({ v: '4+', nullable: '4+', default: '' }),
        },
        { v: '4+' },
      ),
    },
  }),
);
