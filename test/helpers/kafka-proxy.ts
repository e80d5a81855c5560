// A TCP proxy in front of the broker that injects produce retries: for chosen Produce requests it
// forwards the request, waits until the broker has answered (so the records are appended), then
// drops both connections instead of passing the answer on. The client never sees the ack and
// retries the same batch: an idempotent producer must not end up with duplicates.
import net from 'node:net';
import { freePorts, startBroker, type Broker } from './broker.js';

export interface FaultyProxyOptions {
  targetPort: number;
  /** Port to listen on (the broker must advertise it so that every connection goes through here). */
  listenPort: number;
  /** Which Produce requests (1-based, counted over all connections) lose their response. */
  dropProduceResponse: (produceRequestNumber: number) => boolean;
}

const PRODUCE = 0;

export class FaultyProxy {
  produceRequests = 0;
  droppedResponses = 0;
  connections = 0;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly o: FaultyProxyOptions) {
    this.server = net.createServer((client) => this.handle(client));
  }

  static async start(o: FaultyProxyOptions): Promise<FaultyProxy> {
    const p = new FaultyProxy(o);
    await new Promise<void>((resolve, reject) => {
      p.server.once('error', reject);
      p.server.listen(o.listenPort, '127.0.0.1', () => resolve());
    });
    return p;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(client: net.Socket): void {
    this.connections++;
    const upstream = net.connect({ host: '127.0.0.1', port: this.o.targetPort });
    this.sockets.add(client);
    this.sockets.add(upstream);
    const swallow = new Set<number>();
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => {
      this.sockets.delete(client);
      upstream.destroy();
    });
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);

    // Requests: size(4) apiKey(2) apiVersion(2) correlationId(4) ...
    let reqBuf: Buffer = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      reqBuf = reqBuf.length === 0 ? chunk : Buffer.concat([reqBuf, chunk]);
      while (reqBuf.length >= 12) {
        const size = reqBuf.readInt32BE(0);
        if (reqBuf.length < 4 + size) break;
        const apiKey = reqBuf.readInt16BE(4);
        const correlationId = reqBuf.readInt32BE(8);
        if (apiKey === PRODUCE) {
          this.produceRequests++;
          if (this.o.dropProduceResponse(this.produceRequests)) swallow.add(correlationId);
        }
        upstream.write(reqBuf.subarray(0, 4 + size));
        reqBuf = reqBuf.subarray(4 + size);
      }
    });

    // Responses: size(4) correlationId(4) ...
    let resBuf: Buffer = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      resBuf = resBuf.length === 0 ? chunk : Buffer.concat([resBuf, chunk]);
      while (resBuf.length >= 8) {
        const size = resBuf.readInt32BE(0);
        if (resBuf.length < 4 + size) break;
        const correlationId = resBuf.readInt32BE(4);
        if (swallow.has(correlationId)) {
          this.droppedResponses++;
          closeBoth();
          return;
        }
        client.write(resBuf.subarray(0, 4 + size));
        resBuf = resBuf.subarray(4 + size);
      }
    });
  }
}

/**
 * A broker that advertises a FaultyProxy's port, so clients learn the proxy's address from
 * Metadata and every connection goes through it; `withDrops` turns response dropping on for the
 * duration of one action.
 */
export class ProxiedBroker {
  private dropEvery = 0;

  private constructor(
    readonly broker: Broker,
    readonly proxy: FaultyProxy,
  ) {}

  static async start(): Promise<ProxiedBroker> {
    const [proxyPort] = await freePorts(1);
    const broker = await startBroker({ advertisePort: proxyPort });
    let self: ProxiedBroker | undefined;
    const proxy = await FaultyProxy.start({
      targetPort: broker.port,
      listenPort: proxyPort!,
      dropProduceResponse: (n) => (self?.dropEvery ?? 0) > 0 && n % self!.dropEvery === 0,
    });
    self = new ProxiedBroker(broker, proxy);
    return self;
  }

  /** Runs `action` while every `every`-th Produce response is dropped. */
  async withDrops<T>(every: number, action: () => Promise<T>): Promise<T> {
    this.dropEvery = every;
    try {
      return await action();
    } finally {
      this.dropEvery = 0;
    }
  }

  async close(): Promise<void> {
    await this.proxy.close();
    await this.broker.stop();
  }
}
