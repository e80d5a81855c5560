/** Fetch long polling: minBytes and maxWaitMs behave as in Kafka's fetch purgatory. */
import { expect } from 'chai';
import { CreateTopics } from '../../broker/src/protocol/messages/19_create_topics.js';
import { Fetch } from '../../broker/src/protocol/messages/01_fetch.js';
import { Produce } from '../../broker/src/protocol/messages/00_produce.js';
import { startBroker, type Broker } from '../helpers/broker.js';
import { buildBatch, readValues } from '../helpers/record-batch-builder.js';
import { WireClient } from '../helpers/wire-client.js';

describe('fetch long polling (real broker process)', function () {
  this.timeout(60_000);
  let broker: Broker;
  let consumer: WireClient;
  let producer: WireClient;

  before(async () => {
    broker = await startBroker();
    consumer = await WireClient.connect(broker.port);
    producer = await WireClient.connect(broker.port);
    const r = await producer.request(CreateTopics, 7, { topics: [{ name: 'waiting', numPartitions: 1, replicationFactor: 1 }], timeoutMs: 10_000 });
    expect(r.topics[0]!.errorCode).to.equal(0);
  });
  after(async () => {
    consumer?.close();
    producer?.close();
    await broker?.stop();
  });

  const fetchFrom = (offset: bigint, minBytes: number, maxWaitMs: number) =>
    consumer.request(Fetch, 12, {
      maxWaitMs,
      minBytes,
      maxBytes: 1 << 20,
      topics: [{ topic: 'waiting', partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 1 << 20 }] }],
    });
  const produce = (value: string) =>
    producer.request(Produce, 9, { acks: -1, timeoutMs: 10_000, topicData: [{ name: 'waiting', partitionData: [{ index: 0, records: buildBatch([{ value: Buffer.from(value) }]) }] }] });

  it('minBytes=0 answers at once, without waiting maxWaitMs', async () => {
    const started = Date.now();
    const r = await fetchFrom(0n, 0, 20_000);
    expect(Date.now() - started).to.be.lessThan(10_000);
    expect(r.responses[0]!.partitions[0]!.records!.length).to.equal(0);
  });

  it('minBytes=1 answers as soon as a record arrives', async () => {
    const started = Date.now();
    const pending = fetchFrom(0n, 1, 20_000);
    await produce('first');
    const r = await pending;
    expect(Date.now() - started).to.be.lessThan(10_000);
    expect(readValues(r.responses[0]!.partitions[0]!.records!).map((x) => x.value)).to.deep.equal(['first']);
  });

  it('a large minBytes keeps waiting past the first record until maxWaitMs', async () => {
    const started = Date.now();
    const pending = fetchFrom(1n, 1_000_000, 1500);
    await produce('second');
    const r = await pending;
    expect(Date.now() - started).to.be.at.least(1400);
    expect(readValues(r.responses[0]!.partitions[0]!.records!).map((x) => x.value)).to.deep.equal(['second']);
  });
});
