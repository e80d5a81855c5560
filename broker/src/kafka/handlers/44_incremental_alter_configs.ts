/** IncrementalAlterConfigs: v0-1. SET, DELETE, APPEND, SUBTRACT on topic configs; broker configs are static. Topic configs on the controller only (elsewhere NOT_CONTROLLER per topic); broker resources answered by the broker addressed. */
import { ErrorCode } from '../../protocol/errors.js';
import { IncrementalAlterConfigs } from '../../protocol/messages/44_incremental_alter_configs.js';
import { ResourceType, brokerAlterRefusal } from '../config/config-resources.js';
import { defineHandler } from '../handler.js';
import { notControllerError } from '../cluster/leadership.js';

const SET = 0;
const DELETE = 1;
const APPEND = 2;
const SUBTRACT = 3;

export default defineHandler(IncrementalAlterConfigs, { min: 0, max: 1 }, async (req, _ctx, broker) => {
  // Topic configs live in the metadata log: only the controller changes them. Broker resources
  // are addressed to one broker (admin clients send them to that node), which answers itself.
  const notController = notControllerError(broker.cluster);
  const responses = [];
  for (const r of req.resources) {
    const base = { resourceType: r.resourceType, resourceName: r.resourceName };
    if (r.resourceType === ResourceType.TOPIC && notController) {
      responses.push({ ...base, ...notController });
    } else if (r.resourceType === ResourceType.TOPIC) {
      let badOp: string | undefined;
      const res = await broker.topicAdmin.alterConfigs(
        r.resourceName,
        (current) => {
          for (const c of r.configs) {
            const list = (current[c.name] ?? '').split(',').filter((x) => x !== '');
            if (c.configOperation === SET) current[c.name] = c.value ?? '';
            else if (c.configOperation === DELETE) delete current[c.name];
            else if (c.configOperation === APPEND) current[c.name] = [...list, ...(c.value ?? '').split(',')].join(',');
            else if (c.configOperation === SUBTRACT) current[c.name] = list.filter((x) => !(c.value ?? '').split(',').includes(x)).join(',');
            else badOp = `unknown config operation ${c.configOperation} for "${c.name}"`;
          }
          return current;
        },
        req.validateOnly || false,
      );
      if (badOp) responses.push({ ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: badOp });
      else responses.push({ ...base, errorCode: res.errorCode, errorMessage: res.errorMessage });
    } else if (r.resourceType === ResourceType.BROKER) {
      // No broker config is ever set dynamically, so deleting dynamic values is a no-op that
      // succeeds, as in Kafka for unset keys: kafka-reassign-partitions.sh --verify clears the
      // replication throttles this way and fails if refused.
      const onlyDeletes = r.configs.length > 0 && r.configs.every((c) => c.configOperation === DELETE);
      const refused = r.configs.find((c) => c.configOperation !== DELETE);
      responses.push({ ...base, ...(onlyDeletes ? { errorCode: 0, errorMessage: null } : brokerAlterRefusal(refused?.name ?? '')) });
    } else {
      responses.push({ ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `resource type ${r.resourceType} is not supported` });
    }
  }
  return { throttleTimeMs: 0, responses };
});
