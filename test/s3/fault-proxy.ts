// A fault-injecting HTTP proxy between an S3 client and MinIO. It forwards requests unchanged
// (Host header included, so SigV4 signatures stay valid) and, while a rule is set, injects:
//   status            answer 500/503 with an S3 error body; the request never reaches MinIO
//   status-after-apply forward (MinIO applies it), then answer 500 instead of MinIO's answer
//   reset             destroy the client connection without forwarding
//   reset-after-apply forward, then destroy the connection instead of answering
//   stall             hold the request: no answer, ever (the client's deadline must fire)
//   slow              forward with both directions throttled to bytesPerSec
// Rules apply to requests that match (method / path), with a probability from a seeded RNG so
// runs are reproducible. Everything it holds is destroyed by clear() and close().
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { seededRandom } from '../helpers/random.js';

export type Fault =
  | { kind: 'status'; status: 500 | 503 }
  | { kind: 'status-after-apply'; status: 500 | 503 }
  | { kind: 'reset' }
  | { kind: 'reset-after-apply' }
  | { kind: 'stall' }
  | { kind: 'slow'; bytesPerSec: number };

export interface FaultRule {
  fault: Fault;
  /** Which requests; all by default. */
  match?: (req: { method: string; path: string }) => boolean;
  /** Share of matching requests that get the fault (default 1). */
  probability?: number;
}

/** Passes bytes through at most `bytesPerSec`, in 20 ms slices. */
class Throttle extends Transform {
  private timers = new Set<NodeJS.Timeout>();
  constructor(private readonly bytesPerSec: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const slice = Math.max(1, Math.floor(this.bytesPerSec / 50));
    let off = 0;
    const step = (): void => {
      if (this.destroyed) return;
      const part = chunk.subarray(off, off + slice);
      off += part.length;
      this.push(part);
      if (off >= chunk.length) {
        cb();
        return;
      }
      const t = setTimeout(() => {
        this.timers.delete(t);
        step();
      }, 20);
      this.timers.add(t);
    };
    step();
  }
  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    cb(err);
  }
}

const S3_CODE: Record<number, string> = { 500: 'InternalError', 503: 'SlowDown' };

export class S3FaultProxy {
  /** Requests seen / faults injected, for assertions that the fault really happened. */
  requests = 0;
  injected = 0;
  private rule: FaultRule | undefined;
  private random: () => number;
  private readonly sockets = new Set<Socket>();
  private readonly stalled = new Set<ServerResponse>();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  private constructor(
    private readonly server: http.Server,
    private readonly target: URL,
    seed: number,
    readonly endpoint: string,
  ) {
    this.random = seededRandom(seed);
  }

  static async start(target: string, seed = 1): Promise<S3FaultProxy> {
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const port = (server.address() as { port: number }).port;
    const proxy = new S3FaultProxy(server, new URL(target), seed, `http://127.0.0.1:${port}`);
    server.on('connection', (s: Socket) => {
      proxy.sockets.add(s);
      s.once('close', () => proxy.sockets.delete(s));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => proxy.handle(req, res));
    return proxy;
  }

  set(rule: FaultRule, seed?: number): void {
    this.rule = rule;
    if (seed !== undefined) this.random = seededRandom(seed);
  }

  /** Stops injecting; requests held by a stall are dropped (their clients time out or already did). */
  clear(): void {
    this.rule = undefined;
    for (const res of this.stalled) res.socket?.destroy();
    this.stalled.clear();
  }

  private pick(req: IncomingMessage): Fault | undefined {
    const r = this.rule;
    if (r === undefined) return undefined;
    const path = req.url ?? '/';
    if (r.match !== undefined && !r.match({ method: req.method ?? 'GET', path })) return undefined;
    if (this.random() >= (r.probability ?? 1)) return undefined;
    this.injected++;
    return r.fault;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests++;
    const fault = this.pick(req);
    switch (fault?.kind) {
      case 'status':
        req.resume();
        req.once('end', () => this.errorResponse(res, fault.status));
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'stall':
        this.stalled.add(res);
        res.once('close', () => this.stalled.delete(res));
        req.resume();
        return;
      default:
        this.forward(req, res, fault);
    }
  }

  private errorResponse(res: ServerResponse, status: number): void {
    const code = S3_CODE[status] ?? 'InternalError';
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected by the test proxy</Message><RequestId>fault</RequestId></Error>`;
    if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  private forward(req: IncomingMessage, res: ServerResponse, fault: Fault | undefined): void {
    const up = http.request(
      {
        host: this.target.hostname,
        port: this.target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent: this.agent,
      },
      (upRes) => {
        if (fault?.kind === 'status-after-apply') {
          upRes.resume();
          upRes.once('end', () => this.errorResponse(res, fault.status));
          return;
        }
        if (fault?.kind === 'reset-after-apply') {
          upRes.resume();
          upRes.once('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        if (fault?.kind === 'slow') upRes.pipe(new Throttle(fault.bytesPerSec)).pipe(res);
        else upRes.pipe(res);
      },
    );
    up.on('error', () => req.socket.destroy());
    res.once('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    if (fault?.kind === 'slow') req.pipe(new Throttle(fault.bytesPerSec)).pipe(up);
    else req.pipe(up);
  }

  async close(): Promise<void> {
    this.clear();
    for (const s of this.sockets) s.destroy();
    this.agent.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
