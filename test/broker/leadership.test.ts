/**
 * A real broker (in this process, real listener, file object store) fed an injected ClusterView
 * in which another broker leads some partitions and may be the controller: what clients read off
 * the wire for partitions this broker does not lead, for stale/newer leader epochs, and for
 * metadata changes sent to a non-controller; and leadership moving while the broker runs.
 */
import { expect } from 'chai';
import { pathToFileURL } from 'node:url';
import winston from 'winston';
import type { BrokerOptions } from '../../broker/src/cli/broker-options.js';
import { standaloneClusterView, type ClusterView, type PartitionLeadership } from '../../broker/src/kafka/cluster/cluster-view.js';
import type { NodeInfo } from '../../broker/src/kafka/context.js';
import { startBroker, type LocalBroker, type RunningBroker } from '../../broker/src/node/broker-node.js';
import { ErrorCode } from '../../broker/src/protocol/errors.js';
import { CreatePartitions } from '../../broker/src/protocol/messages/37_create_partitions.js';
import { CreateTopics } from '../../broker/src/protocol/messages/19_create_topics.js';
import { DeleteRecords } from '../../broker/src/protocol/messages/21_delete_records.js';
import { DeleteTopics } from '../../broker/src/protocol/messages/20_delete_topics.js';
import { DescribeCluster } from '../../broker/src/protocol/messages/60_describe_cluster.js';
import { DescribeTopicPartitions } from '../../broker/src/protocol/messages/75_describe_topic_partitions.js';
import { Fetch } from '../../broker/src/protocol/messages/01_fetch.js';
import { IncrementalAlterConfigs } from '../../broker/src/protocol/messages/44_incremental_alter_configs.js';
import { ListOffsets } from '../../broker/src/protocol/messages/02_list_offsets.js';
import { Metadata } from '../../broker/src/protocol/messages/03_metadata.js';
import { Produce } from '../../broker/src/protocol/messages/00_produce.js';
import { removeDir, tempDir } from '../helpers/broker.js';
import { buildBatch } from '../helpers/record-batch-builder.js';
import { WireClient } from '../helpers/wire-client.js';

const OTHER: NodeInfo = { nodeId: 2, host: '127.0.0.1', port: 1, rack: 'rack-b' };

/** Standalone leadership, overridden per partition; another live broker; a switchable controller. */
class TestView implements ClusterView {
  readonly overrides = new Map<string, PartitionLeadership>();
  controller: number;
  private readonly base: ClusterView;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly local: LocalBroker) {
    this.base = standaloneClusterView(local);
    this.controller = local.node().nodeId;
    this.base.onChange(() => this.publish());
  }
  localNodeId() {
    return this.local.node().nodeId;
  }
  controllerId() {
    return this.controller;
  }
  brokers() {
    return [...this.base.brokers(), OTHER].sort((a, b) => a.nodeId - b.nodeId);
  }
  broker(id: number) {
    return id === OTHER.nodeId ? OTHER : this.base.broker(id);
  }
  leadership(topic: string, partition: number) {
    const base = this.base.leadership(topic, partition);
    return base && (this.overrides.get(`${topic}-${partition}`) ?? base);
  }
  onChange(listener: () => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  publish() {
    for (const l of [...this.listeners]) l();
  }
}

describe('partition leadership and the controller (real broker, injected ClusterView)', function () {
  this.timeout(60_000);
  let broker: RunningBroker;
  let view: TestView;
  let c: WireClient;
  const dirs: string[] = [];
  let topicId: string;
  let me: number;

  before(async () => {
    const dataDir = await tempDir('automq-leadership-data-');
    const objects = await tempDir('automq-leadership-objects-');
    dirs.push(dataDir, objects);
    const opts: BrokerOptions = {
      dataDir,
      listen: { host: '127.0.0.1', port: 0 },
      advertise: undefined,
      metricsPort: 0,
      nodeId: 1,
      objectStoreUrl: pathToFileURL(objects).href,
      logLevel: 'warn',
      clusterId: undefined,
      rack: 'rack-a',
      brokerConfig: {},
      walFlushIntervalMs: 5,
      walFlushBytes: 1024 * 1024,
      logCacheBytes: 16 * 1024 * 1024,
      blockCacheBytes: 16 * 1024 * 1024,
    };
    const log = winston.createLogger({ level: 'warn', transports: [new winston.transports.Console({ silent: true })] });
    broker = await startBroker(opts, log, 'broker', {
      clusterView: (local) => {
        view = new TestView(local);
        return view;
      },
    });
    me = view.localNodeId();
    // p0 is led by the other broker; p1 by this one at epoch 3.
    view.overrides.set('moving-0', { leader: OTHER.nodeId, leaderEpoch: 7 });
    view.overrides.set('moving-1', { leader: me, leaderEpoch: 3 });
    c = await WireClient.connect(broker.port);
    const created = await c.request(CreateTopics, 7, { topics: [{ name: 'moving', numPartitions: 2, replicationFactor: -1 }], timeoutMs: 10_000 });
    expect(created.topics[0]).to.include({ errorCode: 0 });
    topicId = created.topics[0]!.topicId;
  });

  after(async () => {
    c?.close();
    await broker?.stop();
    for (const d of dirs) await removeDir(d);
  });

  const records = (v: string) => buildBatch([{ value: Buffer.from(v) }]);

  it('Produce: NOT_LEADER_OR_FOLLOWER with the current leader and its endpoint (v10+), served partitions still append', async () => {
    const r = await c.request(Produce, 11, {
      acks: -1,
      timeoutMs: 10_000,
      topicData: [{ name: 'moving', partitionData: [{ index: 0, records: records('a') }, { index: 1, records: records('b') }] }],
    });
    const [p0, p1] = r.responses[0]!.partitionResponses;
    expect(p0).to.include({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER });
    expect(p0!.currentLeader).to.deep.equal({ leaderId: OTHER.nodeId, leaderEpoch: 7 });
    expect(p1).to.include({ errorCode: 0, baseOffset: 0n });
    expect(r.nodeEndpoints).to.deep.equal([{ nodeId: OTHER.nodeId, host: OTHER.host, port: OTHER.port, rack: OTHER.rack }]);

    // before v10 the hint does not exist on the wire: the error alone
    const old = await c.request(Produce, 9, { acks: 1, timeoutMs: 10_000, topicData: [{ name: 'moving', partitionData: [{ index: 0, records: records('c') }] }] });
    expect(old.responses[0]!.partitionResponses[0]).to.include({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER });
    expect(old.responses[0]!.partitionResponses[0]!.currentLeader).to.deep.equal({ leaderId: -1, leaderEpoch: -1 });
  });

  it('Fetch: NOT_LEADER_OR_FOLLOWER with the leader (v12+) and endpoint (v16), and CurrentLeaderEpoch checks', async () => {
    const fetch16 = await c.request(Fetch, 16, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      topics: [
        {
          topicId,
          partitions: [
            { partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 },
            { partition: 1, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: 3 },
          ],
        },
      ],
    });
    const [f0, f1] = fetch16.responses[0]!.partitions;
    expect(f0).to.include({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER });
    expect(f0!.currentLeader).to.deep.equal({ leaderId: OTHER.nodeId, leaderEpoch: 7 });
    expect(f1).to.include({ errorCode: 0, highWatermark: 1n });
    expect(fetch16.nodeEndpoints.map((n) => n.nodeId)).to.deep.equal([OTHER.nodeId]);

    const epochs = await c.request(Fetch, 12, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      topics: [
        {
          topic: 'moving',
          partitions: [
            { partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 },
            { partition: 1, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: 2 },
          ],
        },
        { topic: 'moving', partitions: [{ partition: 1, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: 4 }] },
      ],
    });
    expect(epochs.responses[0]!.partitions[0]!.currentLeader).to.deep.equal({ leaderId: OTHER.nodeId, leaderEpoch: 7 });
    expect(epochs.responses[0]!.partitions[1]).to.include({ errorCode: ErrorCode.FENCED_LEADER_EPOCH });
    expect(epochs.responses[1]!.partitions[0]).to.include({ errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH });
  });

  it('ListOffsets and DeleteRecords: NOT_LEADER_OR_FOLLOWER; the leader epoch served is the view one', async () => {
    const r = await c.request(ListOffsets, 8, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [
        {
          name: 'moving',
          partitions: [
            { partitionIndex: 0, timestamp: -1n },
            { partitionIndex: 1, timestamp: -1n },
            { partitionIndex: 1, timestamp: -1n, currentLeaderEpoch: 1 },
          ],
        },
      ],
    });
    const [l0, l1, stale] = r.topics[0]!.partitions;
    expect(l0).to.include({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER });
    expect(l1).to.include({ errorCode: 0, offset: 1n, leaderEpoch: 3 });
    expect(stale).to.include({ errorCode: ErrorCode.FENCED_LEADER_EPOCH });
    const d = await c.request(DeleteRecords, 2, { topics: [{ name: 'moving', partitions: [{ partitionIndex: 0, offset: -1n }] }], timeoutMs: 10_000 });
    expect(d.topics[0]!.partitions[0]).to.include({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER });
  });

  it('Metadata and DescribeTopicPartitions show the other broker as leader, and no leader as LEADER_NOT_AVAILABLE', async () => {
    const m = await c.request(Metadata, 12, { topics: [{ name: 'moving' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    expect(m.controllerId).to.equal(me);
    expect(m.brokers.map((b) => [b.nodeId, b.rack])).to.deep.equal([[me, 'rack-a'], [OTHER.nodeId, 'rack-b']]);
    const [m0, m1] = m.topics[0]!.partitions;
    expect(m0).to.deep.include({ errorCode: 0, leaderId: OTHER.nodeId, leaderEpoch: 7, replicaNodes: [OTHER.nodeId], isrNodes: [OTHER.nodeId] });
    expect(m1).to.deep.include({ errorCode: 0, leaderId: me, leaderEpoch: 3, replicaNodes: [me], isrNodes: [me] });

    view.overrides.set('moving-0', { leader: -1, leaderEpoch: 8 });
    try {
      const none = await c.request(Metadata, 12, { topics: [{ name: 'moving' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      expect(none.topics[0]!.partitions[0]).to.deep.include({ errorCode: ErrorCode.LEADER_NOT_AVAILABLE, leaderId: -1, leaderEpoch: 8, replicaNodes: [], isrNodes: [] });
      const dtp = await c.request(DescribeTopicPartitions, 0, { topics: [{ name: 'moving' }], responsePartitionLimit: 10 });
      expect(dtp.topics[0]!.partitions.map((p) => [p.partitionIndex, p.errorCode, p.leaderId, p.leaderEpoch])).to.deep.equal([
        [0, ErrorCode.LEADER_NOT_AVAILABLE, -1, 8],
        [1, 0, me, 3],
      ]);
    } finally {
      view.overrides.set('moving-0', { leader: OTHER.nodeId, leaderEpoch: 7 });
    }
  });

  it('follows leadership moves: releases a partition it stops leading and reopens it at the new epoch', async () => {
    view.overrides.set('moving-1', { leader: OTHER.nodeId, leaderEpoch: 4 });
    view.publish();
    await broker.ownership.settled();
    const gone = await c.request(Produce, 11, { acks: -1, timeoutMs: 10_000, topicData: [{ name: 'moving', partitionData: [{ index: 1, records: records('x') }] }] });
    expect(gone.responses[0]!.partitionResponses[0]).to.include({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER });
    expect(gone.responses[0]!.partitionResponses[0]!.currentLeader).to.deep.equal({ leaderId: OTHER.nodeId, leaderEpoch: 4 });

    view.overrides.set('moving-1', { leader: me, leaderEpoch: 5 });
    view.publish();
    await broker.ownership.settled();
    const back = await c.request(Produce, 11, { acks: -1, timeoutMs: 10_000, topicData: [{ name: 'moving', partitionData: [{ index: 1, records: records('y') }] }] });
    expect(back.responses[0]!.partitionResponses[0]).to.include({ errorCode: 0, baseOffset: 1n });
    const lo = await c.request(ListOffsets, 8, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'moving', partitions: [{ partitionIndex: 1, timestamp: -1n }] }] });
    expect(lo.topics[0]!.partitions[0]).to.include({ errorCode: 0, offset: 2n, leaderEpoch: 5 });

    // The controller's move step: release(), after which nothing is served until the view moves on.
    await broker.ownership.release('moving', 1);
    const released = await c.request(Produce, 11, { acks: -1, timeoutMs: 10_000, topicData: [{ name: 'moving', partitionData: [{ index: 1, records: records('z') }] }] });
    expect(released.responses[0]!.partitionResponses[0]).to.include({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER });
    view.overrides.set('moving-1', { leader: me, leaderEpoch: 6 });
    view.publish();
    await broker.ownership.settled();
    const fetched = await c.request(Fetch, 12, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      topics: [{ topic: 'moving', partitions: [{ partition: 1, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: 6 }] }],
    });
    expect(fetched.responses[0]!.partitions[0]).to.include({ errorCode: 0, highWatermark: 2n });
  });

  it('a broker that is not the controller answers NOT_CONTROLLER to metadata changes, and still describes the cluster', async () => {
    view.controller = OTHER.nodeId;
    view.publish();
    try {
      const ct = await c.request(CreateTopics, 7, { topics: [{ name: 'elsewhere', numPartitions: 1, replicationFactor: -1 }], timeoutMs: 10_000 });
      expect(ct.topics[0]).to.include({ name: 'elsewhere', errorCode: ErrorCode.NOT_CONTROLLER });
      const dt = await c.request(DeleteTopics, 6, { topics: [{ name: 'moving' }], timeoutMs: 10_000 });
      expect(dt.responses[0]).to.include({ errorCode: ErrorCode.NOT_CONTROLLER });
      const cp = await c.request(CreatePartitions, 3, { topics: [{ name: 'moving', count: 3, assignments: null }], timeoutMs: 10_000, validateOnly: false });
      expect(cp.results[0]).to.include({ errorCode: ErrorCode.NOT_CONTROLLER });
      const iac = await c.request(IncrementalAlterConfigs, 1, {
        resources: [{ resourceType: 2, resourceName: 'moving', configs: [{ name: 'retention.ms', configOperation: 0, value: '1000' }] }],
        validateOnly: false,
      });
      expect(iac.responses[0]).to.include({ errorCode: ErrorCode.NOT_CONTROLLER });
      // ...but a broker resource is this broker's own business (kafka-reassign-partitions --verify
      // clears throttles on every broker, each at that broker)
      const brokerRes = await c.request(IncrementalAlterConfigs, 1, {
        resources: [{ resourceType: 4, resourceName: String(me), configs: [{ name: 'leader.replication.throttled.rate', configOperation: 1, value: null }] }],
        validateOnly: false,
      });
      expect(brokerRes.responses[0]).to.include({ errorCode: 0 });
      // Metadata does not auto-create here: only the controller creates topics
      const auto = await c.request(Metadata, 12, { topics: [{ name: 'auto-here' }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false });
      expect(auto.controllerId).to.equal(OTHER.nodeId);
      expect(auto.topics[0]).to.include({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
      const dc = await c.request(DescribeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 1 });
      expect(dc).to.include({ errorCode: 0, controllerId: OTHER.nodeId });
      // nothing changed
      const m = await c.request(Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      expect(m.topics.map((t) => [t.name, t.partitions.length])).to.deep.equal([['moving', 2]]);
    } finally {
      view.controller = me;
      view.publish();
    }
  });
});
