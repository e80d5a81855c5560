/** IncrementalAlterConfigs (key 44), versions 0-1, flexible 1+. */
import { api, f, message } from '../schema.js';

export const IncrementalAlterConfigs = api(
  message({
    name: 'IncrementalAlterConfigsRequest',
    apiKey: 44,
    type: 'request',
    valid: '0-1',
    flexible: '1+',
    fields: {
      resources: f.array({
        resourceType: f.int8(),
        resourceName: f.string(),
        configs: f.array({
          name: f.string(),
          // 0: SET, 1: DELETE, 2: APPEND, 3: SUBTRACT
          configOperation: f.int8(),
          value: f.nstring({ nullable: '0+', default: '' }),
        }),
      }),
      validateOnly: f.bool(),
    },
  }),
  message({
    name: 'IncrementalAlterConfigsResponse',
    apiKey: 44,
    type: 'response',
    valid: '0-1',
    flexible: '1+',
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
