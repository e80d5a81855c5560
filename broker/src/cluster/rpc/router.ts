/**
 * Server side of internal RPC: one handler per declared method, served on the broker's Kafka
 * listener through the Dispatcher (`dispatcher.serveInternal(router)`).
 *
 * Every request is answered, whatever its body: a body that is not JSON or does not match the
 * method's schema gets INVALID_REQUEST with a message saying what is wrong, a handler that throws
 * gets its KafkaError code (or UNKNOWN_SERVER_ERROR), and a response that does not match the
 * method's response schema is reported as UNKNOWN_SERVER_ERROR (and logged: it is a bug here).
 * Only a request whose header cannot even give a correlation id could not be answered; the frame
 * reader guarantees there is one.
 *
 * Requests run concurrently (the Connection starts internal requests at once and writes each
 * answer when it is ready), so a handler may hold a request (long poll) without delaying others
 * on the same connection. `meta.signal` aborts when the connection closes: a held request should
 * stop waiting then, nobody is left to answer.
 */
import type { Logger } from 'winston';
import type { z } from 'zod';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { readRequestHeaderPrefix, readRequestHeaderRest } from '../../protocol/header.js';
import { Reader } from '../../protocol/primitives/reader.js';
import type { InternalConnection, InternalRequests } from '../../server/dispatcher.js';
import {
  INTERNAL_API_VERSION,
  clip,
  encodeResponseFrame,
  isInternalApiKey,
  parseJson,
  type RpcMethod,
} from './protocol.js';

export interface RpcRequestMeta {
  readonly clientId: string | null;
  readonly clientHost: string;
  readonly connectionId: number;
  /** Aborted when the caller's connection closes. */
  readonly signal: AbortSignal;
}

export type RpcHandler<Q extends z.ZodType, R extends z.ZodType> = (
  request: z.output<Q>,
  meta: RpcRequestMeta,
) => Promise<z.input<R>> | z.input<R>;

interface Route {
  method: RpcMethod;
  handler: RpcHandler<z.ZodType, z.ZodType>;
}

export class RpcRouter implements InternalRequests {
  private readonly routes = new Map<number, Route>();

  constructor(private readonly log: Logger) {}

  /** Registers the handler of one method; a key can have one handler only. */
  handle<Q extends z.ZodType, R extends z.ZodType>(method: RpcMethod<Q, R>, handler: RpcHandler<Q, R>): this {
    const existing = this.routes.get(method.apiKey);
    if (existing) {
      throw new Error(
        `internal RPC key ${method.apiKey} already has a handler (${existing.method.name}); cannot add ${method.name}`,
      );
    }
    this.routes.set(method.apiKey, { method, handler: handler as RpcHandler<z.ZodType, z.ZodType> });
    return this;
  }

  isInternal(apiKey: number): boolean {
    return isInternalApiKey(apiKey);
  }

  serves(apiKey: number, apiVersion: number): boolean {
    return apiVersion === INTERNAL_API_VERSION && this.routes.has(apiKey);
  }

  async dispatch(frame: Buffer, conn: InternalConnection): Promise<Buffer> {
    const r = new Reader(frame);
    const { apiKey, correlationId } = readRequestHeaderPrefix(r);
    const route = this.routes.get(apiKey);
    if (!route) throw new Error(`internal RPC key ${apiKey} has no handler (the dispatcher checks serves() first)`);
    const name = route.method.name;
    const fail = (code: number, message: string): Buffer =>
      encodeResponseFrame(correlationId, code, JSON.stringify({ message: clip(message) }));

    let clientId: string | null;
    let body: unknown;
    try {
      clientId = readRequestHeaderRest(r, 2).clientId;
    } catch (err) {
      return fail(ErrorCode.INVALID_REQUEST, `malformed ${name} request header: ${(err as Error).message}`);
    }
    try {
      body = parseJson(frame.subarray(r.offset));
    } catch (err) {
      this.log.warn('internal RPC request is not JSON', { method: name, clientId, clientHost: conn.clientHost, error: (err as Error).message });
      return fail(ErrorCode.INVALID_REQUEST, `${name} request body is not one JSON document: ${(err as Error).message}`);
    }
    const parsed = route.method.request.safeParse(body);
    if (!parsed.success) {
      const issues = formatIssues(parsed.error);
      this.log.warn('internal RPC request does not match its schema', { method: name, clientId, clientHost: conn.clientHost, issues });
      return fail(ErrorCode.INVALID_REQUEST, `${name} request does not match its schema: ${issues}`);
    }

    // One signal per request, so listeners a handler forgets to remove die with the request
    // instead of piling up on the connection's signal.
    const abort = new AbortController();
    const onClose = (): void => abort.abort(new Error(`connection ${conn.id} from ${conn.clientHost} closed`));
    if (conn.closed?.aborted) onClose();
    else conn.closed?.addEventListener('abort', onClose, { once: true });
    let result: unknown;
    try {
      result = await route.handler(parsed.data, {
        clientId,
        clientHost: conn.clientHost,
        connectionId: conn.id,
        signal: abort.signal,
      });
    } catch (err) {
      if (err instanceof KafkaError) return fail(err.code, err.message);
      this.log.error('internal RPC handler failed', { method: name, clientId, error: (err as Error)?.stack ?? String(err) });
      return fail(ErrorCode.UNKNOWN_SERVER_ERROR, `${name} failed on the server: ${(err as Error)?.message ?? String(err)}`);
    } finally {
      conn.closed?.removeEventListener('abort', onClose);
    }

    const checked = route.method.response.safeParse(result);
    let json: string | undefined;
    try {
      json = checked.success ? JSON.stringify(result) : undefined;
    } catch (err) {
      this.log.error('internal RPC response is not JSON-serializable', { method: name, error: (err as Error).message });
      return fail(ErrorCode.UNKNOWN_SERVER_ERROR, `${name} response cannot be sent as JSON: ${(err as Error).message}`);
    }
    if (json === undefined) {
      const issues = checked.success ? 'undefined is not a JSON document (use an object)' : formatIssues(checked.error);
      this.log.error('internal RPC handler returned a response that does not match its schema', { method: name, issues });
      return fail(ErrorCode.UNKNOWN_SERVER_ERROR, `${name} handler returned an invalid response: ${issues}`);
    }
    return encodeResponseFrame(correlationId, ErrorCode.NONE, json);
  }
}

/** "path.to.field: message; ..." — short enough for one log line. */
export function formatIssues(error: z.ZodError): string {
  return clip(
    error.issues
      .slice(0, 10)
      .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`)
      .join('; ') + (error.issues.length > 10 ? `; and ${error.issues.length - 10} more` : ''),
  );
}
