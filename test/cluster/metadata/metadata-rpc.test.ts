/**
 * S3Stream nodes over the metadata channel carried by internal RPC: a real RPC server hosting a
 * MetadataOwner on a MemoryObjectStore, and nodes opened with openStreamClientOn over a
 * RemoteMetadataChannel, all in this process. Handoff of a stream between nodes, a crashed node
 * fenced by tombstone, a controller change (new owner on the same store), fencing across the wire.
 */
import { expect } from 'chai';
import { MetadataFencedError } from '../../../broker/src/s3stream/api.js';
import { MemoryObjectStore } from '../../../broker/src/s3stream/object-store/memory.js';
import { MetadataUnavailableError } from '../../../broker/src/cluster/metadata/remote-channel.js';
import { RpcRemoteError } from '../../../broker/src/cluster/rpc/errors.js';
import { ErrorCode } from '../../../broker/src/protocol/errors.js';
import { waitFor, withTimeout } from '../../helpers/wait.js';
import {
  deadPort,
  openNode,
  readAll,
  record,
  rejection,
  remoteChannel,
  startController,
  type Controller,
  type Node,
} from './fixtures.js';
import { SettableControllerLocator } from '../../../broker/src/cluster/metadata/locator.js';

describe('S3Stream metadata channel over internal RPC (nodes and controller in one process)', function () {
  this.timeout(30_000);
  let store: MemoryObjectStore;
  const controllers: Controller[] = [];
  const nodes: Node[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  beforeEach(() => {
    store = new MemoryObjectStore();
  });
  afterEach(async () => {
    for (const n of nodes.splice(0)) await withTimeout(n.client.close(), 15_000, `closing node ${n.id}`);
    for (const c of cleanups.splice(0)) await c();
    for (const c of controllers.splice(0)) await c.stop();
  });

  async function controller(nodeId: number, opts: Parameters<typeof startController>[2] = {}): Promise<Controller> {
    const c = await startController(store, nodeId, opts);
    controllers.push(c);
    return c;
  }
  async function node(id: number, ctl: Controller, over: Parameters<typeof openNode>[3] = {}): Promise<Node> {
    const n = await openNode(store, id, ctl.address, over);
    nodes.push(n);
    return n;
  }

  it('hands a stream from node 1 to node 2: node 2 reads everything node 1 acked, then appends after it', async () => {
    const ctl = await controller(0);
    const n1 = await node(1, ctl);
    const n2 = await node(2, ctl);

    const s1 = await n1.client.createStream();
    const acked = await Promise.all(Array.from({ length: 50 }, (_, i) => s1.append(record(i), 1)).map(async (r) => (await r.durable, r.baseOffset)));
    expect(acked).to.deep.equal(Array.from({ length: 50 }, (_, i) => i));
    await n1.client.commit();
    await s1.close();

    const s2 = await n2.client.openStream(s1.id);
    expect(s2.epoch).to.be.greaterThan(s1.epoch);
    expect(s2.nextOffset(), 'node 2 continues where node 1 stopped').to.equal(50);
    expect(await readAll(s2)).to.deep.equal(Array.from({ length: 50 }, (_, i) => [i, record(i).toString()]));

    for (let i = 50; i < 60; i++) s2.append(record(i), 1);
    await n2.client.flush();
    expect(s2.confirmOffset()).to.equal(60);
    expect(await readAll(s2)).to.deep.equal(Array.from({ length: 60 }, (_, i) => [i, record(i).toString()]));
    // Node 1's handle was fenced by node 2's open (its replica learns it through the long poll).
    await waitFor(() => n1.client.listStreams().find((s) => s.id === s1.id)?.epoch === s2.epoch, 5000, 'node 1 to see the new stream epoch');
  });

  it('replicates KV changes through the long poll (woken at once, not at the poll timeout)', async () => {
    const ctl = await controller(0);
    const n1 = await node(1, ctl);
    const n2 = await node(2, ctl);
    const seen: (readonly string[] | undefined)[] = [];
    n2.client.kv.onChange((keys) => seen.push(keys));
    const t0 = Date.now();
    await n1.client.kv.put('topic/a', Buffer.from('one'));
    // The replica's long poll waits up to 10 s: seeing the change well before proves the wake-up.
    await waitFor(() => n2.client.kv.get('topic/a')?.toString() === 'one', 3000, 'node 2 to see the KV put of node 1');
    expect(Date.now() - t0).to.be.below(3000);
    expect(seen.some((k) => k?.includes('topic/a') === true)).to.equal(true);
  });

  it('a crashed node with acked, uncommitted data: fenceNode recovers it by tombstone, node 2 reads it all, node 1 can no longer ack', async () => {
    const ctl = await controller(0, { commitDelayMs: 60_000 });
    const n1 = await node(1, ctl, { failoverTimeoutMs: 300 });
    const n2 = await node(2, ctl);

    const s1 = await n1.client.createStream();
    // One ack while connected, so node 1 holds its block of object ids.
    await s1.append(record(0), 1).durable;
    // Node 1 loses the controller (a partition, then a crash): its WAL commits never reach the owner.
    n1.locator.set({ ...ctl.address, port: await deadPort() });
    await waitFor(() => n1.locator.reports.length > 0, 5000, 'node 1 to notice the controller is unreachable');
    const more = Array.from({ length: 30 }, (_, i) => s1.append(record(i + 1), 1));
    await Promise.all(more.map((r) => r.durable));
    expect(s1.confirmOffset()).to.equal(31);
    const ownerView = ctl.owner.state.streams.get(s1.id);
    expect(ownerView?.nextOffset ?? 0, 'the owner has not seen the acked data yet').to.be.below(31);

    await ctl.owner.fenceNode(1);
    expect(ctl.owner.liveNodes()).to.not.include(1);

    const s2 = await n2.client.openStream(s1.id);
    expect(s2.nextOffset()).to.equal(31);
    expect(await readAll(s2)).to.deep.equal(Array.from({ length: 31 }, (_, i) => [i, record(i).toString()]));

    // Node 1 "comes back": its next WAL object hits the tombstone, so it cannot be acked.
    const late = s1.append(record(99), 1);
    const lateErr = await withTimeout(rejection(late.durable), 5000, 'node 1\'s late append to fail');
    expect(lateErr).to.be.instanceOf(MetadataFencedError);
    // Its lazily sent WAL commits reach the owner again and are refused as a fenced writer's.
    n1.locator.set(ctl.address);
    const fenced = await withTimeout(rejection(n1.client.kv.put('k', Buffer.from('v'))), 5000, 'node 1\'s metadata write to fail');
    expect(fenced).to.be.instanceOf(MetadataFencedError);
    // Nothing of node 1 after the fence became visible.
    expect(await readAll(s2)).to.have.length(31);
  });

  it('controller change: a new owner fences the old one, nodes follow the locator, re-send their lazy WAL commits and reload', async () => {
    const a = await controller(0, { commitDelayMs: 60_000 });
    const n1 = await node(1, a, { failoverTimeoutMs: 2000 });
    const n2 = await node(2, a, { failoverTimeoutMs: 2000 });
    const reloads: number[] = [];
    n2.client.kv.onChange((keys) => {
      if (keys === undefined) reloads.push(Date.now());
    });

    const s1 = await n1.client.createStream();
    for (let i = 0; i < 20; i++) s1.append(record(i), 1);
    await n1.client.flush();
    expect(s1.confirmOffset()).to.equal(20);
    // The commits were sent lazily: owner A holds them (60 s commit delay), nothing is durable yet.
    await waitFor(() => a.owner.state.streams.get(s1.id)?.nextOffset === 20, 5000, 'owner A to receive the lazy WAL commits');

    // Both nodes lose controller A. A short-lived controller X takes the log over (fencing A, whose
    // pending lazy commits die with it), writes a batch the nodes never fetch, and stops.
    const dead = { ...a.address, port: await deadPort() };
    n1.locator.set(dead);
    n2.locator.set(dead);
    await waitFor(() => n1.locator.reports.length > 0 && n2.locator.reports.length > 0, 5000, 'both nodes to lose controller A');
    const x = await startController(store, 8);
    try {
      await x.owner.appendOwn([{ t: 'kv', put: [['written-by-x', 'eA==']], del: [] }]);
    } finally {
      await x.stop();
    }
    // Then B is elected: its buffer starts after X's batch, which the nodes' replicas lack.
    const b = await controller(9, { commitDelayMs: 60_000 });
    expect(b.owner.epoch).to.be.greaterThan(a.owner.epoch);
    expect(b.owner.state.streams.get(s1.id)?.nextOffset ?? 0, 'B never got the lazy commits').to.equal(0);
    n1.locator.set(b.address);
    n2.locator.set(b.address);

    // Nodes keep working against B.
    await n2.client.kv.put('after-change', Buffer.from('b'));
    await waitFor(() => n1.client.kv.get('after-change')?.toString() === 'b', 5000, 'node 1 to see node 2\'s KV put through B');
    // The replicas were behind B's first batch: they reloaded (snapshot from B) and so see X's write.
    await waitFor(() => n2.client.kv.get('written-by-x') !== undefined, 5000, 'node 2 to reload from B');
    expect(reloads.length, 'node 2 reloaded its state').to.be.greaterThan(0);
    // Node 1 re-sent its lazily sent WAL commits to B.
    await waitFor(() => b.owner.state.streams.get(s1.id)?.nextOffset === 20, 5000, 'node 1 to re-send its WAL commits to B');
    for (let i = 20; i < 30; i++) s1.append(record(i), 1);
    await n1.client.commit();
    await s1.close();
    const s2 = await n2.client.openStream(s1.id);
    expect(await readAll(s2)).to.deep.equal(Array.from({ length: 30 }, (_, i) => [i, record(i).toString()]));

    // The deposed owner finds out at its next write.
    const late = await rejection(a.owner.appendOwn([{ t: 'kv', put: [['late', 'eA==']], del: [] }]));
    expect(late).to.be.instanceOf(MetadataFencedError);
    // Asked over RPC it now answers NOT_CONTROLLER (nodes look elsewhere), never "you are fenced".
    const pinned = new SettableControllerLocator(a.address);
    const ch = remoteChannel(pinned, 'probe', { failoverTimeoutMs: 300 });
    cleanups.push(() => ch.close());
    const err = await rejection(ch.snapshot());
    expect(err).to.be.instanceOf(MetadataUnavailableError);
    expect(err.message).to.include(`127.0.0.1:${a.address.port}`).and.include('NOT_CONTROLLER');
    expect(pinned.reports.every((r) => r.error instanceof RpcRemoteError && r.error.code === ErrorCode.NOT_CONTROLLER)).to.equal(true);
    expect(b.owner.state.kv.has('late')).to.equal(false);
  });

  it('controller change with lazy WAL commits lost: a newer commit reaching the new owner first is refused until the missing ones are re-sent, so no range goes missing', async () => {
    const a = await controller(0, { commitDelayMs: 60_000 });
    const n1 = await node(1, a, { failoverTimeoutMs: 5000 });
    const n2 = await node(2, a, { failoverTimeoutMs: 5000 });
    const s1 = await n1.client.createStream();
    for (let i = 0; i < 20; i++) s1.append(record(i), 1);
    await n1.client.flush();
    await waitFor(() => a.owner.state.streams.get(s1.id)?.nextOffset === 20, 5000, 'owner A to receive the lazy WAL commits');
    const aEpoch = a.owner.epoch;
    // A dies with those commits unwritten. B answers nothing but appends until node 1's first new
    // WAL commit has reached it: node 1 re-sends its lazy commits only once it hears from B, so
    // the commit of its next flush arrives first (what happens when a controller is killed).
    const dead = { ...a.address, port: await deadPort() };
    n1.locator.set(dead);
    n2.locator.set(dead);
    let firstCommit!: () => void;
    const committed = new Promise<void>((resolve) => (firstCommit = resolve));
    const refusals: string[] = [];
    const b = await controller(9, {
      commitDelayMs: 60_000,
      wrap: (owner) => ({
        registerNode: (n) => owner.registerNode(n),
        append: async (n, e, r, l) => {
          try {
            return await owner.append(n, e, r, l);
          } catch (err) {
            refusals.push(String(err));
            throw err;
          } finally {
            if (r.some((x) => x.t === 'commitWal')) firstCommit();
          }
        },
        allocateIds: async (n, e, k, c) => (await committed, owner.allocateIds(n, e, k, c)),
        snapshot: async () => (await committed, owner.snapshot()),
        retireNode: (n, e, q) => owner.retireNode(n, e, q),
        flush: async () => (await committed, owner.flush()),
        compactNow: () => owner.compactNow(),
        fetch: async (after, wait, signal) => (await committed, owner.fetch(after, wait, signal)),
        get epoch() {
          return owner.epoch;
        },
        isFenced: () => owner.isFenced(),
      }),
    });
    expect(b.owner.epoch).to.be.greaterThan(aEpoch);
    n1.locator.set(b.address);
    n2.locator.set(b.address);
    for (let i = 20; i < 30; i++) s1.append(record(i), 1);
    await n1.client.flush();
    await waitFor(() => b.owner.state.streams.get(s1.id)?.nextOffset === 30, 10_000, 'B to hold all 30 offsets of the stream');
    expect(refusals.join('\n'), 'the commit that overtook the re-sent ones was refused').to.match(/WalCommitGapError.*arrived before seq/);
    expect(b.owner.state.streams.get(s1.id)!.ranges[0]!.start, 'the first range at B starts at offset 0').to.equal(0);
    await n1.client.commit();
    await s1.close();
    const s2 = await n2.client.openStream(s1.id);
    expect(await readAll(s2)).to.deep.equal(Array.from({ length: 30 }, (_, i) => [i, record(i).toString()]));
  });
});
