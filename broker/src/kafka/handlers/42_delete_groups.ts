/** DeleteGroups: v0-2. Only empty groups can be deleted (NON_EMPTY_GROUP otherwise); their offsets go too. */
import { DeleteGroups } from '../../protocol/messages/42_delete_groups.js';
import { defineHandler } from '../handler.js';

export default defineHandler(DeleteGroups, { min: 0, max: 2 }, async (req, _ctx, broker) => ({
  throttleTimeMs: 0,
  results: await broker.groups.deleteGroups(req.groupsNames),
}));
