/** AlterConfigs (key 33), versions 0-2, flexible 2+. */
import { api, f, message } from '../schema.js';

export const AlterConfigs = api(
  message({
    name: 'AlterConfigsRequest',
    apiKey: 33,
    type: 'request',
    valid: '0-2',
    flexible: '2+',
    fields: {
      // replaces the whole config set of each resource (unlike IncrementalAlterConfigs)
      resources: f.array({
        resourceType: f.int8(),
        resourceName: f.string(),
        configs: f.array({
          name: f.string(),
          value: f.nstring({ nullable: '0+', default: '' }),
        }),
      }),
      validateOnly: f.bool(),
    },
  }),
  message({
    name: 'AlterConfigsResponse',
    apiKey: 33,
    type: 'response',
    valid: '0-2',
    flexible: '2+',
    fields: {
      throttleTimeMs: f.int32(),
      responses: f.array({
        errorCode: f.int16(),
        errorMessage: f.nstring({ nullable: '0+', default: '' }),
        resourceType: f.int8(),
        resourceName: f.string(),
      }),
    },
  }),
);
