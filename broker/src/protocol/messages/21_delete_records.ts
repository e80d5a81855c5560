/** DeleteRecords (key 21), versions 0-2, flexible 2+. */
import { api, f, message } from '../schema.js';

export const DeleteRecords = api(
  message({
    name: 'DeleteRecordsRequest',
    apiKey: 21,
    type: 'request',
    valid: '0-2',
    flexible: '2+',
    fields: {
      topics: f.array({
        name: f.string(),
        partitions: f.array({
          partitionIndex: f.int32(),
          // delete everything before this offset; -1 means the high watermark
          offset: f.int64(),
        }),
      }),
      timeoutMs: f.int32(),
    },
  }),
  message({
    name: 'DeleteRecordsResponse',
    apiKey: 21,
    type: 'response',
    valid: '0-2',
    flexible: '2+',
    fields: {
      throttleTimeMs: f.int32(),
      topics: f.array({
        name: f.string(),
        partitions: f.array({
          partitionIndex: f.int32(),
          lowWatermark: f.int64(),
          errorCode: f.int16(),
        }),
      }),
    },
  }),
);
