/**
 * AlterPartitionReassignments, ListPartitionReassignments and ElectLeaders handlers against a fake
 * ClusterController: each request is encoded and decoded at the version under test, handled, and
 * the response encoded and decoded again, so what is checked is what a client reads off the wire.
 * Also the standalone ClusterController on its own.
 */
import { expect } from 'chai';
import winston from 'winston';
import { decodeMessage, encodeMessage } from '../../../broker/src/protocol/codec.js';
import { ErrorCode, KafkaError } from '../../../broker/src/protocol/errors.js';
import { Reader } from '../../../broker/src/protocol/primitives/reader.js';
import { Writer } from '../../../broker/src/protocol/primitives/writer.js';
import type { Fields, In, Out } from '../../../broker/src/protocol/schema.js';
import type { ClusterView } from '../../../broker/src/kafka/cluster/cluster-view.js';
import type {
  ClusterController,
  OngoingReassignment,
  PartitionRef,
  PartitionResult,
  ReassignmentRequest,
} from '../../../broker/src/kafka/cluster/controller-api.js';
import { standaloneController } from '../../../broker/src/kafka/cluster/standalone-controller.js';
import type { BrokerContext, NodeInfo } from '../../../broker/src/kafka/context.js';
import type { Handler } from '../../../broker/src/kafka/handler.js';
import electLeaders from '../../../broker/src/kafka/handlers/43_elect_leaders.js';
import alterReassignments from '../../../broker/src/kafka/handlers/45_alter_partition_reassignments.js';
import listReassignments from '../../../broker/src/kafka/handlers/46_list_partition_reassignments.js';
import { HANDLERS } from '../../../broker/src/kafka/handlers/index.js';

const SELF = 3;

function viewOf(controllerId: number): ClusterView {
  const node: NodeInfo = { nodeId: SELF, host: '127.0.0.1', port: 9092, rack: null };
  return {
    localNodeId: () => SELF,
    controllerId: () => controllerId,
    brokers: () => [node],
    broker: (id) => (id === SELF ? node : undefined),
    leadership: () => undefined,
    onChange: () => () => undefined,
  };
}

/** Records every call; answers with what the test sets (or with the default functions). */
class FakeController implements ClusterController {
  reassignCalls: ReassignmentRequest[][] = [];
  listCalls: (readonly PartitionRef[] | undefined)[] = [];
  electCalls: { type: 0 | 1; partitions: readonly PartitionRef[] | undefined }[] = [];
  onReassign: (rs: readonly ReassignmentRequest[]) => Promise<PartitionResult[]> = (rs) =>
    Promise.resolve(rs.map((r) => ({ topic: r.topic, partition: r.partition, errorCode: 0, errorMessage: null })));
  ongoing: OngoingReassignment[] = [];
  onElect: (type: 0 | 1, ps: readonly PartitionRef[] | undefined) => Promise<PartitionResult[]> = (_t, ps) =>
    Promise.resolve((ps ?? []).map((p) => ({ ...p, errorCode: 0, errorMessage: null })));

  reassign(requests: readonly ReassignmentRequest[]): Promise<PartitionResult[]> {
    this.reassignCalls.push(requests.map((r) => ({ ...r, replicas: r.replicas && [...r.replicas] })));
    return this.onReassign(requests);
  }
  listReassignments(partitions?: readonly PartitionRef[]): OngoingReassignment[] {
    this.listCalls.push(partitions && partitions.map((p) => ({ ...p })));
    return this.ongoing;
  }
  electLeaders(type: 0 | 1, partitions?: readonly PartitionRef[]): Promise<PartitionResult[]> {
    this.electCalls.push({ type, partitions: partitions && partitions.map((p) => ({ ...p })) });
    return this.onElect(type, partitions);
  }
}

const silent = winston.createLogger({ silent: true });

function brokerOf(view: ClusterView, controller: ClusterController | undefined): BrokerContext {
  const partial: Pick<BrokerContext, 'cluster' | 'controller' | 'log'> = { cluster: view, controller, log: silent };
  // These handlers use only these members of the context.
  return partial as BrokerContext;
}

async function call<Q extends Fields, R extends Fields>(broker: BrokerContext, h: Handler<Q, R>, version: number, request: In<Q>): Promise<Out<R>> {
  const w = new Writer();
  encodeMessage(h.api.request, version, request, w);
  const decoded = decodeMessage(h.api.request, version, new Reader(w.toBuffer()));
  const res = await h.handle(decoded, { apiVersion: version, clientId: 'test', clientHost: '/127.0.0.1', connectionId: 1 }, broker);
  if (typeof res === 'symbol') throw new Error(`${h.api.name} returned no response`);
  const w2 = new Writer();
  encodeMessage(h.api.response, version, res, w2);
  const r = new Reader(w2.toBuffer());
  const out = decodeMessage(h.api.response, version, r);
  expect(r.remaining, 'response decodes exactly').to.equal(0);
  return out;
}

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

describe('partition move handlers (fake controller)', () => {
  let fake: FakeController;
  let onController: BrokerContext;
  beforeEach(() => {
    fake = new FakeController();
    onController = brokerOf(viewOf(SELF), fake);
  });

  it('are registered with the versions Apache Kafka 4.0 defines', () => {
    const ranges = [electLeaders, alterReassignments, listReassignments].map((h) => [h.api.key, h.minVersion, h.maxVersion]);
    expect(ranges).to.deep.equal([
      [43, 0, 2],
      [45, 0, 0],
      [46, 0, 0],
    ]);
    for (const h of [electLeaders, alterReassignments, listReassignments]) expect(HANDLERS, h.api.name).to.include(h);
  });

  describe('AlterPartitionReassignments v0', () => {
    it('forwards moves and cancels, and passes the controller results through per partition', async () => {
      fake.onReassign = (rs) =>
        Promise.resolve(
          rs.map((r) =>
            r.replicas === null
              ? { topic: r.topic, partition: r.partition, errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, errorMessage: 'nothing to cancel' }
              : r.topic === 'gone'
                ? { topic: r.topic, partition: r.partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'no such topic' }
                : { topic: r.topic, partition: r.partition, errorCode: 0, errorMessage: null },
          ),
        );
      const r = await call(onController, alterReassignments, 0, {
        timeoutMs: 5000,
        topics: [
          { name: 'orders', partitions: [{ partitionIndex: 0, replicas: [4, 3] }, { partitionIndex: 1, replicas: null }] },
          { name: 'gone', partitions: [{ partitionIndex: 0, replicas: [3] }] },
        ],
      });
      expect(fake.reassignCalls).to.deep.equal([
        [
          { topic: 'orders', partition: 0, replicas: [4, 3] },
          { topic: 'orders', partition: 1, replicas: null },
          { topic: 'gone', partition: 0, replicas: [3] },
        ],
      ]);
      expect(r.errorCode).to.equal(0);
      expect(r.errorMessage).to.equal(null);
      expect(r.responses).to.deep.equal([
        {
          name: 'orders',
          partitions: [
            { partitionIndex: 0, errorCode: 0, errorMessage: null },
            { partitionIndex: 1, errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, errorMessage: 'nothing to cancel' },
          ],
        },
        { name: 'gone', partitions: [{ partitionIndex: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'no such topic' }] },
      ]);
    });

    it('refuses malformed entries itself, with messages, and sends only the rest to the controller', async () => {
      const r = await call(onController, alterReassignments, 0, {
        timeoutMs: 5000,
        topics: [
          {
            name: 'orders',
            partitions: [
              { partitionIndex: 0, replicas: [3] },
              { partitionIndex: 1, replicas: [] },
              { partitionIndex: 2, replicas: [3, -1] },
              { partitionIndex: 3, replicas: [4, 3, 4] },
              { partitionIndex: 4, replicas: [3] },
            ],
          },
          // Partition 4 of orders a second time (another topic entry): ambiguous, both refused.
          { name: 'orders', partitions: [{ partitionIndex: 4, replicas: [4] }] },
        ],
      });
      expect(fake.reassignCalls).to.deep.equal([[{ topic: 'orders', partition: 0, replicas: [3] }]]);
      const got = r.responses.flatMap((t) => t.partitions.map((p) => [t.name, p.partitionIndex, p.errorCode, p.errorMessage]));
      expect(got.map((g) => g.slice(0, 3))).to.deep.equal([
        ['orders', 0, 0],
        ['orders', 1, ErrorCode.INVALID_REPLICA_ASSIGNMENT],
        ['orders', 2, ErrorCode.INVALID_REPLICA_ASSIGNMENT],
        ['orders', 3, ErrorCode.INVALID_REPLICA_ASSIGNMENT],
        ['orders', 4, ErrorCode.INVALID_REQUEST],
        ['orders', 4, ErrorCode.INVALID_REQUEST],
      ]);
      expect(got[1]![3]).to.match(/orders-1 is empty/);
      expect(got[2]![3]).to.match(/contains -1: broker ids are >= 0/);
      expect(got[3]![3]).to.match(/names broker 4 more than once/);
      expect(got[4]![3]).to.match(/orders-4 appears more than once/);
      expect(r.errorCode, 'validation errors are per partition, not top-level').to.equal(0);
    });

    it('does not call the controller when every entry is invalid', async () => {
      const r = await call(onController, alterReassignments, 0, { timeoutMs: 5000, topics: [{ name: 't', partitions: [{ partitionIndex: 0, replicas: [] }] }] });
      expect(fake.reassignCalls).to.deep.equal([]);
      expect(r.responses[0]!.partitions[0]!.errorCode).to.equal(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    });

    it('answers NOT_CONTROLLER (top level and every partition) off the controller, naming the controller', async () => {
      const elsewhere = brokerOf(viewOf(7), fake);
      const r = await call(elsewhere, alterReassignments, 0, {
        timeoutMs: 5000,
        topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, replicas: [3] }, { partitionIndex: 1, replicas: null }] }],
      });
      expect(r.errorCode).to.equal(ErrorCode.NOT_CONTROLLER);
      expect(r.errorMessage).to.match(/broker 7 is the active controller/);
      expect(r.responses[0]!.partitions.map((p) => p.errorCode)).to.deep.equal([ErrorCode.NOT_CONTROLLER, ErrorCode.NOT_CONTROLLER]);
      expect(fake.reassignCalls).to.deep.equal([]);
    });

    it('answers NOT_CONTROLLER when the view names this broker but it has no controller (not ready)', async () => {
      const r = await call(brokerOf(viewOf(SELF), undefined), alterReassignments, 0, {
        timeoutMs: 5000,
        topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, replicas: [3] }] }],
      });
      expect(r.errorCode).to.equal(ErrorCode.NOT_CONTROLLER);
      expect(r.errorMessage).to.match(/not running yet/);
      expect(r.responses[0]!.partitions[0]!.errorCode).to.equal(ErrorCode.NOT_CONTROLLER);
    });

    it('answers REQUEST_TIMED_OUT for the forwarded partitions when the controller does not accept within TimeoutMs', async () => {
      fake.onReassign = () => never();
      const started = Date.now();
      const r = await call(onController, alterReassignments, 0, {
        timeoutMs: 50,
        topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, replicas: [3] }, { partitionIndex: 1, replicas: [] }] }],
      });
      expect(Date.now() - started, 'waited about TimeoutMs').to.be.at.least(45);
      const [p0, p1] = r.responses[0]!.partitions;
      expect(p0!.errorCode).to.equal(ErrorCode.REQUEST_TIMED_OUT);
      expect(p0!.errorMessage).to.match(/within 50 ms; it may still be applied/);
      expect(p1!.errorCode, 'a validation error stays what it is').to.equal(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    });

    it('turns a failing controller into the KafkaError code it threw, or UNKNOWN_SERVER_ERROR', async () => {
      const req = { timeoutMs: 5000, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, replicas: [3] }] }] };
      fake.onReassign = () => Promise.reject(new KafkaError(ErrorCode.NOT_CONTROLLER, 'deposed while appending'));
      const a = await call(onController, alterReassignments, 0, req);
      expect(a.responses[0]!.partitions[0]).to.deep.include({ errorCode: ErrorCode.NOT_CONTROLLER });
      expect(a.responses[0]!.partitions[0]!.errorMessage).to.match(/deposed while appending/);
      fake.onReassign = () => Promise.reject(new Error('disk on fire'));
      const b = await call(onController, alterReassignments, 0, req);
      expect(b.responses[0]!.partitions[0]).to.deep.include({ errorCode: ErrorCode.UNKNOWN_SERVER_ERROR });
      expect(b.responses[0]!.partitions[0]!.errorMessage).to.match(/disk on fire/);
    });

    it('answers UNKNOWN_SERVER_ERROR for a partition the controller left out, and ignores results nobody asked for', async () => {
      fake.onReassign = () =>
        Promise.resolve([
          { topic: 'orders', partition: 1, errorCode: 0, errorMessage: null },
          { topic: 'other', partition: 9, errorCode: 0, errorMessage: null },
        ]);
      const r = await call(onController, alterReassignments, 0, {
        timeoutMs: 5000,
        topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, replicas: [3] }, { partitionIndex: 1, replicas: [3] }] }],
      });
      expect(r.responses).to.have.length(1);
      expect(r.responses[0]!.partitions.map((p) => p.errorCode)).to.deep.equal([ErrorCode.UNKNOWN_SERVER_ERROR, 0]);
      expect(r.responses[0]!.partitions[0]!.errorMessage).to.match(/no result for orders-0/);
    });
  });

  describe('ListPartitionReassignments v0', () => {
    const ongoing: OngoingReassignment[] = [
      { topic: 'a', partition: 0, replicas: [4, 3], addingReplicas: [4], removingReplicas: [3] },
      { topic: 'b', partition: 2, replicas: [5], addingReplicas: [5], removingReplicas: [] },
      { topic: 'a', partition: 1, replicas: [4], addingReplicas: [4], removingReplicas: [] },
    ];

    it('null Topics lists everything, grouped by topic', async () => {
      fake.ongoing = ongoing;
      const r = await call(onController, listReassignments, 0, { timeoutMs: 1000, topics: null });
      expect(fake.listCalls).to.deep.equal([undefined]);
      expect(r.errorCode).to.equal(0);
      expect(r.errorMessage).to.equal(null);
      expect(r.topics).to.deep.equal([
        {
          name: 'a',
          partitions: [
            { partitionIndex: 0, replicas: [4, 3], addingReplicas: [4], removingReplicas: [3] },
            { partitionIndex: 1, replicas: [4], addingReplicas: [4], removingReplicas: [] },
          ],
        },
        { name: 'b', partitions: [{ partitionIndex: 2, replicas: [5], addingReplicas: [5], removingReplicas: [] }] },
      ]);
    });

    it('named partitions are asked for once each; an empty answer is an empty list', async () => {
      const r = await call(onController, listReassignments, 0, {
        timeoutMs: 1000,
        topics: [{ name: 'a', partitionIndexes: [0, 1, 0] }, { name: 'b', partitionIndexes: [2] }],
      });
      expect(fake.listCalls).to.deep.equal([
        [
          { topic: 'a', partition: 0 },
          { topic: 'a', partition: 1 },
          { topic: 'b', partition: 2 },
        ],
      ]);
      expect(r.errorCode).to.equal(0);
      expect(r.topics).to.deep.equal([]);
    });

    it('answers top-level NOT_CONTROLLER off the controller', async () => {
      const r = await call(brokerOf(viewOf(-1), fake), listReassignments, 0, { timeoutMs: 1000, topics: null });
      expect(r.errorCode).to.equal(ErrorCode.NOT_CONTROLLER);
      expect(r.errorMessage).to.match(/no active controller right now/);
      expect(r.topics).to.deep.equal([]);
      expect(fake.listCalls).to.deep.equal([]);
    });
  });

  describe('ElectLeaders v0-v2', () => {
    it('v0 is a preferred election; v1/v2 pass the election type; per-partition results pass through', async () => {
      fake.onElect = (_t, ps) =>
        Promise.resolve(
          ps!.map((p) =>
            p.partition === 1
              ? { ...p, errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: 'already leads' }
              : { ...p, errorCode: 0, errorMessage: null },
          ),
        );
      const v0 = await call(onController, electLeaders, 0, { topicPartitions: [{ topic: 't', partitions: [0, 1] }], timeoutMs: 1000 });
      expect(v0.replicaElectionResults).to.deep.equal([
        {
          topic: 't',
          partitionResult: [
            { partitionId: 0, errorCode: 0, errorMessage: null },
            { partitionId: 1, errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: 'already leads' },
          ],
        },
      ]);
      for (const v of [1, 2]) {
        const r = await call(onController, electLeaders, v, { electionType: 1, topicPartitions: [{ topic: 't', partitions: [0] }], timeoutMs: 1000 });
        expect(r.errorCode).to.equal(0);
        expect(r.replicaElectionResults[0]!.partitionResult[0]!.errorCode).to.equal(0);
      }
      expect(fake.electCalls.map((c) => c.type)).to.deep.equal([0, 1, 1]);
      expect(fake.electCalls[0]!.partitions).to.deep.equal([
        { topic: 't', partition: 0 },
        { topic: 't', partition: 1 },
      ]);
    });

    it('merges a topic named twice and a partition named twice into one result each', async () => {
      const r = await call(onController, electLeaders, 2, {
        electionType: 0,
        topicPartitions: [
          { topic: 't', partitions: [0, 0] },
          { topic: 'u', partitions: [3] },
          { topic: 't', partitions: [1, 0] },
        ],
        timeoutMs: 1000,
      });
      expect(fake.electCalls[0]!.partitions).to.deep.equal([
        { topic: 't', partition: 0 },
        { topic: 't', partition: 1 },
        { topic: 'u', partition: 3 },
      ]);
      expect(r.replicaElectionResults.map((t) => [t.topic, t.partitionResult.map((p) => p.partitionId)])).to.deep.equal([
        ['t', [0, 1]],
        ['u', [3]],
      ]);
    });

    it('null TopicPartitions elects everywhere and leaves out the partitions that needed no election', async () => {
      fake.onElect = () =>
        Promise.resolve([
          { topic: 'a', partition: 0, errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: 'already' },
          { topic: 'a', partition: 1, errorCode: 0, errorMessage: null },
          { topic: 'b', partition: 0, errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, errorMessage: 'broker 4 is down' },
          { topic: 'c', partition: 0, errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: 'already' },
        ]);
      const r = await call(onController, electLeaders, 2, { electionType: 0, topicPartitions: null, timeoutMs: 1000 });
      expect(fake.electCalls).to.deep.equal([{ type: 0, partitions: undefined }]);
      expect(r.errorCode).to.equal(0);
      expect(r.replicaElectionResults).to.deep.equal([
        { topic: 'a', partitionResult: [{ partitionId: 1, errorCode: 0, errorMessage: null }] },
        { topic: 'b', partitionResult: [{ partitionId: 0, errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, errorMessage: 'broker 4 is down' }] },
      ]);
    });

    it('NOT_CONTROLLER goes to every named partition, and to the top level from v1', async () => {
      const elsewhere = brokerOf(viewOf(7), fake);
      const req = { electionType: 0, topicPartitions: [{ topic: 't', partitions: [0, 1] }], timeoutMs: 1000 };
      const v0 = await call(elsewhere, electLeaders, 0, req);
      expect(v0.errorCode, 'v0 has no top-level error code (decodes as 0)').to.equal(0);
      expect(v0.replicaElectionResults[0]!.partitionResult.map((p) => p.errorCode)).to.deep.equal([ErrorCode.NOT_CONTROLLER, ErrorCode.NOT_CONTROLLER]);
      expect(v0.replicaElectionResults[0]!.partitionResult[0]!.errorMessage).to.match(/broker 7 is the active controller/);
      const v2 = await call(elsewhere, electLeaders, 2, req);
      expect(v2.errorCode).to.equal(ErrorCode.NOT_CONTROLLER);
      const all = await call(elsewhere, electLeaders, 1, { electionType: 0, topicPartitions: null, timeoutMs: 1000 });
      expect(all.errorCode).to.equal(ErrorCode.NOT_CONTROLLER);
      expect(all.replicaElectionResults).to.deep.equal([]);
      expect(fake.electCalls).to.deep.equal([]);
    });

    it('refuses an unknown election type with INVALID_REQUEST', async () => {
      const r = await call(onController, electLeaders, 1, { electionType: 2, topicPartitions: [{ topic: 't', partitions: [0] }], timeoutMs: 1000 });
      expect(r.errorCode).to.equal(ErrorCode.INVALID_REQUEST);
      expect(r.replicaElectionResults[0]!.partitionResult[0]!.errorMessage).to.match(/unknown election type 2/);
      expect(fake.electCalls).to.deep.equal([]);
    });

    it('answers REQUEST_TIMED_OUT when the controller has not decided within TimeoutMs', async () => {
      fake.onElect = () => never();
      const r = await call(onController, electLeaders, 2, { electionType: 0, topicPartitions: [{ topic: 't', partitions: [0] }], timeoutMs: 30 });
      expect(r.errorCode).to.equal(ErrorCode.REQUEST_TIMED_OUT);
      expect(r.replicaElectionResults[0]!.partitionResult[0]).to.deep.include({ partitionId: 0, errorCode: ErrorCode.REQUEST_TIMED_OUT });
      expect(r.replicaElectionResults[0]!.partitionResult[0]!.errorMessage).to.match(/within 30 ms/);
    });
  });
});

describe('standalone ClusterController', () => {
  const topics = new Map([
    ['orders', { name: 'orders', partitions: [{}, {}] }],
    ['audit', { name: 'audit', partitions: [{}] }],
  ]);
  const controller = standaloneController({
    node: () => ({ nodeId: 1, host: '127.0.0.1', port: 9092, rack: null }),
    topics: { get: (n) => topics.get(n), list: () => [...topics.values()] },
  });

  it('reassign to [self] is done at once; any other broker is named as unknown; cancel finds nothing', async () => {
    const r = await controller.reassign([
      { topic: 'orders', partition: 0, replicas: [1] },
      { topic: 'orders', partition: 1, replicas: [1, 2] },
      { topic: 'audit', partition: 0, replicas: [5] },
      { topic: 'audit', partition: 0, replicas: null },
      { topic: 'audit', partition: 0, replicas: [] },
      { topic: 'orders', partition: 0, replicas: [1, 1] },
      { topic: 'orders', partition: 2, replicas: [1] },
      { topic: 'nope', partition: 0, replicas: [1] },
    ]);
    expect(r.map((x) => [x.topic, x.partition, x.errorCode])).to.deep.equal([
      ['orders', 0, 0],
      ['orders', 1, ErrorCode.INVALID_REPLICA_ASSIGNMENT],
      ['audit', 0, ErrorCode.INVALID_REPLICA_ASSIGNMENT],
      ['audit', 0, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS],
      ['audit', 0, ErrorCode.INVALID_REPLICA_ASSIGNMENT],
      ['orders', 0, ErrorCode.INVALID_REPLICA_ASSIGNMENT],
      ['orders', 2, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ['nope', 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    expect(r[0]!.errorMessage).to.equal(null);
    expect(r[1]!.errorMessage).to.match(/includes broker 2, but no such broker is registered: this standalone cluster has only broker 1/);
    expect(r[2]!.errorMessage).to.match(/includes broker 5/);
    expect(controller.listReassignments()).to.deep.equal([]);
    expect(controller.listReassignments([{ topic: 'orders', partition: 0 }])).to.deep.equal([]);
  });

  it('elections are never needed: preferred and unclean, named partitions or all of them', async () => {
    const all = await controller.electLeaders(0);
    expect(all.map((x) => [x.topic, x.partition, x.errorCode])).to.deep.equal([
      ['orders', 0, ErrorCode.ELECTION_NOT_NEEDED],
      ['orders', 1, ErrorCode.ELECTION_NOT_NEEDED],
      ['audit', 0, ErrorCode.ELECTION_NOT_NEEDED],
    ]);
    expect(all[0]!.errorMessage).to.match(/preferred replica, broker 1, already leads it/);
    const unclean = await controller.electLeaders(1, [{ topic: 'audit', partition: 0 }, { topic: 'audit', partition: 1 }]);
    expect(unclean.map((x) => x.errorCode)).to.deep.equal([ErrorCode.ELECTION_NOT_NEEDED, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    expect(unclean[0]!.errorMessage).to.match(/already has a live leader/);
  });
});
