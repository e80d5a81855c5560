/**
 * Internal RPC between brokers and the active controller: Kafka framing, JSON bodies.
 *
 * Reserved API keys 32000..32099 (INTERNAL_API_KEY_MIN..MAX), version 0 only. Apache Kafka's keys
 * stay far below (under 100 today) and the range is above anything it is likely to allocate, so a
 * Kafka client can never reach an internal method by accident; the dispatcher never advertises
 * these keys in ApiVersions.
 *
 * Request  = int32 size | int16 apiKey | int16 apiVersion (0) | int32 correlationId
 *            | int16 clientId length + bytes | uvarint 0 (header v2 tagged fields)
 *            | one UTF-8 JSON document (the rest of the frame)
 * Response = int32 size | int32 correlationId | uvarint 0 (header v1 tagged fields)
 *            | int16 errorCode | one UTF-8 JSON document (the rest of the frame):
 *              the method's response when errorCode is 0, else {"message": string}
 * An internal key with no registered method is answered like any unknown Kafka key:
 *   int32 size (6) | int32 correlationId | int16 UNSUPPORTED_VERSION (response header v0), which
 * is shorter than any JSON response and therefore unambiguous.
 *
 * Error codes are Kafka's (protocol/errors.ts): INVALID_REQUEST for a body that is not JSON or does
 * not match the method's request schema, UNKNOWN_SERVER_ERROR for a handler that failed, and
 * whatever code a handler throws as a KafkaError (NOT_CONTROLLER, STALE_BROKER_EPOCH, ...).
 *
 * Bodies are sent as given (the input side of the zod schema) and parsed by the receiver with the
 * same schema, so schemas may use defaults and transforms; they must describe JSON (numbers,
 * strings, arrays, objects: no bigint, Date or Map on the wire).
 */
import type { z } from 'zod';

export const INTERNAL_API_KEY_MIN = 32000;
export const INTERNAL_API_KEY_MAX = 32099;
export const INTERNAL_API_VERSION = 0;

export function isInternalApiKey(apiKey: number): boolean {
  return apiKey >= INTERNAL_API_KEY_MIN && apiKey <= INTERNAL_API_KEY_MAX;
}

export interface RpcMethod<Q extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  readonly apiKey: number;
  /** For logs and error messages, e.g. 'heartbeat'. */
  readonly name: string;
  readonly request: Q;
  readonly response: R;
}

/** Declares one internal method; both sides use the same declaration. */
export function defineRpc<Q extends z.ZodType, R extends z.ZodType>(def: {
  apiKey: number;
  name: string;
  request: Q;
  response: R;
}): RpcMethod<Q, R> {
  if (!Number.isInteger(def.apiKey) || !isInternalApiKey(def.apiKey)) {
    throw new RangeError(
      `internal RPC '${def.name}': API key ${def.apiKey} is outside the reserved range ${INTERNAL_API_KEY_MIN}..${INTERNAL_API_KEY_MAX}`,
    );
  }
  if (def.name.length === 0) throw new Error(`internal RPC with API key ${def.apiKey} needs a name`);
  return Object.freeze({ apiKey: def.apiKey, name: def.name, request: def.request, response: def.response });
}

/** Bytes before the JSON in a request: size, key, version, correlation id, client id, tags. */
export function encodeRequestFrame(apiKey: number, correlationId: number, clientId: string, json: string): Buffer {
  const idLen = Buffer.byteLength(clientId, 'utf8');
  if (idLen > 0x7fff) throw new RangeError(`client id is ${idLen} bytes, at most 32767 fit a request header`);
  const head = 4 + 2 + 2 + 4 + 2 + idLen + 1;
  const buf = Buffer.allocUnsafe(head + Buffer.byteLength(json, 'utf8'));
  let at = buf.writeInt32BE(buf.length - 4, 0);
  at = buf.writeInt16BE(apiKey, at);
  at = buf.writeInt16BE(INTERNAL_API_VERSION, at);
  at = buf.writeInt32BE(correlationId, at);
  at = buf.writeInt16BE(idLen, at);
  at += buf.write(clientId, at, 'utf8');
  buf[at++] = 0;
  buf.write(json, at, 'utf8');
  return buf;
}

/** size + correlation id + tags (0) + error code. */
const RESPONSE_HEAD = 4 + 4 + 1 + 2;

export function encodeResponseFrame(correlationId: number, errorCode: number, json: string): Buffer {
  const buf = Buffer.allocUnsafe(RESPONSE_HEAD + Buffer.byteLength(json, 'utf8'));
  buf.writeInt32BE(buf.length - 4, 0);
  buf.writeInt32BE(correlationId, 4);
  buf[8] = 0;
  buf.writeInt16BE(errorCode, 9);
  buf.write(json, RESPONSE_HEAD, 'utf8');
  return buf;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes a JSON document; throws a SyntaxError/TypeError whose message says what is wrong. */
export function parseJson(bytes: Buffer): unknown {
  if (bytes.length === 0) throw new SyntaxError('empty body (expected one JSON document)');
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new SyntaxError('body is not valid UTF-8');
  }
  return JSON.parse(text);
}

/** Keeps error texts that travel on the wire or into logs readable. */
export function clip(text: string, max = 2000): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length - max} more characters)`;
}
