/**
 * Idempotent produce at the wire level: retried batches get their original offset, gaps and
 * stale epochs are refused, and the producer state survives a restart from the object store
 * (it is rebuilt from the partition's batches), so a retry after a broker crash is still
 * recognised.
 */
import { expect } from 'chai';
import { ErrorCode } from '../../broker/src/protocol/errors.js';
import { CreateTopics } from '../../broker/src/protocol/messages/19_create_topics.js';
import { Fetch } from '../../broker/src/protocol/messages/01_fetch.js';
import { InitProducerId } from '../../broker/src/protocol/messages/22_init_producer_id.js';
import { ListOffsets } from '../../broker/src/protocol/messages/02_list_offsets.js';
import { Produce } from '../../broker/src/protocol/messages/00_produce.js';
import { removeDir, startBroker, type Broker } from '../helpers/broker.js';
import { buildBatch, readValues } from '../helpers/record-batch-builder.js';
import { WireClient } from '../helpers/wire-client.js';

describe('idempotent produce (wire level, real broker process)', function () {
  this.timeout(120_000);
  let broker: Broker;
  let c: WireClient;
  let producerId: bigint;
  const leftovers: string[] = [];

  async function send(seq: number, epoch: number, values: string[], pid = producerId) {
    const batch = buildBatch(values.map((v) => ({ value: Buffer.from(v) })), { producerId: pid, producerEpoch: epoch, baseSequence: seq });
    const r = await c.request(Produce, 9, { acks: -1, timeoutMs: 10_000, topicData: [{ name: 'idem', partitionData: [{ index: 0, records: batch }] }] });
    return r.responses[0]!.partitionResponses[0]!;
  }

  async function allValues(): Promise<string[]> {
    const r = await c.request(Fetch, 12, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      topics: [{ topic: 'idem', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
    });
    return readValues(r.responses[0]!.partitions[0]!.records!).map((x) => x.value!);
  }

  before(async () => {
    broker = await startBroker();
    c = await WireClient.connect(broker.port);
    expect((await c.request(CreateTopics, 7, { topics: [{ name: 'idem', numPartitions: 1, replicationFactor: 1 }], timeoutMs: 10_000 })).topics[0]!.errorCode).to.equal(0);
    const init = await c.request(InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000 });
    expect(init.errorCode).to.equal(0);
    expect(init.producerEpoch).to.equal(0);
    producerId = init.producerId;
  });

  after(async () => {
    c?.close();
    await broker?.stop();
    for (const dir of leftovers) await removeDir(dir);
  });

  it('hands out distinct producer ids, and bumps the epoch on re-init with id and epoch (v3+)', async () => {
    const other = await c.request(InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000 });
    expect(other.producerId).to.not.equal(producerId);
    const bumped = await c.request(InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: other.producerId, producerEpoch: 0 });
    expect(bumped).to.include({ errorCode: 0, producerId: other.producerId, producerEpoch: 1 });
  });

  it('answers a retried batch with its original offset and appends it once', async () => {
    const first = await send(0, 0, ['a', 'b']);
    expect(first).to.include({ errorCode: 0, baseOffset: 0n });
    const retry = await send(0, 0, ['a', 'b']);
    expect(retry).to.include({ errorCode: 0, baseOffset: 0n });
    expect(await send(2, 0, ['c'])).to.include({ errorCode: 0, baseOffset: 2n });
    expect(await allValues()).to.deep.equal(['a', 'b', 'c']);
  });

  it('refuses a sequence gap with OUT_OF_ORDER_SEQUENCE_NUMBER', async () => {
    expect((await send(5, 0, ['gap'])).errorCode).to.equal(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  });

  it('refuses a stale epoch and a new epoch that does not start at 0', async () => {
    expect((await send(0, 1, ['epoch-1'])).errorCode).to.equal(0);
    expect((await send(3, 0, ['old-epoch'])).errorCode).to.equal(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect((await send(7, 2, ['bad-start'])).errorCode).to.equal(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(await allValues()).to.deep.equal(['a', 'b', 'c', 'epoch-1']);
  });

  it('still recognises a retry after a kill -9 and a restart with an empty data dir', async () => {
    expect(await send(1, 1, ['before-crash'])).to.include({ errorCode: 0, baseOffset: 4n });
    c.close();
    await broker.kill9();
    const store = broker.objectStoreDir;
    leftovers.push(store, broker.dataDir);
    broker = await startBroker({ objectStoreDir: store });
    c = await WireClient.connect(broker.port);
    const retry = await send(1, 1, ['before-crash']);
    expect(retry).to.include({ errorCode: 0, baseOffset: 4n });
    expect((await send(3, 1, ['gap-after-restart'])).errorCode).to.equal(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(await send(2, 1, ['after-restart'])).to.include({ errorCode: 0, baseOffset: 5n });
    expect(await allValues()).to.deep.equal(['a', 'b', 'c', 'epoch-1', 'before-crash', 'after-restart']);
  });

  it('after a graceful restart (state from the snapshot, not a full replay) keeps dedupe and the max timestamp', async () => {
    const ts = 4_102_444_800_000; // a timestamp no other batch here has
    const batch = buildBatch([{ value: Buffer.from('latest') }], { producerId, producerEpoch: 1, baseSequence: 3, baseTimestamp: ts });
    const produced = await c.request(Produce, 9, { acks: -1, timeoutMs: 10_000, topicData: [{ name: 'idem', partitionData: [{ index: 0, records: batch }] }] });
    expect(produced.responses[0]!.partitionResponses[0]).to.include({ errorCode: 0, baseOffset: 6n });
    c.close();
    const store = broker.objectStoreDir;
    leftovers.push(broker.dataDir);
    await broker.stop();
    broker = await startBroker({ objectStoreDir: store });
    c = await WireClient.connect(broker.port);
    expect(broker.logs().some((l) => l.includes('broker ready'))).to.equal(true);
    const retry = await send(3, 1, ['latest']);
    expect(retry).to.include({ errorCode: 0, baseOffset: 6n });
    const max = await c.request(ListOffsets, 7, { replicaId: -1, topics: [{ name: 'idem', partitions: [{ partitionIndex: 0, timestamp: -3n }] }] });
    expect(max.topics[0]!.partitions[0]).to.include({ offset: 6n, timestamp: BigInt(ts) });
    expect(await allValues()).to.deep.equal(['a', 'b', 'c', 'epoch-1', 'before-crash', 'after-restart', 'latest']);
  });
});
