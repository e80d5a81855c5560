/**
 * Partition ownership with a fake ClusterView: which partitions get opened and at which epoch,
 * flaps while opens are in flight, release waiting for accepted appends, the controller's
 * release() holding until the view moves on, and topic deletion.
 */
import { expect } from 'chai';
import type { ClusterView, PartitionLeadership } from '../../../broker/src/kafka/cluster/cluster-view.js';
import { GROUP_SHARDS_TOPIC, standaloneClusterView } from '../../../broker/src/kafka/cluster/cluster-view.js';
import type { NodeInfo } from '../../../broker/src/kafka/context.js';
import { LeadershipReconciler } from '../../../broker/src/kafka/log/leadership-reconciler.js';
import { LogManager } from '../../../broker/src/kafka/log/log-manager.js';
import { TopicRegistry, type TopicRecord } from '../../../broker/src/kafka/topics/topic-registry.js';
import { ErrorCode } from '../../../broker/src/protocol/errors.js';
import type { Stream } from '../../../broker/src/s3stream/api.js';
import { FakeStreamClient } from '../../helpers/fake-stream-client.js';
import { buildBatch } from '../../helpers/record-batch-builder.js';

const ME = 1;
const OTHER = 2;
const node = (nodeId: number): NodeInfo => ({ nodeId, host: '127.0.0.1', port: 9000 + nodeId, rack: null });

/** A ClusterView whose leadership the test sets; `publish()` notifies like one applied update. */
class FakeView implements ClusterView {
  readonly leaders = new Map<string, PartitionLeadership>();
  private readonly listeners = new Set<() => void>();
  controller = ME;
  localNodeId() {
    return ME;
  }
  controllerId() {
    return this.controller;
  }
  brokers() {
    return [node(ME), node(OTHER)];
  }
  broker(id: number) {
    return this.brokers().find((b) => b.nodeId === id);
  }
  leadership(topic: string, partition: number) {
    return this.leaders.get(`${topic}-${partition}`);
  }
  onChange(listener: () => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  set(topic: string, partition: number, leader: number, leaderEpoch: number) {
    this.leaders.set(`${topic}-${partition}`, { leader, leaderEpoch });
  }
  publish() {
    for (const l of [...this.listeners]) l();
  }
}

interface Gate {
  release(): void;
}

async function setup(partitions = 2) {
  const client = new FakeStreamClient(0);
  const registry = new TopicRegistry(client.kv);
  const streams = [];
  for (let p = 0; p < partitions; p++) streams.push({ streamId: (await client.createStream()).id, leaderEpoch: 0 });
  const topic: TopicRecord = { name: 't', id: 'ab'.repeat(16), partitions: streams, configs: {}, createdAtMs: 0 };
  await registry.put(topic);
  const view = new FakeView();
  const logs = new LogManager(client, client.kv);
  const reconciler = new LeadershipReconciler(view, registry, logs);

  // Opens of streams can be held to make operations overlap deterministically.
  const opened: { streamId: number; stream: Stream }[] = [];
  const held: Gate[] = [];
  let holdOpens = false;
  const realOpen = client.openStream.bind(client);
  client.openStream = async (id: number) => {
    if (holdOpens) await new Promise<void>((resolve) => held.push({ release: resolve }));
    const stream = await realOpen(id);
    opened.push({ streamId: id, stream });
    return stream;
  };
  const releaseHeld = () => {
    for (const g of held.splice(0)) g.release();
  };
  return {
    client,
    registry,
    topic,
    view,
    logs,
    reconciler,
    opened,
    held,
    hold: (on: boolean) => (holdOpens = on),
    releaseHeld,
  };
}

const appendOpts = { maxMessageBytes: 1 << 20, logAppendTime: false, now: 1 };
const batch = (v: string, seq = -1) => buildBatch([{ value: Buffer.from(v) }], seq >= 0 ? { producerId: 5n, producerEpoch: 0, baseSequence: seq } : {});

/** Lets every queued promise callback and I/O callback run once: a turn of the event loop, not a wait for time. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('LeadershipReconciler', () => {
  it('opens only the partitions this broker leads, at the view leader epoch, and never group shards', async () => {
    const env = await setup(3);
    env.view.set('t', 0, ME, 4);
    env.view.set('t', 1, OTHER, 2);
    // t-2 has no leadership at all
    env.view.set(GROUP_SHARDS_TOPIC, 0, ME, 0);
    await env.reconciler.start();
    expect(env.logs.get('t', 0)?.leaderEpoch).to.equal(4);
    expect(env.logs.get('t', 1)).to.equal(undefined);
    expect(env.logs.get('t', 2)).to.equal(undefined);
    expect(env.logs.all().map((l) => `${l.topic}-${l.partition}`)).to.deep.equal(['t-0']);
    // the log stamps the view's epoch into appended batches
    const b = batch('x');
    expect(env.logs.get('t', 0)!.append([b], appendOpts).errorCode).to.equal(0);
    expect(b.readInt32BE(12), 'partitionLeaderEpoch of the stored batch').to.equal(4);
    await env.client.flush();
    await env.reconciler.stop();
  });

  it('follows changes: gains, loses, and reopens at a new epoch', async () => {
    const env = await setup(2);
    env.view.set('t', 0, ME, 0);
    env.view.set('t', 1, OTHER, 0);
    await env.reconciler.start();
    env.view.set('t', 0, OTHER, 1);
    env.view.set('t', 1, ME, 1);
    env.view.publish();
    await env.reconciler.settled();
    expect(env.logs.get('t', 0)).to.equal(undefined);
    expect(env.logs.get('t', 1)?.leaderEpoch).to.equal(1);
    env.view.set('t', 1, ME, 3);
    env.view.publish();
    await env.reconciler.settled();
    expect(env.logs.get('t', 1)?.leaderEpoch).to.equal(3);
    await env.reconciler.stop();
    expect(env.logs.all()).to.have.length(0);
  });

  it('a lead-release-lead flap while the first open is in flight ends open once, at the last epoch', async () => {
    const env = await setup(1);
    await env.reconciler.start();
    env.hold(true);
    env.view.set('t', 0, ME, 1);
    env.view.publish();
    await turn();
    expect(env.held, 'the first open is in flight').to.have.length(1);
    env.view.set('t', 0, OTHER, 2);
    env.view.publish();
    env.view.set('t', 0, ME, 3);
    env.view.publish();
    env.hold(false);
    env.releaseHeld();
    await env.reconciler.settled();
    const log = env.logs.get('t', 0);
    expect(log?.leaderEpoch).to.equal(3);
    // the open at epoch 1, then one reopen at 3 (the flap's intermediate state was never applied twice)
    expect(env.opened.map((o) => o.streamId)).to.have.length(2);
    expect(env.logs.all()).to.have.length(1);
    await env.reconciler.stop();
  });

  it('a lead-release flap while the open is in flight ends released', async () => {
    const env = await setup(1);
    await env.reconciler.start();
    env.hold(true);
    env.view.set('t', 0, ME, 1);
    env.view.publish();
    await turn();
    env.view.set('t', 0, OTHER, 2);
    env.view.publish();
    env.releaseHeld();
    await env.reconciler.settled();
    expect(env.logs.get('t', 0)).to.equal(undefined);
    expect(env.logs.all()).to.have.length(0);
    // the stream handle opened on the way was closed again: it refuses appends
    expect(() => env.opened[0]!.stream.append(Buffer.alloc(1), 1)).to.throw();
    await env.reconciler.stop();
  });

  it('release waits until every accepted append is durable, refuses new ones, saves producer state and closes the stream', async () => {
    const env = await setup(1);
    env.view.set('t', 0, ME, 0);
    await env.reconciler.start();
    const log = env.logs.get('t', 0)!;
    const accepted = log.append([batch('a', 0)], appendOpts);
    expect(accepted.errorCode).to.equal(0);
    const events: string[] = [];
    void (accepted as { durable: Promise<void> }).durable.then(() => events.push('durable'));

    const releasing = env.reconciler.release('t', 0).then(() => events.push('released'));
    await turn();
    expect(events, 'release is still waiting for the unflushed append').to.deep.equal([]);
    expect(env.logs.get('t', 0), 'a releasing partition is not served').to.equal(undefined);
    expect(log.append([batch('b', 1)], appendOpts).errorCode).to.equal(ErrorCode.NOT_LEADER_OR_FOLLOWER);

    await env.client.flush();
    await releasing;
    expect(events).to.deep.equal(['durable', 'released']);
    const snap = env.client.kv.get(`producers/${env.topic.id}/0`);
    expect(snap, 'producer snapshot written').to.not.equal(undefined);
    expect(JSON.parse(snap!.toString('utf8')).offset).to.equal(1);
    expect(() => log.stream.append(Buffer.alloc(1), 1), 'stream closed').to.throw();
    await env.reconciler.stop();
  });

  it('after release() the partition stays released until the view changes its leadership', async () => {
    const env = await setup(1);
    env.view.set('t', 0, ME, 5);
    await env.reconciler.start();
    await env.reconciler.release('t', 0);
    expect(env.logs.get('t', 0)).to.equal(undefined);
    // an unrelated update: the controller has not recorded the new leader yet
    env.view.publish();
    await env.reconciler.settled();
    expect(env.logs.get('t', 0), 'not reopened at the released epoch').to.equal(undefined);
    // the move is recorded, then the partition comes back to this broker at a newer epoch
    env.view.set('t', 0, OTHER, 6);
    env.view.publish();
    await env.reconciler.settled();
    expect(env.logs.get('t', 0)).to.equal(undefined);
    env.view.set('t', 0, ME, 7);
    env.view.publish();
    await env.reconciler.settled();
    expect(env.logs.get('t', 0)?.leaderEpoch).to.equal(7);
    // releasing twice, or a partition not open here, is a no-op that resolves
    await env.reconciler.release('t', 0);
    await env.reconciler.release('t', 0);
    await env.reconciler.release('nope', 3);
    expect(env.logs.all()).to.have.length(0);
    await env.reconciler.stop();
  });

  it('release() while the open is in flight waits for it and undoes it', async () => {
    const env = await setup(1);
    await env.reconciler.start();
    env.hold(true);
    env.view.set('t', 0, ME, 1);
    env.view.publish();
    await turn();
    const released = env.reconciler.release('t', 0);
    env.releaseHeld();
    await released;
    await env.reconciler.settled();
    expect(env.logs.get('t', 0)).to.equal(undefined);
    expect(env.opened).to.have.length(1);
    await env.reconciler.stop();
  });

  it('with the standalone view, creating and deleting topics opens and releases their partitions', async () => {
    const client = new FakeStreamClient(0);
    const registry = new TopicRegistry(client.kv);
    const view = standaloneClusterView({ node: () => node(ME), topics: registry });
    const logs = new LogManager(client, client.kv);
    const reconciler = new LeadershipReconciler(view, registry, logs);
    await reconciler.start();
    const s0 = await client.createStream();
    const s1 = await client.createStream();
    await registry.put({ name: 'a', id: 'cd'.repeat(16), partitions: [{ streamId: s0.id, leaderEpoch: 0 }, { streamId: s1.id, leaderEpoch: 0 }], configs: {}, createdAtMs: 0 });
    await reconciler.settled();
    expect(logs.partitions('a').map((l) => l.partition)).to.deep.equal([0, 1]);
    expect(view.leadership('a', 1)).to.deep.equal({ leader: ME, leaderEpoch: 0 });
    expect(view.leadership('a', 2)).to.equal(undefined);
    expect(view.leadership(GROUP_SHARDS_TOPIC, 7)).to.deep.equal({ leader: ME, leaderEpoch: 0 });
    const log0 = logs.get('a', 0)!;
    await registry.remove('a');
    await reconciler.settled();
    expect(logs.all()).to.have.length(0);
    expect(log0.isOpen()).to.equal(false);
    await reconciler.stop();
  });
});
