/**
 * Topic administration, offsets and retention through the wire protocol, against a real broker
 * process: the behaviours Kafka clients and tools rely on beyond produce/consume.
 */
import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import { ErrorCode } from '../../broker/src/protocol/errors.js';
import { CreatePartitions } from '../../broker/src/protocol/messages/37_create_partitions.js';
import { CreateTopics } from '../../broker/src/protocol/messages/19_create_topics.js';
import { DeleteRecords } from '../../broker/src/protocol/messages/21_delete_records.js';
import { DeleteTopics } from '../../broker/src/protocol/messages/20_delete_topics.js';
import { DescribeCluster } from '../../broker/src/protocol/messages/60_describe_cluster.js';
import { DescribeConfigs } from '../../broker/src/protocol/messages/32_describe_configs.js';
import { DescribeTopicPartitions } from '../../broker/src/protocol/messages/75_describe_topic_partitions.js';
import { Fetch } from '../../broker/src/protocol/messages/01_fetch.js';
import { IncrementalAlterConfigs } from '../../broker/src/protocol/messages/44_incremental_alter_configs.js';
import { ListOffsets } from '../../broker/src/protocol/messages/02_list_offsets.js';
import { Metadata } from '../../broker/src/protocol/messages/03_metadata.js';
import { Produce } from '../../broker/src/protocol/messages/00_produce.js';
import { readBatchHeader } from '../../broker/src/protocol/record-batch.js';
import { removeDir, startBroker, tempDir, waitFor, type Broker } from '../helpers/broker.js';
import { buildBatch, readValues } from '../helpers/record-batch-builder.js';
import { WireClient } from '../helpers/wire-client.js';

describe('topics, offsets and retention (real broker process)', function () {
  this.timeout(120_000);
  let broker: Broker;
  let c: WireClient;
  let configDir: string;

  before(async () => {
    configDir = await tempDir('automq-config-');
    // Fast retention checks and no auto-creation, to observe both.
    await writeFile(`${configDir}/broker.yaml`, 'log.retention.check.interval.ms: 200\nauto.create.topics.enable: false\nnum.partitions: 2\n');
    broker = await startBroker({ extraArgs: ['--config', `${configDir}/broker.yaml`] });
    c = await WireClient.connect(broker.port);
  });

  after(async () => {
    c?.close();
    await broker?.stop();
    await removeDir(configDir);
  });

  async function create(name: string, numPartitions: number, configs: { name: string; value: string }[] = [], validateOnly = false) {
    const r = await c.request(CreateTopics, 7, { topics: [{ name, numPartitions, replicationFactor: -1, configs }], timeoutMs: 10_000, validateOnly });
    return r.topics[0]!;
  }

  async function produce(topic: string, partition: number, batch: Buffer) {
    const r = await c.request(Produce, 9, { acks: -1, timeoutMs: 10_000, topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }] });
    return r.responses[0]!.partitionResponses[0]!;
  }

  async function fetchFrom(topic: string, partition: number, offset: number) {
    const r = await c.request(Fetch, 12, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 1,
      topics: [{ topic, partitions: [{ partition, fetchOffset: BigInt(offset), partitionMaxBytes: 1 << 20 }] }],
    });
    return r.responses[0]!.partitions[0]!;
  }

  async function listOffset(topic: string, partition: number, timestamp: bigint, version = 7) {
    const r = await c.request(ListOffsets, version, { replicaId: -1, topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp }] }] });
    return r.topics[0]!.partitions[0]!;
  }

  it('creates topics with defaults, validates only when asked, and refuses duplicates and bad configs', async () => {
    const dry = await create('dry-run', 3, [], true);
    expect(dry.errorCode).to.equal(0);
    const meta0 = await c.request(Metadata, 12, { topics: [{ name: 'dry-run' }], allowAutoTopicCreation: true });
    expect(meta0.topics[0]!.errorCode, 'validateOnly must not create').to.equal(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);

    const t = await create('admin-defaults', -1);
    expect(t.errorCode).to.equal(0);
    expect(t.numPartitions).to.equal(2); // num.partitions from --config
    expect(t.topicId).to.match(/^[0-9a-f]{32}$/);
    expect((await create('admin-defaults', 1)).errorCode).to.equal(ErrorCode.TOPIC_ALREADY_EXISTS);
    const compact = await create('compacted', 1, [{ name: 'cleanup.policy', value: 'compact' }]);
    expect(compact.errorCode).to.equal(ErrorCode.INVALID_CONFIG);
    expect(compact.errorMessage).to.match(/delete/);
    expect((await create('unknown-config', 1, [{ name: 'no.such.config', value: '1' }])).errorCode).to.equal(ErrorCode.INVALID_CONFIG);
    expect((await create('zero-partitions', 0)).errorCode).to.equal(ErrorCode.INVALID_PARTITIONS);
  });

  it('does not auto-create when auto.create.topics.enable is false, and finds topics by id (Metadata v12)', async () => {
    const m = await c.request(Metadata, 12, { topics: [{ name: 'not-there' }], allowAutoTopicCreation: true });
    expect(m.topics[0]!.errorCode).to.equal(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const all = await c.request(Metadata, 12, { topics: null });
    const t = all.topics.find((x) => x.name === 'admin-defaults')!;
    const byId = await c.request(Metadata, 12, { topics: [{ name: null, topicId: t.topicId }] });
    expect(byId.topics[0]!.name).to.equal('admin-defaults');
    expect(byId.topics[0]!.partitions).to.have.length(2);
    expect(byId.topics[0]!.partitions[0]!.leaderId).to.equal(all.brokers[0]!.nodeId);
  });

  it('grows partitions and refuses to shrink them', async () => {
    const grow = await c.request(CreatePartitions, 3, { topics: [{ name: 'admin-defaults', count: 4, assignments: null }], timeoutMs: 10_000 });
    expect(grow.results[0]!.errorCode).to.equal(0);
    const shrink = await c.request(CreatePartitions, 3, { topics: [{ name: 'admin-defaults', count: 3, assignments: null }], timeoutMs: 10_000 });
    expect(shrink.results[0]!.errorCode).to.equal(ErrorCode.INVALID_PARTITIONS);
    const m = await c.request(Metadata, 9, { topics: [{ name: 'admin-defaults' }] });
    expect(m.topics[0]!.partitions).to.have.length(4);
    expect((await produce('admin-defaults', 3, buildBatch([{ value: Buffer.from('new partition') }]))).errorCode).to.equal(0);
  });

  it('alters configs incrementally and reports their source', async () => {
    const alter = await c.request(IncrementalAlterConfigs, 1, {
      resources: [{ resourceType: 2, resourceName: 'admin-defaults', configs: [{ name: 'retention.ms', configOperation: 0, value: '3600000' }] }],
    });
    expect(alter.responses[0]!.errorCode).to.equal(0);
    const d = await c.request(DescribeConfigs, 4, { resources: [{ resourceType: 2, resourceName: 'admin-defaults', configurationKeys: ['retention.ms', 'max.message.bytes'] }] });
    const byName = new Map(d.results[0]!.configs.map((x) => [x.name, x]));
    expect(byName.get('retention.ms')).to.include({ value: '3600000', configSource: 1 });
    expect(byName.get('max.message.bytes')).to.include({ value: '1048588', configSource: 5 });
    const bad = await c.request(IncrementalAlterConfigs, 1, {
      resources: [{ resourceType: 2, resourceName: 'admin-defaults', configs: [{ name: 'retention.ms', configOperation: 0, value: 'soon' }] }],
    });
    expect(bad.responses[0]!.errorCode).to.equal(ErrorCode.INVALID_CONFIG);
  });

  it('lists offsets: earliest, latest, by timestamp, max timestamp, and v0 form', async () => {
    expect((await create('timed', 1)).errorCode).to.equal(0);
    for (const ts of [1000, 2000, 3000]) {
      const r = await produce('timed', 0, buildBatch([{ value: Buffer.from(`at-${ts}`) }, { value: Buffer.from(`at-${ts}b`), timestamp: ts + 10 }], { baseTimestamp: ts }));
      expect(r.errorCode).to.equal(0);
    }
    expect((await listOffset('timed', 0, -2n)).offset).to.equal(0n);
    expect((await listOffset('timed', 0, -1n)).offset).to.equal(6n);
    expect(await listOffset('timed', 0, 1500n)).to.include({ offset: 2n, timestamp: 2000n });
    expect(await listOffset('timed', 0, 2005n)).to.include({ offset: 3n, timestamp: 2010n });
    expect((await listOffset('timed', 0, 9999n)).offset).to.equal(-1n);
    expect(await listOffset('timed', 0, -3n)).to.include({ offset: 5n, timestamp: 3010n });
    const v0 = await listOffset('timed', 0, -1n, 0);
    expect(v0.oldStyleOffsets).to.deep.equal([6n]);
  });

  it('deletes records: the log start moves and older offsets are out of range', async () => {
    const r = await c.request(DeleteRecords, 2, { topics: [{ name: 'timed', partitions: [{ partitionIndex: 0, offset: 4n }] }], timeoutMs: 10_000 });
    expect(r.topics[0]!.partitions[0]).to.include({ errorCode: 0, lowWatermark: 4n });
    expect((await listOffset('timed', 0, -2n)).offset).to.equal(4n);
    const below = await fetchFrom('timed', 0, 1);
    expect(below.errorCode).to.equal(ErrorCode.OFFSET_OUT_OF_RANGE);
    expect(below.logStartOffset).to.equal(4n);
    const from = await fetchFrom('timed', 0, 4);
    expect(readValues(from.records!).map((x) => x.value)).to.deep.equal(['at-3000', 'at-3000b']);
    const past = await c.request(DeleteRecords, 2, { topics: [{ name: 'timed', partitions: [{ partitionIndex: 0, offset: 100n }] }], timeoutMs: 10_000 });
    expect(past.topics[0]!.partitions[0]!.errorCode).to.equal(ErrorCode.OFFSET_OUT_OF_RANGE);
  });

  it('stamps LogAppendTime topics with the broker time', async () => {
    expect((await create('append-time', 1, [{ name: 'message.timestamp.type', value: 'LogAppendTime' }])).errorCode).to.equal(0);
    const before = Date.now();
    const r = await produce('append-time', 0, buildBatch([{ value: Buffer.from('x') }], { baseTimestamp: 5 }));
    expect(Number(r.logAppendTimeMs)).to.be.within(before - 1000, Date.now() + 1000);
    const f = await fetchFrom('append-time', 0, 0);
    const h = readBatchHeader(f.records!);
    expect(h.attributes & 0x08).to.equal(0x08);
    expect(h.maxTimestamp).to.equal(r.logAppendTimeMs);
  });

  it('applies retention.ms: old data goes, the log start moves forward', async () => {
    expect((await create('short-lived', 1, [{ name: 'retention.ms', value: '1' }])).errorCode).to.equal(0);
    for (let i = 0; i < 3; i++) expect((await produce('short-lived', 0, buildBatch([{ value: Buffer.from(`gone-${i}`) }]))).errorCode).to.equal(0);
    await waitFor(async () => (await listOffset('short-lived', 0, -2n)).offset > 0n, 30_000, 'retention to move the log start offset of short-lived-0');
    expect((await listOffset('short-lived', 0, -1n)).offset).to.equal(3n);
  });

  it('deletes topics by name and by id', async () => {
    expect((await create('doomed-a', 1)).errorCode).to.equal(0);
    const b = await create('doomed-b', 1);
    const r = await c.request(DeleteTopics, 6, { topics: [{ name: 'doomed-a' }, { name: null, topicId: b.topicId }], timeoutMs: 10_000 });
    expect(r.responses.map((x) => [x.name, x.errorCode])).to.deep.equal([
      ['doomed-a', 0],
      ['doomed-b', 0],
    ]);
    const again = await c.request(DeleteTopics, 5, { topicNames: ['doomed-a'], timeoutMs: 10_000 });
    expect(again.responses[0]!.errorCode).to.equal(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const m = await c.request(Metadata, 12, { topics: null });
    expect(m.topics.map((t) => t.name)).to.not.include.members(['doomed-a', 'doomed-b']);
  });

  it('describes the cluster and exposes per-partition load metrics', async () => {
    const d = await c.request(DescribeCluster, 1, {});
    expect(d.errorCode).to.equal(0);
    expect(d.brokers).to.have.length(1);
    expect(d.brokers[0]!.port).to.equal(broker.port);
    expect(d.controllerId).to.equal(d.brokers[0]!.brokerId);
    const text = await (await fetch(`http://127.0.0.1:${broker.metricsPort}/metrics`)).text();
    expect(text).to.match(/^kafka_partition_bytes_in_total\{topic="timed",partition="0"\} [1-9]/m);
    expect(text).to.match(/^kafka_partition_high_watermark\{topic="timed",partition="0"\} 6/m);
    expect(text).to.match(/^kafka_server_requests_total\{api="Produce",version="9"\} [1-9]/m);
    expect(text).to.match(/^s3stream_object_store_requests\{type="put"\} [1-9]/m);
  });

  it('pages DescribeTopicPartitions with a cursor', async () => {
    const first = await c.request(DescribeTopicPartitions, 0, { topics: [{ name: 'admin-defaults' }, { name: 'missing-topic' }], responsePartitionLimit: 3, cursor: null });
    expect(first.topics.map((t) => [t.name, t.errorCode, t.partitions.map((p) => p.partitionIndex)])).to.deep.equal([['admin-defaults', 0, [0, 1, 2]]]);
    expect(first.nextCursor).to.deep.equal({ topicName: 'admin-defaults', partitionIndex: 3 });
    const rest = await c.request(DescribeTopicPartitions, 0, { topics: [{ name: 'admin-defaults' }, { name: 'missing-topic' }], responsePartitionLimit: 3, cursor: first.nextCursor });
    expect(rest.topics.map((t) => [t.name, t.errorCode, t.partitions.map((p) => p.partitionIndex)])).to.deep.equal([
      ['admin-defaults', 0, [3]],
      ['missing-topic', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, []],
    ]);
    expect(rest.nextCursor).to.equal(null);
    expect(rest.topics[0]!.partitions[0]!.eligibleLeaderReplicas).to.deep.equal([]);
  });
});
