/** CreateTopics (key 19), versions 0-7, flexible 5+. */
import { api, f, message } from '../schema.js';

export const CreateTopics = api(
  message({
    name: 'CreateTopicsRequest',
    apiKey: 19,
    type: 'request',
    valid: '0-7',
    flexible: '5+',
    fields: {
      topics: f.array({
        name: f.string(),
        // -1 (v4+) means the broker default; must be -1 when assignments are given
        numPartitions: f.int32(),
        replicationFactor: f.int16(),
        assignments: f.array({
          partitionIndex: f.int32(),
          brokerIds: f.arrayOf(f.int32()),
        }),
        configs: f.array({
          name: f.string(),
          value: f.nstring({ nullable: '0+', default: '' }),
        }),
      }),
      timeoutMs: f.int32({ default: 60000 }),
      validateOnly: f.bool({ v: '1+', default: false }),
    },
  }),
  message({
    name: 'CreateTopicsResponse',
    apiKey: 19,
    type: 'response',
    valid: '0-7',
    flexible: '5+',
    fields: {
      throttleTimeMs: f.int32({ v: '2+' }),
      topics: f.array({
        name: f.string(),
        topicId: f.uuid({ v: '7+' }),
        errorCode: f.int16(),
        errorMessage: f.nstring({ v: '1+', nullable: '0+', default: '' }),
        // set when configs could not be described (the topic itself was created)
        topicConfigErrorCode: f.int16({ v: '5+', tag: 0 }),
        numPartitions: f.int32({ v: '5+', default: -1 }),
        replicationFactor: f.int16({ v: '5+', default: -1 }),
        configs: f.narray(
          {
            name: f.string({ v: '5+' }),
            value: f.nstring({ v: '5+', nullable: '5+', default: '' }),
            readOnly: f.bool({ v: '5+' }),
            configSource: f.int8({ v: '5+', default: -1 }),
            isSensitive: f.bool({ v: '5+' }),
          },
          { v: '5+', nullable: '5+', default: [] },
        ),
      }),
    },
  }),
);
