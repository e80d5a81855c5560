/** DescribeLogDirs (key 35), versions 0-4, flexible 2+. */
import { api, f, message } from '../schema.js';

export const DescribeLogDirs = api(
  message({
    name: 'DescribeLogDirsRequest',
    apiKey: 35,
    type: 'request',
    valid: '0-4',
    flexible: '2+',
    fields: {
      // null describes every topic
      topics: f.narray(
        {
          topic: f.string(),
          partitions: f.arrayOf(f.int32()),
        },
        { nullable: '0+', default: [] },
      ),
    },
  }),
  message({
    name: 'DescribeLogDirsResponse',
    apiKey: 35,
    type: 'response',
    valid: '0-4',
    flexible: '2+',
    fields: {
      throttleTimeMs: f.int32(),
      errorCode: f.int16({ v: '3+' }),
      results: f.array({
        errorCode: f.int16(),
        logDir: f.string(),
        topics: f.array({
          name: f.string(),
          partitions: f.array({
            partitionIndex: f.int32(),
            partitionSize: f.int64(),
            offsetLag: f.int64(),
            isFutureKey: f.bool(),
          }),
        }),
        totalBytes: f.int64({ v: '4+', default: -1n }),
        usableBytes: f.int64({ v: '4+', default: -1n }),
      }),
    },
  }),
);
