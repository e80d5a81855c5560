/** Internal RPC between brokers and the active controller (see protocol.ts for the wire format). */
export {
  INTERNAL_API_KEY_MAX,
  INTERNAL_API_KEY_MIN,
  INTERNAL_API_VERSION,
  defineRpc,
  isInternalApiKey,
  type RpcMethod,
} from './protocol.js';
export { RpcRouter, type RpcHandler, type RpcRequestMeta } from './router.js';
export { RpcClient, type RpcCallOptions, type RpcClientOptions } from './client.js';
export {
  RpcAbortedError,
  RpcError,
  RpcProtocolError,
  RpcRemoteError,
  RpcTimeoutError,
  RpcUnavailableError,
} from './errors.js';
