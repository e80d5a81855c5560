/** DescribeConfigs (key 32), versions 0-4, flexible 4+. */
import { api, f, message } from '../schema.js';

export const DescribeConfigs = api(
  message({
    name: 'DescribeConfigsRequest',
    apiKey: 32,
    type: 'request',
    valid: '0-4',
    flexible: '4+',
    fields: {
      resources: f.array({
        // 2: topic, 4: broker, 8: broker logger
        resourceType: f.int8(),
        resourceName: f.string(),
        // null means all configs of the resource
        configurationKeys: f.narrayOf(f.string(), { nullable: '0+', default: [] }),
      }),
      includeSynonyms: f.bool({ v: '1+', default: false }),
      includeDocumentation: f.bool({ v: '3+', default: false }),
    },
  }),
  message({
    name: 'DescribeConfigsResponse',
    apiKey: 32,
    type: 'response',
    valid: '0-4',
    flexible: '4+',
    fields: {
      throttleTimeMs: f.int32(),
      results: f.array({
        errorCode: f.int16(),
        errorMessage: f.nstring({ nullable: '0+', default: '' }),
        resourceType: f.int8(),
        resourceName: f.string(),
        configs: f.array({
          name: f.string(),
          value: f.nstring({ nullable: '0+', default: '' }),
          readOnly: f.bool(),
          // v0 only; replaced by configSource
          isDefault: f.bool({ v: '0' }),
          configSource: f.int8({ v: '1+', default: -1 }),
          isSensitive: f.bool(),
          synonyms: f.array(
            {
              name: f.string({ v: '1+' }),
              value: f.nstring({ v: '1+', nullable: '0+', default: '' }),
              source: f.int8({ v: '1+' }),
            },
            { v: '1+' },
          ),
          configType: f.int8({ v: '3+', default: 0 }),
          documentation: f.nstring({ v: '3+', nullable: '0+', default: '' }),
        }),
      }),
    },
  }),
);
