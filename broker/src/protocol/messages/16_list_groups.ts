/** ListGroups (key 16), versions 0-5, flexible 3+. v4 adds the states filter, v5 the types filter. */
import { api, f, message } from '../schema.js';

export const ListGroups = api(
  message({
    name: 'ListGroupsRequest',
    apiKey: 16,
    type: 'request',
    valid: '0-5',
    flexible: '3+',
    fields: {
      statesFilter: f.arrayOf(f.string({ v: '4+' }), { v: '4+' }),
      typesFilter: f.arrayOf(f.string({ v: '5+' }), { v: '5+' }),
    },
  }),
  message({
    name: 'ListGroupsResponse',
    apiKey: 16,
    type: 'response',
    valid: '0-5',
    flexible: '3+',
    fields: {
      throttleTimeMs: f.int32({ v: '1+' }),
      errorCode: f.int16(),
      groups: f.array({
        groupId: f.string(),
        protocolType: f.string(),
        groupState: f.string({ v: '4+' }),
        groupType: f.string({ v: '5+' }),
      }),
    },
  }),
);
