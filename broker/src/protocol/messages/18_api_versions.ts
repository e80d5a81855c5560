/** ApiVersions (key 18), versions 0-4, flexible 3+. The response always uses response header v0. */
import { api, f, message } from '../schema.js';

export const ApiVersions = api(
  message({
    name: 'ApiVersionsRequest',
    apiKey: 18,
    type: 'request',
    valid: '0-4',
    flexible: '3+',
    fields: {
      clientSoftwareName: f.string({ v: '3+' }),
      clientSoftwareVersion: f.string({ v: '3+' }),
    },
  }),
  message({
    name: 'ApiVersionsResponse',
    apiKey: 18,
    type: 'response',
    valid: '0-4',
    flexible: '3+',
    fields: {
      errorCode: f.int16(),
      apiKeys: f.array({
        apiKey: f.int16(),
        minVersion: f.int16(),
        maxVersion: f.int16(),
      }),
      throttleTimeMs: f.int32({ v: '1+' }),
      supportedFeatures: f.array(
        {
          name: f.string({ v: '3+' }),
          minVersion: f.int16({ v: '3+' }),
          maxVersion: f.int16({ v: '3+' }),
        },
        { v: '3+', tag: 0 },
      ),
      finalizedFeaturesEpoch: f.int64({ v: '3+', tag: 1, default: -1n }),
      finalizedFeatures: f.array(
        {
          name: f.string({ v: '3+' }),
          maxVersionLevel: f.int16({ v: '3+' }),
          minVersionLevel: f.int16({ v: '3+' }),
        },
        { v: '3+', tag: 2 },
      ),
      zkMigrationReady: f.bool({ v: '3+', tag: 3 }),
    },
  }),
);
