// Topic ids through the public Kafka protocol (Metadata v10+), which kafkajs does not expose.
// Uses the project's one Kafka codec (broker/src/protocol): the same definitions the broker serves.
import { connect, type Socket } from 'node:net';
import { decodeMessage, encodeMessage, isFlexible } from '../../../broker/src/protocol/codec.js';
import { requestHeaderVersion, responseHeaderVersion, skipTaggedFields, writeRequestHeader } from '../../../broker/src/protocol/header.js';
import { ApiVersions } from '../../../broker/src/protocol/messages/18_api_versions.js';
import { Metadata } from '../../../broker/src/protocol/messages/03_metadata.js';
import { Reader } from '../../../broker/src/protocol/primitives/reader.js';
import { Writer } from '../../../broker/src/protocol/primitives/writer.js';
import { ZERO_UUID, type Api, type Fields, type In, type Out } from '../../../broker/src/protocol/schema.js';


/** Kafka prints topic ids as URL-safe base64 of the 16 bytes (22 characters). */
export function topicIdForDisplay(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64url');
}

/**
 * Returns the ids of the named topics (display form), or an empty map when the broker's Metadata
 * is older than v10 (no ids). Throws when no bootstrap server answers within timeoutMs.
 */
export async function fetchTopicIds(bootstrap: readonly string[], topics: readonly string[], timeoutMs = 5000): Promise<Map<string, string>> {
  let lastError: unknown;
  for (const server of bootstrap) {
    const [host, port] = splitHostPort(server);
    let conn: WireConnection | undefined;
    try {
      conn = await WireConnection.open(host, port, timeoutMs);
      const versions = await conn.request(ApiVersions, 0, {});
      const md = versions.apiKeys.find((k) => k.apiKey === Metadata.key);
      if (!md || md.maxVersion < 10) return new Map();
      const version = Math.min(md.maxVersion, 12);
      const res = await conn.request(Metadata, version, { topics: topics.map((name) => ({ name })), allowAutoTopicCreation: false });
      const out = new Map<string, string>();
      for (const t of res.topics) if (t.errorCode === 0 && t.name && t.topicId !== ZERO_UUID) out.set(t.name, topicIdForDisplay(t.topicId));
      return out;
    } catch (err) {
      lastError = err;
    } finally {
      conn?.close();
    }
  }
  throw new Error(`no bootstrap server answered a Metadata request (${bootstrap.join(',')}): ${lastError instanceof Error ? lastError.message : String(lastError)}`);
}

function splitHostPort(s: string): [string, number] {
  const i = s.lastIndexOf(':');
  if (i <= 0) throw new Error(`bootstrap server "${s}" is not HOST:PORT`);
  return [s.slice(0, i).replace(/^\[|\]$/g, ''), Number(s.slice(i + 1))];
}

/** One request at a time over one socket, each bounded by the timeout. */
class WireConnection {
  private buffered = Buffer.alloc(0);
  private pending: ((frame: Buffer) => void) | undefined;
  private failed: ((err: Error) => void) | undefined;
  private correlationId = 1;

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      if (this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readInt32BE(0)) {
        const size = this.buffered.readInt32BE(0);
        const frame = this.buffered.subarray(4, 4 + size);
        this.buffered = this.buffered.subarray(4 + size);
        this.pending?.(frame);
      }
    });
    socket.on('error', (err) => this.failed?.(err));
    socket.on('close', () => this.failed?.(new Error('connection closed')));
  }

  static open(host: string, port: number, timeoutMs: number): Promise<WireConnection> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(new WireConnection(s, timeoutMs));
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  request<Q extends Fields, R extends Fields>(api: Api<Q, R>, version: number, body: In<Q>): Promise<Out<R>> {
    const correlationId = this.correlationId++;
    const w = new Writer();
    const at = w.reserveInt32();
    writeRequestHeader(w, { apiKey: api.key, apiVersion: version, correlationId, clientId: 'automq-operator' }, requestHeaderVersion(isFlexible(api.request, version)));
    encodeMessage(api.request, version, body, w);
    w.patchInt32(at, w.length - 4);
    return new Promise<Out<R>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${api.name} v${version} got no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      this.failed = (err) => {
        clearTimeout(timer);
        reject(err);
      };
      this.pending = (frame) => {
        clearTimeout(timer);
        try {
          const r = new Reader(frame);
          if (r.int32() !== correlationId) throw new Error('correlation id mismatch');
          if (responseHeaderVersion(api.key, isFlexible(api.response, version)) >= 1) skipTaggedFields(r);
          resolve(decodeMessage(api.response, version, r));
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      };
      this.socket.write(w.toBuffer());
    });
  }

  close(): void {
    this.failed = undefined;
    this.socket.destroy();
  }
}
