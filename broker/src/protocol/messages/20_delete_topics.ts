/** DeleteTopics (key 20), versions 0-6, flexible 4+. */
import { api, f, message } from '../schema.js';

export const DeleteTopics = api(
  message({
    name: 'DeleteTopicsRequest',
    apiKey: 20,
    type: 'request',
    valid: '0-6',
    flexible: '4+',
    fields: {
      // v6+: each topic by name or id (name null when the id is used)
      topics: f.array(
        {
          name: f.nstring({ v: '6+', nullable: '6+' }),
          topicId: f.uuid({ v: '6+' }),
        },
        { v: '6+' },
      ),
      topicNames: f.arrayOf(f.string(), { v: '0-5' }),
      timeoutMs: f.int32(),
    },
  }),
  message({
    name: 'DeleteTopicsResponse',
    apiKey: 20,
    type: 'response',
    valid: '0-6',
    flexible: '4+',
    fields: {
      throttleTimeMs: f.int32({ v: '1+' }),
      responses: f.array({
        name: f.nstring({ nullable: '6+', default: '' }),
        topicId: f.uuid({ v: '6+' }),
        errorCode: f.int16(),
        errorMessage: f.nstring({ v: '5+', nullable: '5+' }),
      }),
    },
  }),
);
