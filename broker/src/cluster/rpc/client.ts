/**
 * Client side of internal RPC: typed calls to one peer (host:port), over one TCP connection.
 *
 * One connection carries every call: requests are written at once and answers are matched by
 * correlation id in whatever order they come. The server runs internal requests concurrently
 * (see server/connection.ts), so a long poll the peer holds for seconds does not delay a
 * heartbeat on the same client. What can still delay a small answer is a large one being
 * transferred ahead of it on the wire (a 20 MB snapshot takes ~0.2 s at 1 Gbit/s), which is
 * well within heartbeat timeouts.
 *
 * The connection is opened lazily by the first call and again by the first call after it was
 * lost; a failed connect fails the calls waiting for it (nothing retries in the background, so a
 * closed or idle client holds no timers). When the connection drops, every pending call fails with
 * RpcUnavailableError. A call that times out on a connection that received nothing since the
 * call was sent also drops the connection: a silent connection cannot be told from a dead one
 * (peer host gone, no RST), and only a new connect finds out; the other pending calls then fail
 * and are retried by their callers.
 */
import { connect, type Socket } from 'node:net';
import type { Logger } from 'winston';
import type { z } from 'zod';
import { ErrorCode } from '../../protocol/errors.js';
import { skipTaggedFields } from '../../protocol/header.js';
import { Reader } from '../../protocol/primitives/reader.js';
import {
  RpcAbortedError,
  RpcProtocolError,
  RpcRemoteError,
  RpcTimeoutError,
  RpcUnavailableError,
} from './errors.js';
import { clip, encodeRequestFrame, parseJson, type RpcMethod } from './protocol.js';
import { formatIssues } from './router.js';

export interface RpcClientOptions {
  host: string;
  port: number;
  /** Sent in every request header; shows in the peer's logs (e.g. 'broker-3'). */
  clientId: string;
  connectTimeoutMs: number;
  log: Logger;
  /** The peer's socket.request.max.bytes: larger requests fail here instead of killing the
   *  connection there (default 100 MiB, the broker default). */
  maxRequestBytes?: number;
  /** Largest answer accepted (default 256 MiB). */
  maxResponseBytes?: number;
}

export interface RpcCallOptions {
  /** Covers connecting, sending and waiting for the answer. */
  timeoutMs: number;
  signal?: AbortSignal;
}

const DEFAULT_MAX_REQUEST_BYTES = 100 * 1024 * 1024;
const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

interface Pending {
  method: string;
  resolve: (payload: Buffer) => void;
  reject: (err: Error) => void;
}

export class RpcClient {
  readonly address: string;
  private link: Link | undefined;
  private nextCorrelationId = 1;
  private closed = false;
  private readonly maxRequestBytes: number;

  constructor(private readonly opts: RpcClientOptions) {
    this.address = `${opts.host}:${opts.port}`;
    this.maxRequestBytes = opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  }

  async call<Q extends z.ZodType, R extends z.ZodType>(
    method: RpcMethod<Q, R>,
    request: z.input<Q>,
    options: RpcCallOptions,
  ): Promise<z.output<R>> {
    const name = method.name;
    if (this.closed) throw new RpcUnavailableError(name, this.address, 'the client is closed', false);
    const checked = method.request.safeParse(request);
    if (!checked.success) {
      throw new RpcProtocolError(name, this.address, `request does not match its schema (not sent): ${formatIssues(checked.error)}`);
    }
    let json: string | undefined;
    try {
      json = JSON.stringify(request);
    } catch (err) {
      throw new RpcProtocolError(name, this.address, `request cannot be sent as JSON: ${(err as Error).message}`);
    }
    if (json === undefined) throw new RpcProtocolError(name, this.address, 'request is not a JSON document (use an object)');
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = correlationId === 0x7fffffff ? 1 : correlationId + 1;
    const frame = encodeRequestFrame(method.apiKey, correlationId, this.opts.clientId, json);
    if (frame.length - 4 > this.maxRequestBytes) {
      throw new RpcProtocolError(
        name,
        this.address,
        `request is ${frame.length - 4} bytes, more than the peer accepts (${this.maxRequestBytes}); not sent`,
      );
    }
    const payload = await this.exchange(name, correlationId, frame, options);
    return this.decode(method, payload);
  }

  /** Fails every pending call and closes the connection; later calls fail at once. */
  async close(): Promise<void> {
    this.closed = true;
    const link = this.link;
    this.link = undefined;
    if (link) await link.destroy('the client was closed');
  }

  private exchange(name: string, correlationId: number, frame: Buffer, options: RpcCallOptions): Promise<Buffer> {
    const { signal, timeoutMs } = options;
    if (signal?.aborted) {
      return Promise.reject(new RpcAbortedError(name, this.address, 'aborted before it was sent', { cause: signal.reason }));
    }
    return new Promise<Buffer>((resolve, reject) => {
      let link: Link | undefined;
      let receivedAtSend = -1;
      let settled = false;
      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        link?.pending.delete(correlationId);
        return true;
      };
      const timer = setTimeout(() => {
        if (!finish()) return;
        const sent = receivedAtSend >= 0;
        reject(new RpcTimeoutError(name, this.address, timeoutMs, sent));
        if (sent && link && link.receivedBytes === receivedAtSend) {
          void link.destroy(`no byte received for ${timeoutMs} ms while ${name} was waiting; the connection is presumed dead`);
        }
      }, timeoutMs);
      const onAbort = (): void => {
        if (finish()) reject(new RpcAbortedError(name, this.address, 'aborted by the caller', { cause: signal?.reason }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });

      this.connected(name).then(
        (l) => {
          if (settled) return;
          if (l.dead) {
            if (finish()) reject(new RpcUnavailableError(name, this.address, 'the connection closed before the request was sent', false));
            return;
          }
          link = l;
          link.pending.set(correlationId, {
            method: name,
            resolve: (payload) => {
              if (finish()) resolve(payload);
            },
            reject: (err) => {
              if (finish()) reject(err);
            },
          });
          receivedAtSend = link.receivedBytes;
          link.write(frame);
        },
        (err: Error) => {
          if (finish()) reject(err);
        },
      );
    });
  }

  /** The open connection, or a new one (shared by the calls that arrive while it connects). */
  private async connected(name: string): Promise<Link> {
    if (this.closed) throw new RpcUnavailableError(name, this.address, 'the client is closed', false);
    let link = this.link;
    if (!link || link.dead) {
      link = new Link(this.opts, this.address, (l) => {
        if (this.link === l) this.link = undefined;
      });
      this.link = link;
    }
    try {
      await link.ready;
    } catch (err) {
      throw new RpcUnavailableError(name, this.address, (err as Error).message, false, { cause: err });
    }
    if (this.closed || link.dead) throw new RpcUnavailableError(name, this.address, 'the connection closed before the request was sent', false);
    return link;
  }

  private decode<R extends z.ZodType>(method: RpcMethod<z.ZodType, R>, payload: Buffer): z.output<R> {
    const name = method.name;
    // The dispatcher's answer to a key it has no method for: correlation id + int16 error code.
    if (payload.length === 6) {
      const code = payload.readInt16BE(4);
      throw new RpcRemoteError(
        name,
        this.address,
        code,
        code === ErrorCode.UNSUPPORTED_VERSION
          ? `the peer has no handler for internal API key ${method.apiKey} v0 (not registered there, or an older broker)`
          : 'error without a message',
      );
    }
    let code: number;
    let body: unknown;
    try {
      const r = new Reader(payload);
      r.int32();
      skipTaggedFields(r);
      code = r.int16();
      body = parseJson(payload.subarray(r.offset));
    } catch (err) {
      throw new RpcProtocolError(name, this.address, `malformed response: ${(err as Error).message}`);
    }
    if (code !== ErrorCode.NONE) {
      const message =
        typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string'
          ? (body as { message: string }).message
          : clip(JSON.stringify(body));
      throw new RpcRemoteError(name, this.address, code, message);
    }
    const parsed = method.response.safeParse(body);
    if (!parsed.success) {
      throw new RpcProtocolError(name, this.address, `response does not match its schema: ${formatIssues(parsed.error)}`);
    }
    return parsed.data;
  }
}

/** One TCP connection and the calls waiting on it. */
class Link {
  readonly ready: Promise<void>;
  readonly pending = new Map<number, Pending>();
  /** Bytes received so far: tells a silent connection from a busy one. */
  receivedBytes = 0;
  dead = false;
  private readonly socket: Socket;
  private readonly closedPromise: Promise<void>;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private deathReason: string | undefined;
  private readonly maxResponseBytes: number;

  constructor(
    private readonly opts: RpcClientOptions,
    private readonly address: string,
    private readonly onDead: (link: Link) => void,
  ) {
    this.maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    const socket = connect({ host: opts.host, port: opts.port });
    this.socket = socket;
    socket.setNoDelay(true);
    let connected = false;
    let lastError: Error | undefined;
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.kill(`connect timed out after ${opts.connectTimeoutMs} ms`);
      }, opts.connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        connected = true;
        this.opts.log.debug('internal RPC connected', { address: this.address, clientId: opts.clientId });
        resolve();
      });
      socket.once('close', () => {
        clearTimeout(timer);
        if (!connected) {
          reject(new Error(`cannot connect: ${this.deathReason ?? lastError?.message ?? 'connection closed'}`));
        }
      });
    });
    // Callers await `ready` only through connected(); keep an unobserved failure quiet.
    this.ready.catch(() => undefined);
    this.closedPromise = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', (err) => {
      lastError = err;
      this.deathReason ??= err.message;
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => {
      this.dead = true;
      this.onDead(this);
      const reason = this.deathReason ?? 'the peer closed the connection';
      if (connected) this.opts.log.info('internal RPC connection lost', { address: this.address, reason, pending: this.pending.size });
      for (const p of [...this.pending.values()]) {
        p.reject(new RpcUnavailableError(p.method, this.address, `connection lost before the answer: ${reason}`, true));
      }
      this.pending.clear();
    });
  }

  write(frame: Buffer): void {
    this.socket.write(frame);
  }

  /** Closes the connection (failing its pending calls); resolves once the socket is closed. */
  destroy(reason: string): Promise<void> {
    this.kill(reason);
    return this.closedPromise;
  }

  private kill(reason: string): void {
    if (this.dead) return;
    this.dead = true;
    this.deathReason ??= reason;
    this.onDead(this);
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.receivedBytes += chunk.length;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= 4) {
      const first = this.chunks[0]!;
      const size = first.length >= 4 ? first.readInt32BE(0) : Buffer.concat(this.chunks, 4).readInt32BE(0);
      if (size < 6 || size > this.maxResponseBytes) {
        this.kill(`response size ${size} is outside 6..${this.maxResponseBytes} bytes; the peer is not an internal RPC server or the stream is corrupt`);
        return;
      }
      if (this.buffered < 4 + size) return;
      const all = this.chunks.length === 1 ? first : Buffer.concat(this.chunks, this.buffered);
      const payload = all.subarray(4, 4 + size);
      const rest = all.subarray(4 + size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
      const correlationId = payload.readInt32BE(0);
      const p = this.pending.get(correlationId);
      if (p) {
        this.pending.delete(correlationId);
        p.resolve(payload);
      } else {
        // The call timed out or was aborted before its answer came: nothing waits for it.
        this.opts.log.debug('internal RPC answer for no pending call', { address: this.address, correlationId });
      }
    }
  }
}
