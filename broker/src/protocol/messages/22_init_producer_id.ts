/** InitProducerId (key 22), versions 0-5, flexible 2+. */
import { api, f, message } from '../schema.js';

export const InitProducerId = api(
  message({
    name: 'InitProducerIdRequest',
    apiKey: 22,
    type: 'request',
    valid: '0-5',
    flexible: '2+',
    fields: {
      // null for an idempotent (non-transactional) producer
      transactionalId: f.nstring({ nullable: '0+', default: '' }),
      transactionTimeoutMs: f.int32(),
      // v3+: the current id/epoch, so an existing producer can bump its epoch
      producerId: f.int64({ v: '3+', default: -1n }),
      producerEpoch: f.int16({ v: '3+', default: -1 }),
    },
  }),
  message({
    name: 'InitProducerIdResponse',
    apiKey: 22,
    type: 'response',
    valid: '0-5',
    flexible: '2+',
    fields: {
      throttleTimeMs: f.int32(),
      errorCode: f.int16(),
      producerId: f.int64({ default: -1n }),
      producerEpoch: f.int16(),
    },
  }),
);
