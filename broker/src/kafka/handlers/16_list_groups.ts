/** ListGroups: v0-4 (states filter from v4). */
import { ListGroups } from '../../protocol/messages/16_list_groups.js';
import { defineHandler } from '../handler.js';

export default defineHandler(ListGroups, { min: 0, max: 4 }, (req, _ctx, broker) => ({
  throttleTimeMs: 0,
  errorCode: 0,
  groups: broker.groups.listGroups(req.statesFilter).map((g) => ({ ...g })),
}));
