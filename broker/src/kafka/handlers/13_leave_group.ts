/**
 * LeaveGroup: v0-5. v0-2 name one member and carry its error at the top level; v3+ batch
 * members (by member id, or by group.instance.id alone to remove a static member).
 */
import { ErrorCode } from '../../protocol/errors.js';
import { LeaveGroup } from '../../protocol/messages/13_leave_group.js';
import { defineHandler } from '../handler.js';

export default defineHandler(LeaveGroup, { min: 0, max: 5 }, (req, ctx, broker) => {
  if (ctx.apiVersion < 3) {
    const r = broker.groups.leaveGroup(req.groupId, [{ memberId: req.memberId, groupInstanceId: null, reason: null }]);
    const memberError = r.members.find((m) => m.errorCode !== ErrorCode.NONE)?.errorCode ?? ErrorCode.NONE;
    return { throttleTimeMs: 0, errorCode: r.errorCode !== ErrorCode.NONE ? r.errorCode : memberError };
  }
  const r = broker.groups.leaveGroup(req.groupId, req.members);
  return { throttleTimeMs: 0, errorCode: r.errorCode, members: [...r.members] };
});
