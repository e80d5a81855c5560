/**
 * A minimal Kafka client for protocol tests: sends requests encoded with the project's codec
 * and decodes responses, or sends raw bytes to test how the broker treats bad input.
 */
import { connect, type Socket } from 'node:net';
import { decodeMessage, encodeMessage, isFlexible } from '../../broker/src/protocol/codec.js';
import { requestHeaderVersion, responseHeaderVersion, skipTaggedFields, writeRequestHeader } from '../../broker/src/protocol/header.js';
import { Reader } from '../../broker/src/protocol/primitives/reader.js';
import { Writer } from '../../broker/src/protocol/primitives/writer.js';
import type { Api, Fields, In, Out } from '../../broker/src/protocol/schema.js';

export class ConnectionClosedError extends Error {
  override readonly name = 'ConnectionClosedError';
}

export class WireClient {
  private buffered = Buffer.alloc(0);
  private waiters: { resolve: (frame: Buffer) => void; reject: (err: Error) => void }[] = [];
  private closedWaiters: (() => void)[] = [];
  private correlationId = 1;
  closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readInt32BE(0)) {
        const size = this.buffered.readInt32BE(0);
        const frame = this.buffered.subarray(4, 4 + size);
        this.buffered = this.buffered.subarray(4 + size);
        this.waiters.shift()?.resolve(frame);
      }
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w.reject(new ConnectionClosedError('the broker closed the connection before answering'));
      for (const w of this.closedWaiters.splice(0)) w();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number, host = '127.0.0.1'): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, host, () => resolve(new WireClient(s)));
      s.once('error', reject);
    });
  }

  /** Next response frame (without size prefix); rejects after timeoutMs or when the connection closes. */
  nextFrame(timeoutMs = 10_000): Promise<Buffer> {
    if (this.closed) return Promise.reject(new ConnectionClosedError('the connection is closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
    });
  }

  /** Resolves when the broker closes the connection, rejects after timeoutMs. */
  waitClosed(timeoutMs = 10_000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
      this.closedWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  encodeRequest<Q extends Fields, R extends Fields>(api: Api<Q, R>, version: number, body: In<Q>, correlationId = this.correlationId++): Buffer {
    const w = new Writer();
    const at = w.reserveInt32();
    writeRequestHeader(w, { apiKey: api.key, apiVersion: version, correlationId, clientId: 'wire-test' }, requestHeaderVersion(isFlexible(api.request, version)));
    encodeMessage(api.request, version, body, w);
    w.patchInt32(at, w.length - 4);
    return Buffer.from(w.toBuffer());
  }

  async request<Q extends Fields, R extends Fields>(api: Api<Q, R>, version: number, body: In<Q>): Promise<Out<R>> {
    const correlationId = this.correlationId++;
    const pending = this.nextFrame();
    this.socket.write(this.encodeRequest(api, version, body, correlationId));
    return decodeResponse(api, version, await pending, correlationId);
  }

  close(): void {
    this.socket.destroy();
  }
}

export function decodeResponse<Q extends Fields, R extends Fields>(api: Api<Q, R>, version: number, frame: Buffer, correlationId?: number): Out<R> {
  const r = new Reader(frame);
  const cid = r.int32();
  if (correlationId !== undefined && cid !== correlationId) throw new Error(`correlation id ${cid}, expected ${correlationId}`);
  if (responseHeaderVersion(api.key, isFlexible(api.response, version)) >= 1) skipTaggedFields(r);
  const out = decodeMessage(api.response, version, r);
  if (r.remaining !== 0) throw new Error(`${r.remaining} bytes left after decoding ${api.name} v${version} response`);
  return out;
}
