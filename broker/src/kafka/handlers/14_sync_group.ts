/**
 * SyncGroup: v0-5. The leader sends the assignment; every member's SyncGroup answers once it is
 * durable. v5 carries the protocol type and name both ways.
 */
import { SyncGroup } from '../../protocol/messages/14_sync_group.js';
import { defineHandler } from '../handler.js';

export default defineHandler(SyncGroup, { min: 0, max: 5 }, async (req, _ctx, broker) => {
  const r = await broker.groups.syncGroup({
    groupId: req.groupId,
    generationId: req.generationId,
    memberId: req.memberId,
    groupInstanceId: req.groupInstanceId,
    protocolType: req.protocolType,
    protocolName: req.protocolName,
    assignments: req.assignments,
  });
  return {
    throttleTimeMs: 0,
    errorCode: r.errorCode,
    protocolType: r.protocolType,
    protocolName: r.protocolName,
    assignment: r.assignment,
  };
});
