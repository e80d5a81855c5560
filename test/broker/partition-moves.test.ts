/**
 * AlterPartitionReassignments, ListPartitionReassignments and ElectLeaders over the wire:
 * - against a standalone broker process (started as `npm start` starts it), where the standalone
 *   controller answers: reassign to itself done at once, other brokers unknown, nothing ongoing,
 *   elections never needed;
 * - against an in-process broker with an injected ClusterView and ClusterController: NOT_CONTROLLER
 *   while another broker is the controller, the injected controller's answers once it is this one.
 */
import { expect } from 'chai';
import { pathToFileURL } from 'node:url';
import winston from 'winston';
import type { BrokerOptions } from '../../broker/src/cli/broker-options.js';
import { standaloneClusterView, type ClusterView } from '../../broker/src/kafka/cluster/cluster-view.js';
import type { ClusterController, OngoingReassignment, PartitionRef, ReassignmentRequest } from '../../broker/src/kafka/cluster/controller-api.js';
import { startBroker as startInProcess, type RunningBroker } from '../../broker/src/node/broker-node.js';
import { ErrorCode } from '../../broker/src/protocol/errors.js';
import { AlterPartitionReassignments } from '../../broker/src/protocol/messages/45_alter_partition_reassignments.js';
import { CreateTopics } from '../../broker/src/protocol/messages/19_create_topics.js';
import { DescribeLogDirs } from '../../broker/src/protocol/messages/35_describe_log_dirs.js';
import { IncrementalAlterConfigs } from '../../broker/src/protocol/messages/44_incremental_alter_configs.js';
import { ElectLeaders } from '../../broker/src/protocol/messages/43_elect_leaders.js';
import { ListPartitionReassignments } from '../../broker/src/protocol/messages/46_list_partition_reassignments.js';
import { Metadata } from '../../broker/src/protocol/messages/03_metadata.js';
import { removeDir, startBroker, tempDir, type Broker } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';

describe('partition moves on a standalone broker (real process, over the wire)', function () {
  this.timeout(60_000);
  let broker: Broker;
  let c: WireClient;
  let me: number;

  before(async () => {
    broker = await startBroker({ extraArgs: ['--node-id', '5'] });
    c = await WireClient.connect(broker.port);
    const created = await c.request(CreateTopics, 7, { topics: [{ name: 'moves', numPartitions: 2, replicationFactor: 1 }], timeoutMs: 10_000 });
    expect(created.topics[0]).to.include({ errorCode: 0 });
    const md = await c.request(Metadata, 12, { topics: [{ name: 'moves', topicId: '0'.repeat(32) }] });
    me = md.controllerId;
    expect(me, 'the broker is its own controller, with the node id it was given').to.equal(5);
  });
  after(async () => {
    c?.close();
    await broker?.stop();
  });

  async function leaders(): Promise<[number, number, number][]> {
    const md = await c.request(Metadata, 12, { topics: [{ name: 'moves', topicId: '0'.repeat(32) }] });
    return md.topics[0]!.partitions.map((p) => [p.partitionIndex, p.leaderId, p.leaderEpoch] as [number, number, number]).sort((a, b) => a[0] - b[0]);
  }

  it('AlterPartitionReassignments: to itself done at once, to another broker INVALID_REPLICA_ASSIGNMENT naming it, unknown topic, malformed lists', async () => {
    const before = await leaders();
    const r = await c.request(AlterPartitionReassignments, 0, {
      timeoutMs: 10_000,
      topics: [
        { name: 'moves', partitions: [{ partitionIndex: 0, replicas: [me] }, { partitionIndex: 1, replicas: [42] }] },
        { name: 'no-such-topic', partitions: [{ partitionIndex: 0, replicas: [me] }] },
        { name: 'moves', partitions: [{ partitionIndex: 5, replicas: [me] }] },
      ],
    });
    expect(r.errorCode).to.equal(0);
    const got = r.responses.flatMap((t) => t.partitions.map((p) => ({ t: t.name, ...p })));
    expect(got.map((g) => [g.t, g.partitionIndex, g.errorCode])).to.deep.equal([
      ['moves', 0, 0],
      ['moves', 1, ErrorCode.INVALID_REPLICA_ASSIGNMENT],
      ['no-such-topic', 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ['moves', 5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    expect(got[0]!.errorMessage).to.equal(null);
    expect(got[1]!.errorMessage).to.match(new RegExp(`includes broker 42, but no such broker is registered: this standalone cluster has only broker ${me}`));
    expect(await leaders(), 'nothing moved, no leader epoch changed').to.deep.equal(before);
    expect(before.map((l) => l[1])).to.deep.equal([me, me]);

    const bad = await c.request(AlterPartitionReassignments, 0, {
      timeoutMs: 10_000,
      topics: [{ name: 'moves', partitions: [{ partitionIndex: 0, replicas: [me, -3] }, { partitionIndex: 1, replicas: [me] }, { partitionIndex: 1, replicas: [me] }] }],
    });
    expect(bad.responses[0]!.partitions.map((p) => p.errorCode)).to.deep.equal([
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
    ]);
  });

  it('AlterPartitionReassignments: cancelling finds no reassignment in progress', async () => {
    const r = await c.request(AlterPartitionReassignments, 0, { timeoutMs: 10_000, topics: [{ name: 'moves', partitions: [{ partitionIndex: 0, replicas: null }] }] });
    expect(r.responses[0]!.partitions[0]).to.include({ partitionIndex: 0, errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS });
    expect(r.responses[0]!.partitions[0]!.errorMessage).to.match(/no reassignment of moves-0 is in progress/);
  });

  it('ListPartitionReassignments: nothing is ever in progress (all, or named partitions)', async () => {
    const all = await c.request(ListPartitionReassignments, 0, { timeoutMs: 10_000, topics: null });
    expect(all).to.deep.include({ errorCode: 0, errorMessage: null, topics: [] });
    const named = await c.request(ListPartitionReassignments, 0, { timeoutMs: 10_000, topics: [{ name: 'moves', partitionIndexes: [0, 1] }, { name: 'nope', partitionIndexes: [0] }] });
    expect(named).to.deep.include({ errorCode: 0, topics: [] });
  });

  it('ElectLeaders: ELECTION_NOT_NEEDED for named partitions (preferred and unclean), nothing listed for all partitions', async () => {
    for (const [v, electionType] of [[0, 0], [1, 1], [2, 0], [2, 1]] as const) {
      const r = await c.request(ElectLeaders, v, {
        electionType,
        topicPartitions: [{ topic: 'moves', partitions: [0, 1, 7] }],
        timeoutMs: 10_000,
      });
      expect(r.errorCode, `v${v} type ${electionType}`).to.equal(0);
      expect(r.replicaElectionResults).to.have.length(1);
      expect(r.replicaElectionResults[0]!.partitionResult.map((p) => [p.partitionId, p.errorCode]), `v${v} type ${electionType}`).to.deep.equal([
        [0, ErrorCode.ELECTION_NOT_NEEDED],
        [1, ErrorCode.ELECTION_NOT_NEEDED],
        [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ]);
    }
    const all = await c.request(ElectLeaders, 2, { electionType: 0, topicPartitions: null, timeoutMs: 10_000 });
    expect(all).to.deep.include({ errorCode: 0, replicaElectionResults: [] });
  });
});

describe('what kafka-reassign-partitions.sh needs besides the move APIs (standalone broker process)', function () {
  this.timeout(60_000);
  let broker: Broker;
  let c: WireClient;
  before(async () => {
    broker = await startBroker();
    c = await WireClient.connect(broker.port);
    const created = await c.request(CreateTopics, 7, { topics: [{ name: 'dirs', numPartitions: 1, replicationFactor: 1 }], timeoutMs: 10_000 });
    expect(created.topics[0]).to.include({ errorCode: 0 });
  });
  after(async () => {
    c?.close();
    await broker?.stop();
  });

  it('DescribeLogDirs v0-v4: no log dirs at all (partitions live in the object store), for all topics or named ones', async () => {
    for (let v = 0; v <= 4; v++) {
      const all = await c.request(DescribeLogDirs, v, { topics: null });
      expect(all.results, `v${v}`).to.deep.equal([]);
      expect(all.errorCode, `v${v}`).to.equal(0);
      const named = await c.request(DescribeLogDirs, v, { topics: [{ topic: 'dirs', partitions: [0] }] });
      expect(named.results, `v${v}`).to.deep.equal([]);
    }
  });

  it('IncrementalAlterConfigs on the broker: deleting (throttles, as --verify does) succeeds, setting is still refused', async () => {
    const DELETE = 1;
    const SET = 0;
    const del = await c.request(IncrementalAlterConfigs, 1, {
      resources: [
        {
          resourceType: 4,
          resourceName: '0',
          configs: [
            { name: 'leader.replication.throttled.rate', configOperation: DELETE, value: null },
            { name: 'follower.replication.throttled.rate', configOperation: DELETE, value: null },
            { name: 'replica.alter.log.dirs.io.max.bytes.per.second', configOperation: DELETE, value: null },
          ],
        },
      ],
      validateOnly: false,
    });
    expect(del.responses[0]).to.include({ errorCode: 0, errorMessage: null });
    const set = await c.request(IncrementalAlterConfigs, 1, {
      resources: [
        {
          resourceType: 4,
          resourceName: '0',
          configs: [
            { name: 'leader.replication.throttled.rate', configOperation: DELETE, value: null },
            { name: 'log.retention.ms', configOperation: SET, value: '1000' },
          ],
        },
      ],
      validateOnly: false,
    });
    expect(set.responses[0]).to.include({ errorCode: ErrorCode.INVALID_REQUEST });
    expect(set.responses[0]!.errorMessage).to.match(/broker configs are static: set "log.retention.ms"/);
  });
});

describe('partition moves with an injected ClusterView and ClusterController (in-process broker, over the wire)', function () {
  this.timeout(60_000);
  let broker: RunningBroker;
  let c: WireClient;
  let controllerId = 2;
  const dirs: string[] = [];
  const calls: unknown[] = [];
  const ongoing: OngoingReassignment[] = [{ topic: 'moves', partition: 0, replicas: [2, 1], addingReplicas: [2], removingReplicas: [1] }];
  const controller: ClusterController = {
    reassign(rs: readonly ReassignmentRequest[]) {
      calls.push(['reassign', rs]);
      return Promise.resolve(rs.map((r) => ({ topic: r.topic, partition: r.partition, errorCode: 0, errorMessage: null })));
    },
    listReassignments(ps?: readonly PartitionRef[]) {
      calls.push(['list', ps]);
      return ongoing;
    },
    electLeaders(type: 0 | 1, ps?: readonly PartitionRef[]) {
      calls.push(['elect', type, ps]);
      return Promise.resolve((ps ?? []).map((p) => ({ ...p, errorCode: 0, errorMessage: null })));
    },
  };

  before(async () => {
    const dataDir = await tempDir('automq-moves-data-');
    const objects = await tempDir('automq-moves-objects-');
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
      rack: null,
      brokerConfig: {},
      walFlushIntervalMs: 5,
      walFlushBytes: 1024 * 1024,
      logCacheBytes: 16 * 1024 * 1024,
      blockCacheBytes: 16 * 1024 * 1024,
    };
    const log = winston.createLogger({ level: 'warn', transports: [new winston.transports.Console({ silent: true })] });
    broker = await startInProcess(opts, log, 'broker', {
      clusterView: (local): ClusterView => ({ ...standaloneClusterView(local), controllerId: () => controllerId }),
      controller: () => controller,
    });
    c = await WireClient.connect(broker.port);
  });
  after(async () => {
    c?.close();
    await broker?.stop();
    for (const d of dirs) await removeDir(d);
  });

  it('another broker is the controller: NOT_CONTROLLER from all three APIs, naming it, and the controller is not asked', async () => {
    controllerId = 2;
    const alter = await c.request(AlterPartitionReassignments, 0, { timeoutMs: 5000, topics: [{ name: 'moves', partitions: [{ partitionIndex: 0, replicas: [2] }] }] });
    expect(alter.errorCode).to.equal(ErrorCode.NOT_CONTROLLER);
    expect(alter.errorMessage).to.match(/broker 2 is the active controller/);
    expect(alter.responses[0]!.partitions[0]!.errorCode).to.equal(ErrorCode.NOT_CONTROLLER);
    const list = await c.request(ListPartitionReassignments, 0, { timeoutMs: 5000, topics: null });
    expect(list).to.deep.include({ errorCode: ErrorCode.NOT_CONTROLLER, topics: [] });
    const elect = await c.request(ElectLeaders, 2, { electionType: 0, topicPartitions: [{ topic: 'moves', partitions: [0] }], timeoutMs: 5000 });
    expect(elect.errorCode).to.equal(ErrorCode.NOT_CONTROLLER);
    expect(elect.replicaElectionResults[0]!.partitionResult[0]!.errorCode).to.equal(ErrorCode.NOT_CONTROLLER);
    expect(calls).to.deep.equal([]);
  });

  it('this broker is the controller: the injected controller decides, and its ongoing moves are listed', async () => {
    controllerId = 1;
    const alter = await c.request(AlterPartitionReassignments, 0, { timeoutMs: 5000, topics: [{ name: 'moves', partitions: [{ partitionIndex: 0, replicas: [2, 1] }] }] });
    expect(alter.errorCode).to.equal(0);
    expect(alter.responses[0]!.partitions[0]).to.include({ errorCode: 0 });
    const list = await c.request(ListPartitionReassignments, 0, { timeoutMs: 5000, topics: [{ name: 'moves', partitionIndexes: [0] }] });
    expect(list.topics).to.deep.equal([{ name: 'moves', partitions: [{ partitionIndex: 0, replicas: [2, 1], addingReplicas: [2], removingReplicas: [1] }] }]);
    const elect = await c.request(ElectLeaders, 1, { electionType: 1, topicPartitions: [{ topic: 'moves', partitions: [0] }], timeoutMs: 5000 });
    expect(elect.replicaElectionResults[0]!.partitionResult[0]).to.include({ partitionId: 0, errorCode: 0 });
    expect(calls).to.deep.equal([
      ['reassign', [{ topic: 'moves', partition: 0, replicas: [2, 1] }]],
      ['list', [{ topic: 'moves', partition: 0 }]],
      ['elect', 1, [{ topic: 'moves', partition: 0 }]],
    ]);
  });
});
