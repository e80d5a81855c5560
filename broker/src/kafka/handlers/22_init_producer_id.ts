/**
 * InitProducerId: v0-4, idempotent producers only (a transactional id gets
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED until transactions exist). Ids come in blocks recorded in
 * the metadata, so they are unique across restarts. A producer re-initializing with its id and
 * epoch (v3+) gets a bumped epoch.
 */
import { ErrorCode } from '../../protocol/errors.js';
import { InitProducerId } from '../../protocol/messages/22_init_producer_id.js';
import { defineHandler } from '../handler.js';

const MAX_EPOCH = 32767;

export default defineHandler(InitProducerId, { min: 0, max: 4 }, async (req, _ctx, broker) => {
  if (req.transactionalId !== null && req.transactionalId !== '') {
    return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1n, producerEpoch: -1 };
  }
  if (req.producerId >= 0n && req.producerEpoch >= 0 && req.producerEpoch < MAX_EPOCH - 1) {
    return { throttleTimeMs: 0, errorCode: 0, producerId: req.producerId, producerEpoch: req.producerEpoch + 1 };
  }
  const producerId = await broker.producerIds.allocate();
  return { throttleTimeMs: 0, errorCode: 0, producerId, producerEpoch: 0 };
});
