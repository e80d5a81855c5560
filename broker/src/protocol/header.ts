/**
 * Request and response headers.
 *
 * Request header v0: apiKey, apiVersion, correlationId. v1 adds clientId (a classic nullable
 * string even in v2). v2 adds a tagged-field section. Response header v0: correlationId;
 * v1 adds a tagged-field section. Flexible request versions use request header v2 and response
 * header v1, except ApiVersions whose response header is always v0 (clients parse it before
 * they know the broker's versions).
 */
import { ProtocolDecodeError, Reader } from './primitives/reader.js';
import type { Writer } from './primitives/writer.js';

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

/** Reads the fixed part of every request header (v0 prefix), enough to pick the API. */
export function readRequestHeaderPrefix(r: Reader): Omit<RequestHeader, 'clientId'> {
  return { apiKey: r.int16(), apiVersion: r.int16(), correlationId: r.int32() };
}

/** Reads the rest of a request header of the given header version (1 or 2). */
export function readRequestHeaderRest(r: Reader, headerVersion: number): { clientId: string | null } {
  if (headerVersion < 1) return { clientId: null };
  const n = r.int16();
  let clientId: string | null = null;
  if (n >= 0) clientId = r.utf8(n);
  else if (n !== -1) throw new ProtocolDecodeError(`bad client id length ${n}`);
  if (headerVersion >= 2) skipTaggedFields(r);
  return { clientId };
}

export function skipTaggedFields(r: Reader): void {
  const count = r.uvarint();
  r.checkCount(count, 2, 'header tagged fields');
  for (let i = 0; i < count; i++) {
    r.uvarint();
    r.skip(r.uvarint());
  }
}

export function writeRequestHeader(w: Writer, h: RequestHeader, headerVersion: number): void {
  w.int16(h.apiKey).int16(h.apiVersion).int32(h.correlationId);
  if (headerVersion >= 1) {
    if (h.clientId === null) w.int16(-1);
    else {
      const b = Buffer.from(h.clientId, 'utf8');
      w.int16(b.length).raw(b);
    }
  }
  if (headerVersion >= 2) w.uvarint(0);
}

export function writeResponseHeader(w: Writer, correlationId: number, headerVersion: number): void {
  w.int32(correlationId);
  if (headerVersion >= 1) w.uvarint(0);
}

export function requestHeaderVersion(flexible: boolean): number {
  return flexible ? 2 : 1;
}

export function responseHeaderVersion(apiKey: number, flexible: boolean): number {
  if (apiKey === 18) return 0;
  return flexible ? 1 : 0;
}
