/** CreatePartitions (key 37), versions 0-3, flexible 2+. */
import { api, f, message } from '../schema.js';

export const CreatePartitions = api(
  message({
    name: 'CreatePartitionsRequest',
    apiKey: 37,
    type: 'request',
    valid: '0-3',
    flexible: '2+',
    fields: {
      topics: f.array({
        name: f.string(),
        // the new total partition count, not the number to add
        count: f.int32(),
        // one entry per new partition, or null to let the controller place them
        assignments: f.narray(
          {
            brokerIds: f.arrayOf(f.int32()),
          },
          { nullable: '0+', default: [] },
        ),
      }),
      timeoutMs: f.int32(),
      validateOnly: f.bool(),
    },
  }),
  message({
    name: 'CreatePartitionsResponse',
    apiKey: 37,
    type: 'response',
    valid: '0-3',
    flexible: '2+',
    fields: {
      throttleTimeMs: f.int32(),
      results: f.array({
        name: f.string(),
        errorCode: f.int16(),
        errorMessage: f.nstring({ nullable: '0+' }),
      }),
    },
  }),
);
