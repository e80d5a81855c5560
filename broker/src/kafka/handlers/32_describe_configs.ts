/** DescribeConfigs: v0-4. Topic and broker resources, with config sources, synonyms (v1+) and documentation (v3+). */
import { DescribeConfigs } from '../../protocol/messages/32_describe_configs.js';
import { describeResource } from '../config/config-resources.js';
import { defineHandler } from '../handler.js';

export default defineHandler(DescribeConfigs, { min: 0, max: 4 }, (req, _ctx, broker) => ({
  throttleTimeMs: 0,
  results: req.resources.map((r) => {
    const d = describeResource(broker, r.resourceType, r.resourceName, r.configurationKeys, req.includeSynonyms, req.includeDocumentation);
    return { errorCode: d.errorCode, errorMessage: d.errorMessage, resourceType: r.resourceType, resourceName: r.resourceName, configs: d.configs };
  }),
}));
