/** AlterConfigs: v0-2. Replaces a topic's whole set of overrides; broker configs are static. Topic configs on the controller only (elsewhere NOT_CONTROLLER per topic); broker resources answered by the broker addressed. */
import { ErrorCode } from '../../protocol/errors.js';
import { AlterConfigs } from '../../protocol/messages/33_alter_configs.js';
import { ResourceType, brokerAlterRefusal } from '../config/config-resources.js';
import { defineHandler } from '../handler.js';
import { notControllerError } from '../cluster/leadership.js';

export default defineHandler(AlterConfigs, { min: 0, max: 2 }, async (req, _ctx, broker) => {
  // Topic configs live in the metadata log: only the controller changes them. Broker resources
  // are addressed to one broker (admin clients send them to that node), which answers itself.
  const notController = notControllerError(broker.cluster);
  const responses = [];
  for (const r of req.resources) {
    const base = { resourceType: r.resourceType, resourceName: r.resourceName };
    if (r.resourceType === ResourceType.TOPIC && notController) {
      responses.push({ ...base, ...notController });
    } else if (r.resourceType === ResourceType.TOPIC) {
      const configs: Record<string, string> = {};
      for (const c of r.configs) if (c.value !== null) configs[c.name] = c.value;
      const res = await broker.topicAdmin.alterConfigs(r.resourceName, () => configs, req.validateOnly);
      responses.push({ ...base, errorCode: res.errorCode, errorMessage: res.errorMessage });
    } else if (r.resourceType === ResourceType.BROKER) {
      responses.push({ ...base, ...brokerAlterRefusal(r.configs[0]?.name ?? '') });
    } else {
      responses.push({ ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `resource type ${r.resourceType} is not supported` });
    }
  }
  return { throttleTimeMs: 0, responses };
});
