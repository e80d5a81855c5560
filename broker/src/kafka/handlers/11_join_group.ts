/**
 * JoinGroup: v0-9. Answers when the rebalance completes (the group coordinator resolves it).
 * v0 has no rebalance timeout: the session timeout serves as both. v4+ requires a known member
 * id (MEMBER_ID_REQUIRED first); v9+ lets a rejoining static leader skip the assignment.
 */
import { JoinGroup } from '../../protocol/messages/11_join_group.js';
import { defineHandler } from '../handler.js';

export default defineHandler(JoinGroup, { min: 0, max: 9 }, async (req, ctx, broker) => {
  const v = ctx.apiVersion;
  const r = await broker.groups.joinGroup({
    groupId: req.groupId,
    memberId: req.memberId,
    groupInstanceId: req.groupInstanceId,
    clientId: ctx.clientId ?? '',
    clientHost: ctx.clientHost,
    sessionTimeoutMs: req.sessionTimeoutMs,
    rebalanceTimeoutMs: v === 0 ? req.sessionTimeoutMs : req.rebalanceTimeoutMs,
    protocolType: req.protocolType,
    protocols: req.protocols,
    requireKnownMemberId: v >= 4,
    supportSkippingAssignment: v >= 9,
    reason: req.reason,
  });
  return {
    throttleTimeMs: 0,
    errorCode: r.errorCode,
    generationId: r.generationId,
    protocolType: r.protocolType,
    // Only v7+ can say "no protocol" with null.
    protocolName: v >= 7 ? r.protocolName : (r.protocolName ?? ''),
    leader: r.leader,
    skipAssignment: r.skipAssignment,
    memberId: r.memberId,
    members: r.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata })),
  };
});
