/**
 * Fixtures for the metadata channel over internal RPC: a "controller" (a MetadataOwner on a shared
 * object store, served by a real KafkaServer + Dispatcher + RpcRouter on 127.0.0.1) and "nodes"
 * (stream clients opened with openStreamClientOn over a RemoteMetadataChannel).
 */
import { createServer } from 'node:net';
import { serveMetadataChannel, type ServedMetadataOwner } from '../../../broker/src/cluster/metadata/server.js';
import { RemoteMetadataChannel, type RemoteMetadataChannelOptions } from '../../../broker/src/cluster/metadata/remote-channel.js';
import { SettableControllerLocator, type ControllerAddress } from '../../../broker/src/cluster/metadata/locator.js';
import { RpcRouter } from '../../../broker/src/cluster/rpc/router.js';
import type { ObjectStore, StreamClient } from '../../../broker/src/s3stream/api.js';
import { MetadataFencedError } from '../../../broker/src/s3stream/api.js';
import { MetadataOwner } from '../../../broker/src/s3stream/metadata/owner.js';
import { InstrumentedObjectStore } from '../../../broker/src/s3stream/object-store/instrumented.js';
import { openStreamClientOn } from '../../../broker/src/s3stream/stream-client.js';
import { silentLog, startServer, type RunningServer } from '../rpc/fixtures.js';

export { silentLog };

const MiB = 1024 * 1024;

export interface Controller {
  readonly owner: MetadataOwner;
  readonly server: RunningServer;
  readonly address: ControllerAddress;
  /** What the RPC handlers serve: the owner until stepDown(). */
  served: ServedMetadataOwner | undefined;
  stop(): Promise<void>;
}

/**
 * Opens a metadata owner on `store` (taking the log over, as an elected controller does) and serves
 * it on a free port. `commitDelayMs` is how long lazily sent WAL commits wait at the owner.
 */
export async function startController(
  store: ObjectStore,
  nodeId: number,
  opts: { commitDelayMs?: number; maxFetchWaitMs?: number; wrap?: (owner: MetadataOwner) => ServedMetadataOwner } = {},
): Promise<Controller> {
  const owner = await MetadataOwner.open({
    store: new InstrumentedObjectStore(store),
    node: nodeId,
    now: () => Date.now(),
    snapshotEvery: 1000,
    commitDelayMs: opts.commitDelayMs ?? 20,
    commitMaxRecords: 64,
    compactionIntervalMs: 0,
    objectDeleteGraceMs: 0,
    objectBlockBytes: 512 * 1024,
    planner: { targetObjectBytes: 16 * MiB, smallObjectBytes: 8 * MiB, maxWalBytesPerRound: 256 * MiB },
  });
  const router = new RpcRouter(silentLog);
  const ctl: { served: ServedMetadataOwner | undefined } = { served: opts.wrap?.(owner) ?? owner };
  serveMetadataChannel(router, () => ctl.served, opts.maxFetchWaitMs !== undefined ? { maxFetchWaitMs: opts.maxFetchWaitMs } : {});
  let server: RunningServer;
  try {
    server = await startServer(router);
  } catch (err) {
    await owner.close();
    throw err;
  }
  const controller: Controller = {
    owner,
    server,
    address: { nodeId, host: '127.0.0.1', port: server.port, epoch: owner.epoch },
    get served() {
      return ctl.served;
    },
    set served(v) {
      ctl.served = v;
    },
    async stop() {
      await server.stop();
      // A deposed owner cannot write what it still had queued: expected, not a test failure.
      await owner.close().catch((err: unknown) => {
        if (!(err instanceof MetadataFencedError)) throw err;
      });
    },
  };
  return controller;
}

/** A port nothing listens on (bound, then released). */
export async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export function remoteChannel(
  locator: SettableControllerLocator,
  clientId: string,
  over: Partial<RemoteMetadataChannelOptions> = {},
): RemoteMetadataChannel {
  return new RemoteMetadataChannel({
    locator,
    clientId,
    log: silentLog,
    connectTimeoutMs: 1000,
    callTimeoutMs: 5000,
    failoverTimeoutMs: 5000,
    ...over,
  });
}

export interface Node {
  readonly id: number;
  readonly client: StreamClient;
  readonly channel: RemoteMetadataChannel;
  readonly locator: SettableControllerLocator;
}

/** Opens node `id`'s stream client over its own channel and locator. close() also closes the channel. */
export async function openNode(
  store: ObjectStore,
  id: number,
  controller: ControllerAddress,
  over: Partial<RemoteMetadataChannelOptions> = {},
): Promise<Node> {
  const locator = new SettableControllerLocator(controller);
  const channel = remoteChannel(locator, `node-${id}`, over);
  try {
    const client = await openStreamClientOn(
      channel,
      { store, nodeId: id, walFlushIntervalMs: 5, compactionIntervalMs: 0, objectDeleteGraceMs: 0 },
      { sweepOrphans: false },
      { afterClose: () => channel.close() },
    );
    return { id, client, channel, locator };
  } catch (err) {
    await channel.close();
    throw err;
  }
}

/** A recognizable payload: record n of a test. */
export function record(n: number): Buffer {
  return Buffer.from(`record-${n}-${'x'.repeat(n % 17)}`);
}

/** Every batch of a stream from offset 0, as [baseOffset, payload text]. */
export async function readAll(stream: { fetch(s: number, e: number, m: number): Promise<{ baseOffset: number; payload: Buffer }[]>; confirmOffset(): number }): Promise<[number, string][]> {
  const out: [number, string][] = [];
  let pos = 0;
  while (pos < stream.confirmOffset()) {
    const batches = await stream.fetch(pos, Number.MAX_SAFE_INTEGER, 1 << 20);
    if (batches.length === 0) break;
    for (const b of batches) {
      out.push([b.baseOffset, b.payload.toString()]);
      pos = b.baseOffset + 1;
    }
  }
  return out;
}

/** Resolves to the error a promise rejects with; fails if it resolves. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    const v = await p;
    throw new Error(`expected a rejection, got ${JSON.stringify(v)}`);
  } catch (err) {
    return err as Error;
  }
}
