/**
 * DescribeGroups: v0-5. Member metadata and assignments are only shown for Stable groups; an
 * unknown group is reported as Dead. No ACLs yet: authorized operations, when asked for, are
 * every group operation (READ, DELETE, DESCRIBE).
 */
import { DescribeGroups } from '../../protocol/messages/15_describe_groups.js';
import { defineHandler } from '../handler.js';

const ALL_GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8);
const OPERATIONS_NOT_REQUESTED = -2147483648;

export default defineHandler(DescribeGroups, { min: 0, max: 5 }, (req, _ctx, broker) => ({
  throttleTimeMs: 0,
  groups: req.groups.map((groupId) => {
    const g = broker.groups.describeGroup(groupId);
    return {
      ...g,
      members: g.members.map((m) => ({ ...m })),
      authorizedOperations: req.includeAuthorizedOperations ? ALL_GROUP_OPERATIONS : OPERATIONS_NOT_REQUESTED,
    };
  }),
}));
