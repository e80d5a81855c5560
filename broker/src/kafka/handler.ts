/**
 * The handler contract: one file per API under handlers/, named `NN_api_name.ts` by API key.
 * Each file default-exports `defineHandler(api, { min, max }, fn)`: the versions it serves and
 * the function. The ApiVersions response is built from these registrations, so what the broker
 * advertises is exactly what it implements.
 *
 * A handler receives the decoded request (every field present, defaults filled in) and returns
 * the response body (fields may be omitted: they take their defaults). Kafka errors go into the
 * response's per-item error codes; a handler throws only for errors that should fail the whole
 * request (the connection layer then answers with the top-level error code where the response
 * has one, or closes the connection).
 */
import type { Api, Fields, In, Out } from '../protocol/schema.js';
import type { BrokerContext } from './context.js';

export interface RequestContext {
  readonly apiVersion: number;
  readonly clientId: string | null;
  /** Remote address, for logs and client-rack routing. */
  readonly clientHost: string;
  /** Unique per connection, for logs. */
  readonly connectionId: number;
}

export type HandlerFn<Q extends Fields, R extends Fields> = (
  request: Out<Q>,
  req: RequestContext,
  broker: BrokerContext,
) => Promise<In<R> | NoResponse> | In<R> | NoResponse;

/** Returned by a handler when the protocol says no response is sent (produce with acks=0). */
export const NO_RESPONSE = Symbol('no-response');
export type NoResponse = typeof NO_RESPONSE;

export interface Handler<Q extends Fields = Fields, R extends Fields = Fields> {
  readonly api: Api<Q, R>;
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly handle: HandlerFn<Q, R>;
}

export function defineHandler<Q extends Fields, R extends Fields>(
  api: Api<Q, R>,
  versions: { min: number; max: number },
  handle: HandlerFn<Q, R>,
): Handler<Q, R> {
  if (versions.min < api.request.valid.min || versions.max > api.request.valid.max) {
    throw new Error(`${api.name}: handler versions ${versions.min}-${versions.max} outside the schema's range`);
  }
  return { api, minVersion: versions.min, maxVersion: versions.max, handle };
}
