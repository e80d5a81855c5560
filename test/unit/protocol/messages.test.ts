import { expect } from 'chai';
import { decodeMessage, encodeMessage, isFlexible } from '../../../broker/src/protocol/codec.js';
import { Reader } from '../../../broker/src/protocol/primitives/reader.js';
import { Writer } from '../../../broker/src/protocol/primitives/writer.js';
import { inRange, ZERO_UUID, type Api, type Field, type Fields, type MessageSchema } from '../../../broker/src/protocol/schema.js';
import { Produce } from '../../../broker/src/protocol/messages/00_produce.js';
import { Fetch } from '../../../broker/src/protocol/messages/01_fetch.js';
import { ListOffsets } from '../../../broker/src/protocol/messages/02_list_offsets.js';
import { Metadata } from '../../../broker/src/protocol/messages/03_metadata.js';
import { CreateTopics } from '../../../broker/src/protocol/messages/19_create_topics.js';
import { DeleteTopics } from '../../../broker/src/protocol/messages/20_delete_topics.js';
import { DeleteRecords } from '../../../broker/src/protocol/messages/21_delete_records.js';
import { InitProducerId } from '../../../broker/src/protocol/messages/22_init_producer_id.js';
import { OffsetForLeaderEpoch } from '../../../broker/src/protocol/messages/23_offset_for_leader_epoch.js';
import { DescribeConfigs } from '../../../broker/src/protocol/messages/32_describe_configs.js';
import { AlterConfigs } from '../../../broker/src/protocol/messages/33_alter_configs.js';
import { CreatePartitions } from '../../../broker/src/protocol/messages/37_create_partitions.js';
import { ElectLeaders } from '../../../broker/src/protocol/messages/43_elect_leaders.js';
import { IncrementalAlterConfigs } from '../../../broker/src/protocol/messages/44_incremental_alter_configs.js';
import { AlterPartitionReassignments } from '../../../broker/src/protocol/messages/45_alter_partition_reassignments.js';
import { ListPartitionReassignments } from '../../../broker/src/protocol/messages/46_list_partition_reassignments.js';
import { DescribeCluster } from '../../../broker/src/protocol/messages/60_describe_cluster.js';

type Value = Record<string, unknown>;

function encode(schema: MessageSchema, version: number, value: Value): Buffer {
  const w = new Writer();
  encodeMessage(schema, version, value, w);
  return w.toBuffer();
}

function roundTrip(schema: MessageSchema, version: number, value: Value): Value {
  const r = new Reader(encode(schema, version, value));
  const out = decodeMessage(schema, version, r) as Value;
  expect(r.remaining, `${schema.name} v${version}: bytes left after decode`).to.equal(0);
  return out;
}

/**
 * What a decode must return for `value` at `version`, computed independently of the codec: fields
 * that do not exist in the version (or tagged fields in a non-flexible version) fall back to their
 * defaults; everything else survives unchanged.
 */
function expected(fields: Fields, value: Value, version: number, flexible: boolean): Value {
  const out: Value = {};
  for (const [name, field] of Object.entries(fields)) {
    const onWire = inRange(field.versions, version) && (field.tag === undefined || flexible);
    const v = value[name];
    out[name] = !onWire || v === undefined ? field.defaultValue() : expectedValue(field, v, version, flexible);
  }
  return out;
}

function expectedValue(field: Field<unknown>, v: unknown, version: number, flexible: boolean): unknown {
  if (v === null) return null;
  if (field.kind === 'struct') return expected(field.fields!, v as Value, version, flexible);
  if (field.kind === 'array' && field.element!.kind === 'struct') {
    return (v as Value[]).map((item) => expected(field.element!.fields!, item, version, flexible));
  }
  return v;
}

/** Lowest, a middle, the first flexible and the highest version, without duplicates. */
function versionsToTest(schema: MessageSchema): number[] {
  const { min, max } = schema.valid;
  const picks = [min, Math.floor((min + max) / 2), max];
  if (inRange(schema.valid, schema.flexible.min)) picks.push(schema.flexible.min);
  return [...new Set(picks)].sort((a, b) => a - b);
}

interface Case {
  api: Api;
  /** A realistic request for the version (some values are only legal from some version on). */
  request: (v: number) => Value;
  response: (v: number) => Value;
  /** Extra assertions on decoded messages, for fields whose behaviour matters to the broker. */
  checkRequest?: (out: Value, v: number) => void;
  checkResponse?: (out: Value, v: number) => void;
}

const TOPIC_ID = '6f1c2b3a4d5e4f60718293a4b5c6d7e8';
const batch = (n: number) => Buffer.from(Array.from({ length: 61 + n }, (_, i) => (i * 7 + n) & 0xff));

const cases: Case[] = [
  {
    api: Produce,
    request: (v) => ({
      transactionalId: v >= 3 ? 'txn-orders' : null,
      acks: -1,
      timeoutMs: 30000,
      topicData: [
        { name: 'orders', partitionData: [{ index: 0, records: batch(1) }, { index: 3, records: batch(2) }] },
        { name: 'payments', partitionData: [{ index: 1, records: null }] },
      ],
    }),
    response: () => ({
      responses: [
        {
          name: 'orders',
          partitionResponses: [
            { index: 0, errorCode: 0, baseOffset: 1200n, logAppendTimeMs: 1700000000000n, logStartOffset: 100n },
            {
              index: 3,
              errorCode: 6,
              baseOffset: -1n,
              recordErrors: [{ batchIndex: 2, batchIndexErrorMessage: 'record too large' }],
              errorMessage: 'not leader',
              currentLeader: { leaderId: 2, leaderEpoch: 7 },
            },
          ],
        },
      ],
      throttleTimeMs: 5,
      nodeEndpoints: [{ nodeId: 2, host: 'broker-2.kafka', port: 9092, rack: 'az-b' }],
    }),
    checkRequest: (out, v) => {
      expect(out.transactionalId).to.equal(v >= 3 ? 'txn-orders' : null);
    },
    checkResponse: (out, v) => {
      const p = (out.responses as Value[])[0]!.partitionResponses as Value[];
      expect(p[0]!.logAppendTimeMs).to.equal(v >= 2 ? 1700000000000n : -1n);
      expect(p[1]!.currentLeader).to.deep.equal(v >= 10 ? { leaderId: 2, leaderEpoch: 7 } : { leaderId: -1, leaderEpoch: -1 });
      expect(out.nodeEndpoints).to.have.length(v >= 10 ? 1 : 0);
    },
  },
  {
    api: Fetch,
    request: (v) => ({
      clusterId: 'cluster-a',
      replicaId: -1,
      replicaState: { replicaId: 3, replicaEpoch: 9n },
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 52428800,
      isolationLevel: 1,
      sessionId: 77,
      sessionEpoch: 4,
      topics: [
        {
          topic: 'orders',
          topicId: TOPIC_ID,
          partitions: [
            {
              partition: 0,
              currentLeaderEpoch: 5,
              fetchOffset: 1234n,
              lastFetchedEpoch: 5,
              logStartOffset: -1n,
              partitionMaxBytes: 1048576,
              replicaDirectoryId: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
            },
          ],
        },
      ],
      forgottenTopicsData: [{ topic: 'old', topicId: TOPIC_ID, partitions: [1, 2] }],
      rackId: 'az-a',
    }),
    response: (v) => ({
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 77,
      responses: [
        {
          topic: 'orders',
          topicId: TOPIC_ID,
          partitions: [
            {
              partitionIndex: 0,
              errorCode: 0,
              highWatermark: 2000n,
              lastStableOffset: 1990n,
              logStartOffset: 10n,
              divergingEpoch: { epoch: 4, endOffset: 1000n },
              currentLeader: { leaderId: 1, leaderEpoch: 5 },
              snapshotId: { endOffset: 900n, epoch: 3 },
              abortedTransactions: v >= 4 ? [{ producerId: 42n, firstOffset: 1500n }] : [],
              preferredReadReplica: 2,
              records: batch(3),
            },
            { partitionIndex: 1, errorCode: 1, highWatermark: -1n, abortedTransactions: v >= 4 ? null : [], records: null },
          ],
        },
      ],
      nodeEndpoints: [{ nodeId: 1, host: 'broker-1', port: 9092, rack: null }],
    }),
    checkRequest: (out, v) => {
      const t = (out.topics as Value[])[0]!;
      expect(t.topic).to.equal(v <= 12 ? 'orders' : '');
      expect(t.topicId).to.equal(v >= 13 ? TOPIC_ID : ZERO_UUID);
      expect(out.replicaId).to.equal(-1);
      expect(out.maxBytes).to.equal(v >= 3 ? 52428800 : 0x7fffffff);
      expect(out.replicaState).to.deep.equal(v >= 15 ? { replicaId: 3, replicaEpoch: 9n } : { replicaId: -1, replicaEpoch: -1n });
    },
    checkResponse: (out, v) => {
      const [p0, p1] = (out.responses as Value[])[0]!.partitions as Value[];
      expect(p0!.records).to.deep.equal(batch(3));
      expect(p1!.records).to.equal(null);
      expect(p1!.abortedTransactions).to.deep.equal(v >= 4 ? null : []);
      expect(p0!.snapshotId).to.deep.equal(v >= 12 ? { endOffset: 900n, epoch: 3 } : { endOffset: -1n, epoch: -1 });
    },
  },
  {
    api: ListOffsets,
    request: () => ({
      replicaId: -1,
      isolationLevel: 1,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, currentLeaderEpoch: 5, timestamp: -1n, maxNumOffsets: 1 }] }],
      timeoutMs: 10000,
    }),
    response: () => ({
      throttleTimeMs: 0,
      topics: [
        {
          name: 'orders',
          partitions: [{ partitionIndex: 0, errorCode: 0, oldStyleOffsets: [2000n], timestamp: -1n, offset: 2000n, leaderEpoch: 5 }],
        },
      ],
    }),
    checkResponse: (out, v) => {
      const p = ((out.topics as Value[])[0]!.partitions as Value[])[0]!;
      expect(p.oldStyleOffsets).to.deep.equal(v === 0 ? [2000n] : []);
      expect(p.offset).to.equal(v >= 1 ? 2000n : -1n);
    },
  },
  {
    api: Metadata,
    request: (v) => ({
      topics: v >= 1 ? null : [{ name: 'orders' }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: true,
      includeTopicAuthorizedOperations: true,
    }),
    response: (v) => ({
      throttleTimeMs: 0,
      brokers: [
        { nodeId: 1, host: 'broker-1', port: 9092, rack: 'az-a' },
        { nodeId: 2, host: 'broker-2', port: 9093, rack: null },
      ],
      clusterId: 'Qm9ndXNDbHVzdGVySWQ',
      controllerId: 1,
      topics: [
        {
          errorCode: 0,
          name: 'orders',
          topicId: TOPIC_ID,
          isInternal: false,
          partitions: [
            { errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 5, replicaNodes: [1, 2], isrNodes: [1], offlineReplicas: [2] },
          ],
          topicAuthorizedOperations: 3576,
        },
        { errorCode: 100, name: v >= 12 ? null : '', topicId: TOPIC_ID, partitions: [] },
      ],
      clusterAuthorizedOperations: 3576,
    }),
    checkRequest: (out, v) => {
      expect(out.topics).to.deep.equal(v >= 1 ? null : [{ topicId: ZERO_UUID, name: 'orders' }]);
      expect(out.allowAutoTopicCreation).to.equal(v < 4);
    },
    checkResponse: (out, v) => {
      expect(out.controllerId).to.equal(v >= 1 ? 1 : -1);
      expect(out.clusterAuthorizedOperations).to.equal(v >= 8 && v <= 10 ? 3576 : -2147483648);
      expect(((out.topics as Value[])[1]!).name).to.equal(v >= 12 ? null : '');
    },
  },
  {
    api: CreateTopics,
    request: (v) => ({
      topics: [
        {
          name: 'orders',
          numPartitions: 6,
          replicationFactor: 1,
          assignments: [],
          configs: [
            { name: 'retention.ms', value: '86400000' },
            { name: 'cleanup.policy', value: null },
          ],
        },
        { name: 'placed', numPartitions: v >= 4 ? -1 : 1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }] },
      ],
      timeoutMs: 30000,
      validateOnly: true,
    }),
    response: () => ({
      throttleTimeMs: 0,
      topics: [
        {
          name: 'orders',
          topicId: TOPIC_ID,
          errorCode: 0,
          errorMessage: null,
          topicConfigErrorCode: 29,
          numPartitions: 6,
          replicationFactor: 1,
          configs: [{ name: 'retention.ms', value: '86400000', readOnly: false, configSource: 1, isSensitive: false }],
        },
        { name: 'dup', errorCode: 36, errorMessage: 'Topic already exists.', configs: null },
      ],
    }),
    checkRequest: (out, v) => {
      expect(out.validateOnly).to.equal(v >= 1);
    },
    checkResponse: (out, v) => {
      const [t0, t1] = out.topics as Value[];
      expect(t0!.topicConfigErrorCode).to.equal(v >= 5 ? 29 : 0);
      expect(t1!.errorMessage).to.equal(v >= 1 ? 'Topic already exists.' : '');
      expect(t1!.configs).to.deep.equal(v >= 5 ? null : []);
    },
  },
  {
    api: DeleteTopics,
    request: () => ({
      topics: [
        { name: 'orders', topicId: ZERO_UUID },
        { name: null, topicId: TOPIC_ID },
      ],
      topicNames: ['orders', 'payments'],
      timeoutMs: 30000,
    }),
    response: (v) => ({
      throttleTimeMs: 0,
      responses: [
        { name: 'orders', topicId: TOPIC_ID, errorCode: 0, errorMessage: null },
        { name: v >= 6 ? null : 'gone', topicId: TOPIC_ID, errorCode: 100, errorMessage: 'unknown topic id' },
      ],
    }),
    checkRequest: (out, v) => {
      expect(out.topicNames).to.deep.equal(v <= 5 ? ['orders', 'payments'] : []);
      expect(out.topics).to.have.length(v >= 6 ? 2 : 0);
    },
  },
  {
    api: DeleteRecords,
    request: () => ({ topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, offset: 500n }, { partitionIndex: 1, offset: -1n }] }], timeoutMs: 30000 }),
    response: () => ({ throttleTimeMs: 0, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, lowWatermark: 500n, errorCode: 0 }] }] }),
  },
  {
    api: InitProducerId,
    request: () => ({ transactionalId: 'txn-orders', transactionTimeoutMs: 60000, producerId: 4000n, producerEpoch: 3 }),
    response: () => ({ throttleTimeMs: 0, errorCode: 0, producerId: 4000n, producerEpoch: 4 }),
    checkRequest: (out, v) => {
      expect(out.producerId).to.equal(v >= 3 ? 4000n : -1n);
      expect(out.producerEpoch).to.equal(v >= 3 ? 3 : -1);
    },
  },
  {
    api: OffsetForLeaderEpoch,
    request: () => ({ replicaId: -1, topics: [{ topic: 'orders', partitions: [{ partition: 0, currentLeaderEpoch: 5, leaderEpoch: 4 }] }] }),
    response: () => ({
      throttleTimeMs: 0,
      topics: [{ topic: 'orders', partitions: [{ errorCode: 0, partition: 0, leaderEpoch: 4, endOffset: 1000n }] }],
    }),
    checkRequest: (out, v) => {
      expect(out.replicaId).to.equal(v >= 3 ? -1 : -2);
    },
  },
  {
    api: DescribeConfigs,
    request: () => ({
      resources: [
        { resourceType: 2, resourceName: 'orders', configurationKeys: ['retention.ms'] },
        { resourceType: 4, resourceName: '1', configurationKeys: null },
      ],
      includeSynonyms: true,
      includeDocumentation: true,
    }),
    response: () => ({
      throttleTimeMs: 0,
      results: [
        {
          errorCode: 0,
          errorMessage: null,
          resourceType: 2,
          resourceName: 'orders',
          configs: [
            {
              name: 'retention.ms',
              value: '86400000',
              readOnly: false,
              isDefault: false,
              configSource: 1,
              isSensitive: false,
              synonyms: [{ name: 'log.retention.ms', value: '604800000', source: 5 }],
              configType: 5,
              documentation: null,
            },
            { name: 'ssl.key.password', value: null, readOnly: true, isDefault: true, configSource: 5, isSensitive: true },
          ],
        },
      ],
    }),
    checkResponse: (out, v) => {
      const c = ((out.results as Value[])[0]!.configs as Value[])[0]!;
      expect(c.configSource).to.equal(v >= 1 ? 1 : -1);
      expect(c.synonyms).to.have.length(v >= 1 ? 1 : 0);
      expect(c.documentation).to.equal(v >= 3 ? null : '');
    },
  },
  {
    api: AlterConfigs,
    request: () => ({
      resources: [
        {
          resourceType: 2,
          resourceName: 'orders',
          configs: [
            { name: 'retention.ms', value: '3600000' },
            { name: 'segment.bytes', value: null },
          ],
        },
      ],
      validateOnly: false,
    }),
    response: () => ({ throttleTimeMs: 0, responses: [{ errorCode: 40, errorMessage: 'invalid config', resourceType: 2, resourceName: 'orders' }] }),
  },
  {
    api: CreatePartitions,
    request: () => ({
      topics: [
        { name: 'orders', count: 8, assignments: [{ brokerIds: [1, 2] }, { brokerIds: [2, 1] }] },
        { name: 'payments', count: 4, assignments: null },
      ],
      timeoutMs: 30000,
      validateOnly: false,
    }),
    response: () => ({
      throttleTimeMs: 0,
      results: [
        { name: 'orders', errorCode: 0, errorMessage: null },
        { name: 'payments', errorCode: 37, errorMessage: 'count must grow' },
      ],
    }),
  },
  {
    api: ElectLeaders,
    request: () => ({ electionType: 1, topicPartitions: [{ topic: 'orders', partitions: [0, 1, 2] }], timeoutMs: 30000 }),
    response: () => ({
      throttleTimeMs: 0,
      errorCode: 0,
      replicaElectionResults: [
        {
          topic: 'orders',
          partitionResult: [
            { partitionId: 0, errorCode: 0, errorMessage: null },
            { partitionId: 1, errorCode: 84, errorMessage: 'election not needed' },
          ],
        },
      ],
    }),
    checkRequest: (out, v) => {
      expect(out.electionType).to.equal(v >= 1 ? 1 : 0);
    },
  },
  {
    api: IncrementalAlterConfigs,
    request: () => ({
      resources: [
        {
          resourceType: 2,
          resourceName: 'orders',
          configs: [
            { name: 'retention.ms', configOperation: 0, value: '3600000' },
            { name: 'cleanup.policy', configOperation: 1, value: null },
          ],
        },
      ],
      validateOnly: true,
    }),
    response: () => ({ throttleTimeMs: 3, responses: [{ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 'orders' }] }),
  },
  {
    api: AlterPartitionReassignments,
    request: () => ({
      timeoutMs: 30000,
      topics: [
        {
          name: 'orders',
          partitions: [
            { partitionIndex: 0, replicas: [2, 3] },
            { partitionIndex: 1, replicas: null },
          ],
        },
      ],
    }),
    response: () => ({
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      responses: [{ name: 'orders', partitions: [{ partitionIndex: 1, errorCode: 85, errorMessage: 'no reassignment in progress' }] }],
    }),
  },
  {
    api: ListPartitionReassignments,
    request: () => ({ timeoutMs: 30000, topics: [{ name: 'orders', partitionIndexes: [0, 1] }] }),
    response: () => ({
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, replicas: [1, 2, 3], addingReplicas: [3], removingReplicas: [1] }] }],
    }),
  },
  {
    api: DescribeCluster,
    request: () => ({ includeClusterAuthorizedOperations: true, endpointType: 2 }),
    response: () => ({
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      endpointType: 2,
      clusterId: 'Qm9ndXNDbHVzdGVySWQ',
      controllerId: 1,
      brokers: [
        { brokerId: 1, host: 'broker-1', port: 9092, rack: 'az-a' },
        { brokerId: 2, host: 'broker-2', port: 9092, rack: null },
      ],
      clusterAuthorizedOperations: 3576,
    }),
    checkRequest: (out, v) => {
      expect(out.endpointType).to.equal(v >= 1 ? 2 : 1);
    },
  },
];

describe('protocol message definitions', () => {
  for (const c of cases) {
    for (const side of ['request', 'response'] as const) {
      const schema = c.api[side];
      const build = side === 'request' ? c.request : c.response;
      const check = side === 'request' ? c.checkRequest : c.checkResponse;
      for (const v of versionsToTest(schema)) {
        it(`${schema.name} v${v} round-trips`, () => {
          const value = build(v);
          const out = roundTrip(schema, v, value);
          expect(out).to.deep.equal(expected(schema.fields, value, v, isFlexible(schema, v)));
          check?.(out, v);
        });
      }
    }
  }

  it('round-trips every valid version of every API, with the per-API checks', () => {
    for (const c of cases) {
      for (let v = c.api.request.valid.min; v <= c.api.request.valid.max; v++) {
        const req = roundTrip(c.api.request, v, c.request(v));
        expect(req, `${c.api.name} request v${v}`).to.deep.equal(expected(c.api.request.fields, c.request(v), v, isFlexible(c.api.request, v)));
        c.checkRequest?.(req, v);
        const res = roundTrip(c.api.response, v, c.response(v));
        expect(res, `${c.api.name} response v${v}`).to.deep.equal(expected(c.api.response.fields, c.response(v), v, isFlexible(c.api.response, v)));
        c.checkResponse?.(res, v);
      }
    }
  });

  it('rejects null where a version does not allow it (Metadata v0 topics)', () => {
    expect(() => encode(Metadata.request, 0, { topics: null })).to.throw(/not nullable in version 0/);
  });
});

/** Hand-built wire bytes, field by field, following the Kafka protocol layout. */
const hex = (...parts: string[]) => parts.join('');
const i16 = (n: number) => (n & 0xffff).toString(16).padStart(4, '0');
const i32 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
const i64 = (n: bigint) => BigInt.asUintN(64, n).toString(16).padStart(16, '0');
const str = (s: string) => i16(Buffer.byteLength(s)) + Buffer.from(s).toString('hex');
const cstr = (s: string) => (Buffer.byteLength(s) + 1).toString(16).padStart(2, '0') + Buffer.from(s).toString('hex');
const ulen = (n: number) => (n + 1).toString(16).padStart(2, '0'); // compact length, < 127 here

describe('protocol golden bytes', () => {
  it('Produce v3 request matches the classic layout', () => {
    const records = Buffer.from('00000000000000000000003a', 'hex');
    const value = {
      transactionalId: null,
      acks: -1,
      timeoutMs: 1500,
      topicData: [{ name: 'orders', partitionData: [{ index: 2, records }] }],
    };
    const golden = hex(
      'ffff', // transactionalId: null nullable string
      i16(-1), // acks
      i32(1500), // timeoutMs
      i32(1), // topicData count
      str('orders'),
      i32(1), // partitionData count
      i32(2), // index
      i32(records.length) + records.toString('hex'), // records as int32-length bytes
    );
    expect(encode(Produce.request, 3, value).toString('hex')).to.equal(golden);
    expect(decodeMessage(Produce.request, 3, new Reader(Buffer.from(golden, 'hex')))).to.deep.equal(value);
  });

  it('Metadata v0 response matches the classic layout', () => {
    const value = {
      brokers: [{ nodeId: 1, host: 'kafka', port: 9092 }],
      topics: [
        {
          errorCode: 0,
          name: 'orders',
          partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, replicaNodes: [1], isrNodes: [1] }],
        },
      ],
    };
    const golden = hex(
      i32(1), // brokers
      i32(1) + str('kafka') + i32(9092),
      i32(1), // topics
      i16(0) + str('orders'),
      i32(1), // partitions
      i16(0) + i32(0) + i32(1),
      i32(1) + i32(1), // replicaNodes
      i32(1) + i32(1), // isrNodes
    );
    expect(encode(Metadata.response, 0, value).toString('hex')).to.equal(golden);
    const out = decodeMessage(Metadata.response, 0, new Reader(Buffer.from(golden, 'hex')));
    expect(out.brokers).to.deep.equal([{ nodeId: 1, host: 'kafka', port: 9092, rack: null }]);
    expect(out.topics[0]!.partitions[0]!.isrNodes).to.deep.equal([1]);
    expect(out.clusterId).to.equal(null);
    expect(out.controllerId).to.equal(-1);
  });

  it('Metadata v9 response matches the flexible layout', () => {
    const value = {
      throttleTimeMs: 0,
      brokers: [{ nodeId: 1, host: 'kafka', port: 9092, rack: null }],
      clusterId: 'c1',
      controllerId: 1,
      topics: [
        {
          errorCode: 0,
          name: 'orders',
          isInternal: false,
          partitions: [
            { errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 3, replicaNodes: [1, 2], isrNodes: [1], offlineReplicas: [] },
          ],
          topicAuthorizedOperations: -2147483648,
        },
      ],
      clusterAuthorizedOperations: -2147483648,
    };
    const golden = hex(
      i32(0), // throttleTimeMs
      ulen(1), // brokers: compact array
      i32(1) + cstr('kafka') + i32(9092) + '00' + '00', // rack null (compact 0), empty tag section
      cstr('c1'), // clusterId
      i32(1), // controllerId
      ulen(1), // topics
      i16(0) + cstr('orders') + '00', // errorCode, name, isInternal false
      ulen(1), // partitions
      i16(0) + i32(0) + i32(1) + i32(3), // errorCode, partitionIndex, leaderId, leaderEpoch
      ulen(2) + i32(1) + i32(2), // replicaNodes
      ulen(1) + i32(1), // isrNodes
      ulen(0), // offlineReplicas
      '00', // partition tags
      i32(-2147483648) + '00', // topicAuthorizedOperations, topic tags
      i32(-2147483648), // clusterAuthorizedOperations (v8-10)
      '00', // message tags
    );
    expect(encode(Metadata.response, 9, value).toString('hex')).to.equal(golden);
    const out = decodeMessage(Metadata.response, 9, new Reader(Buffer.from(golden, 'hex')));
    expect(out).to.deep.equal({
      ...value,
      topics: [{ ...value.topics[0]!, topicId: ZERO_UUID }],
    });
  });

  it('Produce v10 response writes currentLeader and nodeEndpoints as tagged fields', () => {
    const value = {
      responses: [
        {
          name: 't',
          partitionResponses: [
            { index: 0, errorCode: 6, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, currentLeader: { leaderId: 2, leaderEpoch: 7 } },
            { index: 1, errorCode: 0, baseOffset: 5n, logAppendTimeMs: -1n, logStartOffset: 0n },
          ],
        },
      ],
      throttleTimeMs: 0,
      nodeEndpoints: [{ nodeId: 2, host: 'b2', port: 9092, rack: null }],
    };
    const partitionHead = (index: number, err: number, base: bigint, start: bigint) =>
      i32(index) + i16(err) + i64(base) + i64(-1n) + i64(start) + ulen(0) + '00'; // recordErrors empty, errorMessage null
    const golden = hex(
      ulen(1) + cstr('t') + ulen(2),
      partitionHead(0, 6, -1n, -1n),
      '01' + '00' + '09' + i32(2) + i32(7) + '00', // 1 tag: tag 0, 9 bytes: leaderId, leaderEpoch, struct tags
      partitionHead(1, 0, 5n, 0n),
      '00', // default currentLeader is omitted
      '00', // topic tags
      i32(0), // throttleTimeMs
      '01' + '00' + '0e' + ulen(1) + i32(2) + cstr('b2') + i32(9092) + '00' + '00', // nodeEndpoints (tag 0, 14 bytes)
    );
    expect(encode(Produce.response, 10, value).toString('hex')).to.equal(golden);
    const out = decodeMessage(Produce.response, 10, new Reader(Buffer.from(golden, 'hex')));
    expect(out.responses[0]!.partitionResponses[1]!.currentLeader).to.deep.equal({ leaderId: -1, leaderEpoch: -1 });
    expect(out.nodeEndpoints).to.deep.equal(value.nodeEndpoints);
  });
});
