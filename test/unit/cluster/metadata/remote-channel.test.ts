/**
 * RemoteMetadataChannel against real RPC servers on 127.0.0.1: error mapping (fencing errors keep
 * their classes), NOT_CONTROLLER and unreachable controllers (bounded retries, clear messages),
 * which calls are repeated when the outcome is unknown, the long poll (maxWaitMs, connection
 * close, caller abort, locator moves) and owner-change notifications.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { expect } from 'chai';
import { MetadataFencedError, StreamFencedError } from '../../../../broker/src/s3stream/api.js';
import type { FetchResult } from '../../../../broker/src/s3stream/metadata/channel.js';
import { MemoryObjectStore } from '../../../../broker/src/s3stream/object-store/memory.js';
import { MetadataRemoteError, MetadataUnavailableError } from '../../../../broker/src/cluster/metadata/remote-channel.js';
import { SettableControllerLocator, type ControllerAddress } from '../../../../broker/src/cluster/metadata/locator.js';
import { serveMetadataChannel, type ServedMetadataOwner } from '../../../../broker/src/cluster/metadata/server.js';
import { RpcRouter } from '../../../../broker/src/cluster/rpc/router.js';
import { RpcRemoteError, RpcUnavailableError } from '../../../../broker/src/cluster/rpc/errors.js';
import { ErrorCode } from '../../../../broker/src/protocol/errors.js';
import { waitFor, withTimeout } from '../../../helpers/wait.js';
import { deadPort, rejection, remoteChannel, startController, type Controller } from '../../../cluster/metadata/fixtures.js';
import { silentLog, startServer, type RunningServer } from '../../../cluster/rpc/fixtures.js';
import type { RemoteMetadataChannel } from '../../../../broker/src/cluster/metadata/remote-channel.js';

/** Delegates to the owner and records when fetches are held and how they end. */
function spyOwner(owner: Controller['owner'], events: string[]): ServedMetadataOwner {
  return {
    registerNode: (n) => owner.registerNode(n),
    append: (n, e, r, l) => owner.append(n, e, r, l),
    allocateIds: (n, e, k, c) => owner.allocateIds(n, e, k, c),
    snapshot: () => owner.snapshot(),
    retireNode: (n, e, s) => owner.retireNode(n, e, s),
    flush: () => owner.flush(),
    compactNow: () => owner.compactNow(),
    get epoch() {
      return owner.epoch;
    },
    isFenced: () => owner.isFenced(),
    fetch: async (after, wait, signal) => {
      events.push('fetch held');
      const r = await owner.fetch(after, wait, signal);
      events.push(signal?.aborted === true ? 'fetch aborted' : 'fetch answered');
      return r;
    },
  };
}

describe('RemoteMetadataChannel', function () {
  this.timeout(20_000);
  let store: MemoryObjectStore;
  const stops: (() => Promise<void>)[] = [];
  const channels: RemoteMetadataChannel[] = [];

  beforeEach(() => {
    store = new MemoryObjectStore();
  });
  afterEach(async () => {
    for (const c of channels.splice(0)) await c.close();
    for (const s of stops.splice(0).reverse()) await s();
  });

  async function controller(nodeId = 0, opts: Parameters<typeof startController>[2] = {}): Promise<Controller> {
    const c = await startController(store, nodeId, opts);
    stops.push(() => c.stop());
    return c;
  }
  function channel(locator: SettableControllerLocator, over: Parameters<typeof remoteChannel>[2] = {}): RemoteMetadataChannel {
    const c = remoteChannel(locator, 'test-node', over);
    channels.push(c);
    return c;
  }
  /** An RPC server on which no node runs a metadata owner. */
  async function ownerless(nodeId: number): Promise<ControllerAddress> {
    const router = new RpcRouter(silentLog);
    serveMetadataChannel(router, () => undefined);
    const srv: RunningServer = await startServer(router);
    stops.push(() => srv.stop());
    return { nodeId, host: '127.0.0.1', port: srv.port, epoch: 1 };
  }
  /** A TCP server that reads a request and drops the connection without answering. */
  async function dropper(): Promise<{ address: ControllerAddress; requests: () => number }> {
    let requests = 0;
    const sockets = new Set<Socket>();
    const srv: Server = createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('data', () => {
        requests++;
        s.destroy();
      });
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()));
    stops.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    });
    return { address: { nodeId: 5, host: '127.0.0.1', port: (srv.address() as { port: number }).port, epoch: 1 }, requests: () => requests };
  }

  describe('errors keep their meaning across the wire', () => {
    it('a stale writer epoch is MetadataFencedError, an older stream epoch StreamFencedError, other refusals MetadataRemoteError', async () => {
      const ctl = await controller();
      const ch = channel(new SettableControllerLocator(ctl.address));
      const reg = await ch.registerNode(3);
      expect(reg.node).to.equal(3);
      const first = await ch.allocateIds(3, reg.writerEpoch, 'stream', 2);
      expect(first.count).to.equal(2);
      await ch.append(3, reg.writerEpoch, [{ t: 'createStream', id: first.start }], false);

      const stale = await rejection(ch.append(3, reg.writerEpoch - 1, [{ t: 'kv', put: [['a', 'Yg==']], del: [] }], false));
      expect(stale).to.be.instanceOf(MetadataFencedError);
      expect(stale.message).to.include(`epoch ${reg.writerEpoch - 1}`);
      // A new registration of the same node fences the earlier writer.
      const again = await ch.registerNode(3);
      expect(again.writerEpoch).to.be.greaterThan(reg.writerEpoch);
      expect(await rejection(ch.allocateIds(3, reg.writerEpoch, 'object', 1))).to.be.instanceOf(MetadataFencedError);

      const streamFenced = await rejection(ch.append(3, again.writerEpoch, [{ t: 'openStream', id: first.start, epoch: 0 }], false));
      expect(streamFenced).to.be.instanceOf(StreamFencedError);

      const refused = await rejection(ch.append(3, again.writerEpoch, [{ t: 'deleted', ids: [1] }], false));
      expect(refused).to.be.instanceOf(MetadataRemoteError);
      expect(refused.message).to.include("'deleted' is written by the metadata owner only").and.include(`127.0.0.1:${ctl.address.port}`);
      // The owner is unharmed: good writes still go through.
      const seq = await ch.append(3, again.writerEpoch, [{ t: 'kv', put: [['ok', 'eQ==']], del: [] }], false);
      expect(seq).to.equal(ctl.owner.seq);
      expect(ctl.owner.state.kv.get('ok')?.toString()).to.equal('y');
    });
  });

  describe('finding the controller', () => {
    it('NOT_CONTROLLER from a node without an owner: reported, retried, then a clear error naming the node', async () => {
      const addr = await ownerless(4);
      const locator = new SettableControllerLocator(addr);
      const ch = channel(locator, { failoverTimeoutMs: 400 });
      const err = await rejection(ch.snapshot());
      expect(err).to.be.instanceOf(MetadataUnavailableError);
      expect((err as MetadataUnavailableError).outcomeUnknown).to.equal(false);
      expect(err.message).to.include('controller node 4 at 127.0.0.1:').and.include('NOT_CONTROLLER').and.include('within 400 ms');
      expect(locator.reports.length, 'retried before giving up').to.be.greaterThan(1);
      for (const r of locator.reports) expect((r.error as RpcRemoteError).code).to.equal(ErrorCode.NOT_CONTROLLER);
    });

    it('a non-idempotent call answered NOT_CONTROLLER follows the locator to the controller and runs exactly once', async () => {
      const wrong = await ownerless(4);
      const ctl = await controller();
      const locator = new SettableControllerLocator(wrong);
      const ch = channel(locator, { failoverTimeoutMs: 10_000 });
      const t0 = Date.now();
      const pending = ch.registerNode(7);
      await waitFor(() => locator.reports.length > 0, 5000, 'the first NOT_CONTROLLER report');
      locator.set(ctl.address);
      const reg = await withTimeout(pending, 5000, 'registerNode after the locator moved');
      expect(Date.now() - t0, 'moved at once, not at the failover timeout').to.be.below(5000);
      expect(ctl.owner.state.nodes.get(7)?.writerEpoch).to.equal(reg.writerEpoch);
      expect(ctl.owner.state.nodes.size).to.equal(1);
    });

    it('an unreachable controller: bounded retries, then an error naming its address', async () => {
      const port = await deadPort();
      const locator = new SettableControllerLocator({ nodeId: 2, host: '127.0.0.1', port, epoch: 3 });
      const ch = channel(locator, { failoverTimeoutMs: 500 });
      const t0 = Date.now();
      const err = await rejection(ch.flush());
      const took = Date.now() - t0;
      expect(err).to.be.instanceOf(MetadataUnavailableError);
      expect(err.message).to.include(`controller node 2 at 127.0.0.1:${port} (epoch 3)`).and.include('cannot connect');
      expect(took).to.be.at.least(450).and.below(4000);
      expect(locator.reports.length).to.be.greaterThan(1);
      expect(locator.reports[0]!.error).to.be.instanceOf(RpcUnavailableError);
    });

    it('no controller known: waits for one (bounded), and proceeds as soon as the locator names it', async () => {
      const locator = new SettableControllerLocator(undefined);
      const ch = channel(locator, { failoverTimeoutMs: 300 });
      const err = await rejection(ch.snapshot());
      expect(err.message).to.include('no controller was known');

      const ctl = await controller();
      const ch2 = channel(locator, { failoverTimeoutMs: 10_000 });
      const pending = ch2.snapshot();
      locator.set(ctl.address);
      const snap = await withTimeout(pending, 3000, 'snapshot once a controller is known');
      expect(snap.seq).to.equal(ctl.owner.seq);
    });

    it('a request that may have run is not repeated unless idempotent', async () => {
      const d = await dropper();
      const ch = channel(new SettableControllerLocator(d.address), { failoverTimeoutMs: 400 });
      const once = await rejection(ch.allocateIds(1, 1, 'object', 10));
      expect(once).to.be.instanceOf(MetadataUnavailableError);
      expect((once as MetadataUnavailableError).outcomeUnknown).to.equal(true);
      expect(once.message).to.include('may have been executed');
      expect(d.requests(), 'allocateIds sent once').to.equal(1);

      const lazyBefore = d.requests();
      const lazy = await rejection(ch.append(1, 1, [{ t: 'kv', put: [], del: ['x'] }], true));
      expect((lazy as MetadataUnavailableError).outcomeUnknown).to.equal(false);
      expect(d.requests() - lazyBefore, 'a lazy append is repeated').to.be.greaterThan(1);

      const urgentBefore = d.requests();
      const urgent = await rejection(ch.append(1, 1, [{ t: 'kv', put: [], del: ['x'] }], false));
      expect((urgent as MetadataUnavailableError).outcomeUnknown).to.equal(true);
      expect(d.requests() - urgentBefore, 'a non-lazy append is not').to.equal(1);
    });
  });

  describe('long-poll fetch', () => {
    it('honours maxWaitMs (and the server cap), and wakes at once on a new batch', async () => {
      const ctl = await controller(0, { maxFetchWaitMs: 300 });
      const ch = channel(new SettableControllerLocator(ctl.address));
      let t0 = Date.now();
      const empty = await ch.fetch(ctl.owner.seq, 150);
      expect(empty).to.deep.equal({ batches: [] });
      expect(Date.now() - t0).to.be.at.least(140).and.below(2000);
      t0 = Date.now();
      await ch.fetch(ctl.owner.seq, 60_000);
      expect(Date.now() - t0, 'capped by the server').to.be.at.least(290).and.below(3000);

      const at = ctl.owner.seq;
      const waiting = ch.fetch(at, 10_000);
      t0 = Date.now();
      await ctl.owner.appendOwn([{ t: 'kv', put: [['w', 'eA==']], del: [] }]);
      const got = (await waiting) as Extract<FetchResult, { batches: unknown }>;
      expect(Date.now() - t0).to.be.below(2000);
      expect(got.batches.map((b) => b.seq)).to.deep.equal([at + 1]);
      expect(got.batches[0]!.records).to.deep.equal([{ t: 'kv', put: [['w', 'eA==']], del: [] }]);
      expect(await ch.fetch(0, 0), 'from the start of a fresh log').to.have.property('batches').with.length(2);
      expect(await ch.fetch(at + 5, 0), 'a seq the owner never wrote needs a snapshot').to.deep.equal({ reload: true });
    });

    it('an owner closed but still served answers NOT_CONTROLLER, not an endless stream of empty polls', async () => {
      const ctl = await controller();
      const locator = new SettableControllerLocator(ctl.address);
      const ch = channel(locator, { failoverTimeoutMs: 400 });
      await ctl.owner.close();
      const err = await rejection(ch.fetch(ctl.owner.seq, 5000));
      expect(err).to.be.instanceOf(MetadataUnavailableError);
      expect(err.message).to.include('NOT_CONTROLLER').and.include('stopped');
      // Reported and retried with pauses, not in a tight loop.
      expect(locator.reports.length).to.be.within(2, 20);
    });

    it('a held poll ends on the server when the caller aborts or its connection closes', async () => {
      const events: string[] = [];
      const ctl = await controller(0, { wrap: (o) => spyOwner(o, events) });
      const ch = channel(new SettableControllerLocator(ctl.address));
      const abort = new AbortController();
      const held = ch.fetch(ctl.owner.seq, 10_000, abort.signal);
      await waitFor(() => events.includes('fetch held'), 3000, 'the fetch to be held at the owner');
      abort.abort();
      expect((await withTimeout(rejection(held), 1000, 'the aborted fetch')).name).to.equal('RpcAbortedError');
      expect(events).to.not.include('fetch aborted');
      // The abort is the caller's; the server learns when the connection goes.
      await ch.close();
      await waitFor(() => events.includes('fetch aborted'), 3000, 'the server to release the held poll when the connection closed');
    });

    it('abandons a poll held at a controller the locator moved away from, and continues at the new one', async () => {
      const events: string[] = [];
      const a = await controller(0, { wrap: (o) => spyOwner(o, events) });
      const b = await controller(1);
      const locator = new SettableControllerLocator(a.address);
      const ch = channel(locator);
      const t0 = Date.now();
      const held = ch.fetch(a.owner.seq, 10_000);
      await waitFor(() => events.includes('fetch held'), 3000, 'the fetch to be held at A');
      locator.set(b.address);
      const r = await withTimeout(held, 3000, 'the fetch to move to controller B');
      expect(Date.now() - t0).to.be.below(3000);
      // B's open record is the batch right after A's last seq.
      expect('batches' in r && r.batches.map((x) => x.seq)).to.deep.equal([b.owner.epoch]);
    });
  });

  describe('owner changes', () => {
    it('listeners run once when an answer comes from a newer owner, not for the first owner', async () => {
      const a = await controller(0);
      const locator = new SettableControllerLocator(a.address);
      const ch = channel(locator, { failoverTimeoutMs: 500 });
      let calls = 0;
      const off = ch.onOwnerChange(() => calls++);
      await ch.snapshot();
      await ch.flush();
      expect(calls).to.equal(0);
      const b = await controller(1);
      locator.set(b.address);
      await ch.snapshot();
      await ch.flush();
      await waitFor(() => calls === 1, 1000, 'the owner-change listener');
      // An answer from the deposed owner (it does not know yet) is not a change, and is not used.
      locator.set(a.address);
      const stale = await rejection(ch.snapshot());
      expect(stale).to.be.instanceOf(MetadataUnavailableError);
      expect(stale.message).to.include('deposed');
      expect(calls).to.equal(1);
      off();
      locator.set(b.address);
      await ch.flush();
    });
  });
});
