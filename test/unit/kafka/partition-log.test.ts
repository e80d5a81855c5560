import { expect } from 'chai';
import { PartitionLog } from '../../../broker/src/kafka/log/partition-log.js';
import { buildBatch } from '../../helpers/record-batch-builder.js';
import { FakeStreamClient } from '../../helpers/fake-stream-client.js';

describe('PartitionLog', () => {
  async function setup() {
    const client = new FakeStreamClient(0);
    const stream = await client.createStream();
    const open = async () =>
      PartitionLog.open({ topic: 't', topicId: 'ab'.repeat(16), partition: 0, stream: await client.openStream(stream.id), leaderEpoch: 0, kv: client.kv });
    return { client, stream, open };
  }

  it('opens from its snapshot: only batches after it are read back', async () => {
    const { client, open } = await setup();
    const log = await open();
    const opts = { maxMessageBytes: 1 << 20, logAppendTime: false, now: 1 };
    for (let i = 0; i < 50; i++) {
      const r = log.append([buildBatch([{ value: Buffer.from(`v${i}`) }], { producerId: 9n, producerEpoch: 0, baseSequence: i, baseTimestamp: 1000 + i })], opts);
      expect(r.errorCode).to.equal(0);
    }
    await client.flush();
    await log.snapshotProducers();
    log.append([buildBatch([{ value: Buffer.from('after') }], { producerId: 9n, producerEpoch: 0, baseSequence: 50, baseTimestamp: 5 })], opts);
    await client.flush();

    const reopened = await client.openStream(log.stream.id);
    const starts: number[] = [];
    const fetch = reopened.fetch.bind(reopened);
    reopened.fetch = (start, end, max) => {
      starts.push(start);
      return fetch(start, end, max);
    };
    const log2 = await PartitionLog.open({ topic: 't', topicId: 'ab'.repeat(16), partition: 0, stream: reopened, leaderEpoch: 0, kv: client.kv });
    expect(Math.min(...starts)).to.equal(50);
    expect(log2.maxTimestampInfo()).to.deep.equal({ timestamp: 1049, offset: 49 });
    // Producer state survived: the batch before the snapshot and the one after are both duplicates.
    const dupBefore = log2.append([buildBatch([{ value: Buffer.from('v49') }], { producerId: 9n, producerEpoch: 0, baseSequence: 49 })], opts);
    expect(dupBefore).to.include({ errorCode: 0, baseOffset: 49 });
    const dupAfter = log2.append([buildBatch([{ value: Buffer.from('after') }], { producerId: 9n, producerEpoch: 0, baseSequence: 50 })], opts);
    expect(dupAfter).to.include({ errorCode: 0, baseOffset: 50 });
    await client.close();
  });

  it('without a snapshot, replays the whole retained log', async () => {
    const { client, open } = await setup();
    const log = await open();
    const opts = { maxMessageBytes: 1 << 20, logAppendTime: false, now: 1 };
    for (let i = 0; i < 5; i++) log.append([buildBatch([{ value: Buffer.from(`v${i}`) }], { producerId: 3n, producerEpoch: 0, baseSequence: i })], opts);
    await client.flush();
    const log2 = await open();
    expect(log2.append([buildBatch([{ value: Buffer.from('v2') }], { producerId: 3n, producerEpoch: 0, baseSequence: 2 })], opts)).to.include({ errorCode: 0, baseOffset: 2 });
    await client.close();
  });
});
