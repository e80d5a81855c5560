/**
 * ApiVersions: v0-4. Lists exactly the registered handlers' version ranges. Unknown versions
 * never reach here: the dispatcher answers them with a v0 body and UNSUPPORTED_VERSION.
 */
import { ApiVersions } from '../../protocol/messages/18_api_versions.js';
import { defineHandler } from '../handler.js';

export default defineHandler(ApiVersions, { min: 0, max: 4 }, (_req, _ctx, broker) => ({
  errorCode: 0,
  apiKeys: broker.supportedApis().map((a) => ({ ...a })),
  throttleTimeMs: 0,
}));
