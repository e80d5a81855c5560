/** DeleteGroups (key 42), versions 0-2, flexible 2+. */
import { api, f, message } from '../schema.js';

export const DeleteGroups = api(
  message({
    name: 'DeleteGroupsRequest',
    apiKey: 42,
    type: 'request',
    valid: '0-2',
    flexible: '2+',
    fields: {
      groupsNames: f.arrayOf(f.string()),
    },
  }),
  message({
    name: 'DeleteGroupsResponse',
    apiKey: 42,
    type: 'response',
    valid: '0-2',
    flexible: '2+',
    fields: {
      throttleTimeMs: f.int32(),
      results: f.array({
        groupId: f.string(),
        errorCode: f.int16(),
      }),
    },
  }),
);
