/**
 * Turns request frames into response frames: header parsing, version checks against the handler
 * registry, body decode, handler call, response encode.
 *
 * Unknown API keys and unsupported versions are answered with UNSUPPORTED_VERSION and never
 * reach a handler. ApiVersions with a version the broker does not know is answered with a v0
 * body (error 35 plus the full key list) so the client can retry with a version it shares. A
 * request whose body does not decode is a protocol violation: the connection is closed (as Kafka
 * does), nothing is guessed.
 *
 * Internal RPC keys (cluster/rpc/, a reserved range) go to the router set with serveInternal():
 * it answers every request itself (errors included), they are never advertised in ApiVersions,
 * and a key it has no method for is treated as any unknown key. unordered() tells the connection
 * they may run concurrently and be answered out of order (the internal client matches by
 * correlation id), so a held long poll does not delay a heartbeat.
 */
import type { Logger } from 'winston';
import { decodeMessage, encodeMessage, isFlexible } from '../protocol/codec.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import {
  readRequestHeaderPrefix,
  readRequestHeaderRest,
  requestHeaderVersion,
  responseHeaderVersion,
  writeResponseHeader,
} from '../protocol/header.js';
import { ApiVersions } from '../protocol/messages/18_api_versions.js';
import { Reader } from '../protocol/primitives/reader.js';
import { Writer } from '../protocol/primitives/writer.js';
import type { Fields, In, MessageSchema } from '../protocol/schema.js';
import type { BrokerContext } from '../kafka/context.js';
import { NO_RESPONSE, type Handler, type RequestContext } from '../kafka/handler.js';

export interface ApiRange {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

/** The connection a request came in on, as the internal RPC router sees it. */
export interface InternalConnection {
  readonly id: number;
  readonly clientHost: string;
  /** Aborted when the connection closes. */
  readonly closed?: AbortSignal;
}

/** The extension point for internal RPC (implemented by cluster/rpc/RpcRouter). */
export interface InternalRequests {
  /** Whether the key is in the reserved internal range. */
  isInternal(apiKey: number): boolean;
  /** Whether a method is registered for this key and version. */
  serves(apiKey: number, apiVersion: number): boolean;
  /** The whole response frame; answers bad requests with an error response instead of throwing. */
  dispatch(frame: Buffer, conn: InternalConnection): Promise<Buffer>;
}

export class ProtocolViolation extends Error {
  override readonly name = 'ProtocolViolation';
}

export class Dispatcher {
  private readonly handlers = new Map<number, Handler>();
  private internal: InternalRequests | undefined;

  constructor(
    handlers: readonly Handler[],
    private readonly broker: BrokerContext,
    private readonly log: Logger,
    private readonly metrics?: { observeRequest(api: string, version: number, seconds: number): void },
  ) {
    for (const h of handlers) {
      if (this.handlers.has(h.api.key)) throw new Error(`two handlers for API key ${h.api.key}`);
      this.handlers.set(h.api.key, h);
    }
  }

  /** What ApiVersions advertises: exactly the registered handlers' ranges. */
  supportedApis(): ApiRange[] {
    return [...this.handlers.values()]
      .map((h) => ({ apiKey: h.api.key, minVersion: h.minVersion, maxVersion: h.maxVersion }))
      .sort((a, b) => a.apiKey - b.apiKey);
  }

  /** Routes the internal RPC key range to `router` (once). */
  serveInternal(router: InternalRequests): void {
    if (this.internal) throw new Error('the dispatcher already has an internal RPC router');
    for (const key of this.handlers.keys()) {
      if (router.isInternal(key)) throw new Error(`Kafka handler for API key ${key} is inside the internal RPC range`);
    }
    this.internal = router;
  }

  /** Whether this request may run outside the connection's one-at-a-time order (internal RPC). */
  unordered(frame: Buffer): boolean {
    return this.internal?.isInternal(frame.readInt16BE(0)) ?? false;
  }

  async dispatch(frame: Buffer, conn: InternalConnection): Promise<Buffer | null> {
    const r = new Reader(frame);
    const { apiKey, apiVersion, correlationId } = readRequestHeaderPrefix(r);
    if (this.internal?.serves(apiKey, apiVersion)) return this.internal.dispatch(frame, conn);
    const handler = this.handlers.get(apiKey);
    if (!handler || apiVersion < handler.minVersion || apiVersion > handler.maxVersion) {
      return this.unsupported(apiKey, apiVersion, correlationId, conn.id);
    }
    const schema = handler.api.request;
    const flexible = isFlexible(schema, apiVersion);
    let request: Record<string, unknown>;
    let clientId: string | null;
    try {
      clientId = readRequestHeaderRest(r, requestHeaderVersion(flexible)).clientId;
      request = decodeMessage(schema, apiVersion, r) as Record<string, unknown>;
    } catch (err) {
      throw new ProtocolViolation(`cannot decode ${handler.api.name} v${apiVersion} request: ${(err as Error).message}`);
    }
    const ctx: RequestContext = { apiVersion, clientId, clientHost: conn.clientHost, connectionId: conn.id };
    let response: unknown;
    const started = process.hrtime.bigint();
    try {
      response = await handler.handle(request as never, ctx, this.broker);
    } catch (err) {
      response = this.errorResponse(handler, apiVersion, err);
    }
    this.metrics?.observeRequest(handler.api.name, apiVersion, Number(process.hrtime.bigint() - started) / 1e9);
    if (response === NO_RESPONSE) return null;
    try {
      return encodeFrame(handler.api.response, apiVersion, correlationId, response as In<Fields>);
    } catch (err) {
      // A handler built a response its version cannot carry: a broker bug. The connection is
      // closed (the client retries elsewhere); the log says exactly what to fix.
      this.log.error('response encode failed', { api: handler.api.name, version: apiVersion, error: (err as Error).message });
      throw err;
    }
  }

  private unsupported(apiKey: number, apiVersion: number, correlationId: number, connectionId: number): Buffer {
    this.log.info('unsupported request', { apiKey, apiVersion, connectionId });
    if (apiKey === ApiVersions.key) {
      return encodeFrame(ApiVersions.response, 0, correlationId, {
        errorCode: ErrorCode.UNSUPPORTED_VERSION,
        apiKeys: this.supportedApis(),
      });
    }
    const w = new Writer(16);
    const at = w.reserveInt32();
    writeResponseHeader(w, correlationId, 0);
    w.int16(ErrorCode.UNSUPPORTED_VERSION);
    w.patchInt32(at, w.length - 4);
    return w.toBuffer();
  }

  /**
   * A handler threw: answer with the error in the response's top-level errorCode when it has one.
   * Responses without one cannot carry a whole-request error: the connection is closed instead.
   */
  private errorResponse(handler: Handler, version: number, err: unknown): In<Fields> {
    const code = err instanceof KafkaError ? err.code : ErrorCode.UNKNOWN_SERVER_ERROR;
    if (!(err instanceof KafkaError)) {
      this.log.error('handler failed', { api: handler.api.name, version, error: (err as Error)?.stack ?? String(err) });
    }
    const fields = handler.api.response.fields;
    if ('errorCode' in fields) {
      const out: Record<string, unknown> = { errorCode: code };
      if ('errorMessage' in fields && err instanceof Error) out['errorMessage'] = err.message;
      return out as In<Fields>;
    }
    throw new ProtocolViolation(`${handler.api.name} failed and its response has no top-level error code: ${String(err)}`);
  }
}

export function encodeFrame<F extends Fields>(schema: MessageSchema<F>, version: number, correlationId: number, body: In<F>): Buffer {
  const w = new Writer(256);
  const at = w.reserveInt32();
  writeResponseHeader(w, correlationId, responseHeaderVersion(schema.apiKey, isFlexible(schema, version)));
  encodeMessage(schema, version, body, w);
  w.patchInt32(at, w.length - 4);
  return w.toBuffer();
}
