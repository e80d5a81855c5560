/**
 * ListGroups: v0-4 (states filter from v4). Lists the groups of the shards loaded on this broker
 * (clients ask every broker, as with Kafka); COORDINATOR_LOAD_IN_PROGRESS while one is loading.
 */
import { ListGroups } from '../../protocol/messages/16_list_groups.js';
import { defineHandler } from '../handler.js';

export default defineHandler(ListGroups, { min: 0, max: 4 }, (req, _ctx, broker) => {
  const r = broker.groups.listGroups(req.statesFilter);
  return { throttleTimeMs: 0, errorCode: r.errorCode, groups: r.groups.map((g) => ({ ...g })) };
});
