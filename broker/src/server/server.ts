/** The Kafka listener: accepts connections and hands frames to the dispatcher. */
import { setMaxListeners } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'winston';
import { Connection } from './connection.js';
import type { InternalConnection } from './dispatcher.js';

/** What the listener needs of a dispatcher (the full Kafka dispatcher, or the one used while starting). */
export interface FrameDispatcher {
  dispatch(frame: Buffer, conn: InternalConnection): Promise<Buffer | null>;
  unordered(frame: Buffer): boolean;
}

export interface KafkaServerOptions {
  host: string;
  port: number;
  /** socket.request.max.bytes (default 100 MiB). */
  maxRequestBytes: number;
  /** Requests in flight per connection before reading pauses. */
  maxInFlightPerConnection: number;
}

export class KafkaServer {
  private server: Server | undefined;
  private readonly connections = new Map<number, Connection>();
  private nextId = 1;

  constructor(
    private readonly opts: KafkaServerOptions,
    private dispatcher: FrameDispatcher,
    private readonly log: Logger,
  ) {}

  /**
   * Replaces the dispatcher (cluster mode binds the listener early, serving only internal RPC while
   * the broker starts, then switches to the full Kafka dispatcher). Applies to requests read from now on.
   */
  setDispatcher(dispatcher: FrameDispatcher): void {
    this.dispatcher = dispatcher;
  }

  /** Starts listening; resolves with the bound port (useful with port 0). */
  async start(): Promise<number> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    return typeof addr === 'object' && addr ? addr.port : this.opts.port;
  }

  private accept(socket: Socket): void {
    const id = this.nextId++;
    const clientHost = socket.remoteAddress ?? 'unknown';
    // Tells held internal requests (long polls) that nobody is waiting for them any more; each
    // in-flight internal request listens once, bounded by the in-flight limit.
    const closed = new AbortController();
    setMaxListeners(this.opts.maxInFlightPerConnection + 16, closed.signal);
    const conn = new Connection(socket, {
      id,
      maxFrameBytes: this.opts.maxRequestBytes,
      maxInFlight: this.opts.maxInFlightPerConnection,
      dispatch: (frame) => this.dispatcher.dispatch(frame, { id, clientHost, closed: closed.signal }),
      // Produce (API key 0) pipelines; everything else runs one at a time, as in Kafka.
      pipelineable: (frame) => frame.readInt16BE(0) === 0,
      // Internal RPC runs concurrently and is answered by correlation id (see Connection).
      unordered: (frame) => this.dispatcher.unordered(frame),
      onError: (connectionId, err) => this.log.warn('connection error', { connectionId, clientHost, error: err.message }),
      onClose: (connectionId) => {
        closed.abort();
        this.connections.delete(connectionId);
      },
    });
    this.connections.set(id, conn);
  }

  /** Stops accepting and closes every connection. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const c of this.connections.values()) c.close();
    this.connections.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
