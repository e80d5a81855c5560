/** Heartbeat: v0-4. REBALANCE_IN_PROGRESS tells a member to rejoin. */
import { Heartbeat } from '../../protocol/messages/12_heartbeat.js';
import { defineHandler } from '../handler.js';

export default defineHandler(Heartbeat, { min: 0, max: 4 }, (req, _ctx, broker) => ({
  throttleTimeMs: 0,
  errorCode: broker.groups.heartbeat({
    groupId: req.groupId,
    generationId: req.generationId,
    memberId: req.memberId,
    groupInstanceId: req.groupInstanceId,
  }),
}));
