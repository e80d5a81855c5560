/**
 * Bad input never crashes the broker, never makes it allocate by an untrusted size, and never
 * loses data acked before: each case gets a Kafka error or a closed connection.
 */
import { expect } from 'chai';
import { ErrorCode } from '../../broker/src/protocol/errors.js';
import { ApiVersions } from '../../broker/src/protocol/messages/18_api_versions.js';
import { CreateTopics } from '../../broker/src/protocol/messages/19_create_topics.js';
import { Fetch } from '../../broker/src/protocol/messages/01_fetch.js';
import { Metadata } from '../../broker/src/protocol/messages/03_metadata.js';
import { Produce } from '../../broker/src/protocol/messages/00_produce.js';
import { Reader } from '../../broker/src/protocol/primitives/reader.js';
import { decodeMessage } from '../../broker/src/protocol/codec.js';
import { startBroker, type Broker } from '../helpers/broker.js';
import { buildBatch, readValues } from '../helpers/record-batch-builder.js';
import { WireClient } from '../helpers/wire-client.js';

async function rssBytes(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const m = /^process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)/m.exec(text);
  if (!m) throw new Error('process_resident_memory_bytes missing from /metrics');
  return Number(m[1]);
}

/** A request of only a v1 header (null client id) with no body: enough for version checks. */
function headerOnlyFrame(apiKey: number, apiVersion: number, correlationId: number): Buffer {
  const frame = Buffer.alloc(4 + 10);
  frame.writeInt32BE(10, 0);
  frame.writeInt16BE(apiKey, 4);
  frame.writeInt16BE(apiVersion, 6);
  frame.writeInt32BE(correlationId, 8);
  frame.writeInt16BE(-1, 12);
  return frame;
}

/** Sends one raw frame and returns the response frame. */
async function exchange(c: WireClient, frame: Buffer): Promise<Buffer> {
  const pending = c.nextFrame();
  c.writeRaw(frame);
  return pending;
}

describe('bad input (real broker process)', function () {
  this.timeout(120_000);
  let broker: Broker;
  let client: WireClient;

  before(async () => {
    broker = await startBroker();
    client = await WireClient.connect(broker.port);
    const created = await client.request(CreateTopics, 5, {
      topics: [
        { name: 'bad-input', numPartitions: 2, replicationFactor: 1 },
        { name: 'small-messages', numPartitions: 1, replicationFactor: 1, configs: [{ name: 'max.message.bytes', value: '1000' }] },
      ],
      timeoutMs: 10_000,
    });
    expect(created.topics.map((t) => t.errorCode)).to.deep.equal([0, 0]);
    const acked = await client.request(Produce, 9, {
      acks: -1,
      timeoutMs: 10_000,
      topicData: [{ name: 'bad-input', partitionData: [{ index: 0, records: buildBatch([{ value: Buffer.from('acked-before') }]) }] }],
    });
    expect(acked.responses[0]!.partitionResponses[0]!.errorCode).to.equal(0);
  });

  after(async () => {
    client?.close();
    await broker?.stop();
  });

  async function brokerStillServes(): Promise<void> {
    const c = await WireClient.connect(broker.port);
    try {
      const res = await c.request(ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
      expect(res.errorCode).to.equal(0);
    } finally {
      c.close();
    }
  }

  it('closes the connection on a negative frame size', async () => {
    const c = await WireClient.connect(broker.port);
    c.writeRaw(Buffer.from('ffffffff', 'hex'));
    await c.waitClosed();
    await brokerStillServes();
  });

  it('closes the connection on a size above socket.request.max.bytes', async () => {
    const c = await WireClient.connect(broker.port);
    const b = Buffer.alloc(4);
    b.writeInt32BE(200 * 1024 * 1024);
    c.writeRaw(b);
    await c.waitClosed();
    await brokerStillServes();
  });

  it('does not allocate what a frame size announces before the bytes arrive', async () => {
    const before = await rssBytes(broker.metricsPort);
    const conns: WireClient[] = [];
    for (let i = 0; i < 5; i++) {
      const c = await WireClient.connect(broker.port);
      const b = Buffer.alloc(14);
      b.writeInt32BE(99 * 1024 * 1024); // under the limit, but only 10 bytes follow
      c.writeRaw(b);
      conns.push(c);
    }
    await brokerStillServes();
    const after = await rssBytes(broker.metricsPort);
    for (const c of conns) c.close();
    // Five 99 MiB buffers would add ~495 MiB; allow generous noise.
    expect(after - before).to.be.lessThan(100 * 1024 * 1024);
  });

  it('closes the connection on a truncated request body', async () => {
    const c = await WireClient.connect(broker.port);
    const full = c.encodeRequest(Metadata, 1, { topics: [{ name: 'a-topic-name' }] });
    const cut = Buffer.from(full.subarray(0, full.length - 5));
    cut.writeInt32BE(cut.length - 4, 0);
    c.writeRaw(cut);
    await c.waitClosed();
    await brokerStillServes();
  });

  it('answers an unknown API key with UNSUPPORTED_VERSION and keeps the connection', async () => {
    const c = await WireClient.connect(broker.port);
    const resp = await exchange(c, headerOnlyFrame(999, 0, 77));
    expect(resp.readInt32BE(0)).to.equal(77);
    expect(resp.readInt16BE(4)).to.equal(ErrorCode.UNSUPPORTED_VERSION);
    const ok = await c.request(ApiVersions, 0, {});
    expect(ok.errorCode).to.equal(0);
    c.close();
  });

  it('answers an unsupported Produce version with UNSUPPORTED_VERSION', async () => {
    const c = await WireClient.connect(broker.port);
    const resp = await exchange(c, headerOnlyFrame(0, 99, 78));
    expect(resp.readInt32BE(0)).to.equal(78);
    expect(resp.readInt16BE(4)).to.equal(ErrorCode.UNSUPPORTED_VERSION);
    c.close();
  });

  it('answers ApiVersions of an unknown version with a v0 body: error 35 and the key list', async () => {
    const c = await WireClient.connect(broker.port);
    const resp = await exchange(c, headerOnlyFrame(18, 42, 79));
    const r = new Reader(resp);
    expect(r.int32()).to.equal(79);
    const body = decodeMessage(ApiVersions.response, 0, r);
    expect(body.errorCode).to.equal(ErrorCode.UNSUPPORTED_VERSION);
    expect(body.apiKeys.map((k) => k.apiKey)).to.include.members([0, 1, 3, 18]);
    c.close();
  });

  it('answers a batch with a wrong CRC with CORRUPT_MESSAGE', async () => {
    const batch = buildBatch([{ value: Buffer.from('x') }]);
    batch[batch.length - 1] ^= 0xff;
    const res = await client.request(Produce, 9, {
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: 'bad-input', partitionData: [{ index: 1, records: batch }] }],
    });
    expect(res.responses[0]!.partitionResponses[0]!.errorCode).to.equal(ErrorCode.CORRUPT_MESSAGE);
  });

  it('answers a batch over max.message.bytes with MESSAGE_TOO_LARGE', async () => {
    const res = await client.request(Produce, 9, {
      acks: 1,
      timeoutMs: 5000,
      topicData: [{ name: 'small-messages', partitionData: [{ index: 0, records: buildBatch([{ value: Buffer.alloc(2000, 1) }]) }] }],
    });
    expect(res.responses[0]!.partitionResponses[0]!.errorCode).to.equal(ErrorCode.MESSAGE_TOO_LARGE);
  });

  it('answers bad topic names with INVALID_TOPIC_EXCEPTION', async () => {
    const produced = await client.request(Produce, 9, {
      acks: 1,
      timeoutMs: 5000,
      topicData: [{ name: 'bad/name', partitionData: [{ index: 0, records: buildBatch([{ value: Buffer.from('x') }]) }] }],
    });
    expect(produced.responses[0]!.partitionResponses[0]!.errorCode).to.equal(ErrorCode.INVALID_TOPIC_EXCEPTION);
    const meta = await client.request(Metadata, 9, { topics: [{ name: 'no spaces allowed' }], allowAutoTopicCreation: true });
    expect(meta.topics[0]!.errorCode).to.equal(ErrorCode.INVALID_TOPIC_EXCEPTION);
    const created = await client.request(CreateTopics, 7, { topics: [{ name: '..', numPartitions: 1, replicationFactor: 1 }], timeoutMs: 5000 });
    expect(created.topics[0]!.errorCode).to.equal(ErrorCode.INVALID_TOPIC_EXCEPTION);
  });

  it('answers produce to an unknown partition with UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const res = await client.request(Produce, 9, {
      acks: -1,
      timeoutMs: 5000,
      topicData: [
        { name: 'bad-input', partitionData: [{ index: 7, records: buildBatch([{ value: Buffer.from('x') }]) }] },
        { name: 'never-created', partitionData: [{ index: 0, records: buildBatch([{ value: Buffer.from('x') }]) }] },
      ],
    });
    expect(res.responses.map((t) => t.partitionResponses[0]!.errorCode)).to.deep.equal([
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ]);
  });

  it('still serves the record acked before all of this, and the process is alive', async () => {
    const res = await client.request(Fetch, 12, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      topics: [{ topic: 'bad-input', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
    });
    const p = res.responses[0]!.partitions[0]!;
    expect(p.errorCode).to.equal(0);
    expect(readValues(p.records!).map((r) => r.value)).to.deep.equal(['acked-before']);
    expect(broker.exitInfo()).to.equal(null);
  });
});
