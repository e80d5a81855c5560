import { expect } from 'chai';
import {
  computeCrc,
  readBatchHeader,
  setBaseOffset,
  setLogAppendTime,
  splitBatches,
} from '../../../broker/src/protocol/record-batch.js';
import { buildBatch, readValues } from '../../helpers/record-batch-builder.js';

describe('record batches', () => {
  it('reads the header of a built batch and its CRC matches', () => {
    const b = buildBatch([{ value: Buffer.from('a') }, { value: Buffer.from('b') }], { baseTimestamp: 1000, producerId: 7n, producerEpoch: 1, baseSequence: 5 });
    const h = readBatchHeader(b);
    expect(h.magic).to.equal(2);
    expect(h.recordCount).to.equal(2);
    expect(h.lastOffsetDelta).to.equal(1);
    expect(h.producerId).to.equal(7n);
    expect(h.baseSequence).to.equal(5);
    expect(computeCrc(b)).to.equal(h.crc);
  });

  it('the CRC32C implementation matches the standard check value', async () => {
    const { crc32c } = await import('@node-rs/crc32');
    expect(crc32c('123456789') >>> 0).to.equal(0xe3069283);
  });

  it('setting the base offset leaves the CRC valid', () => {
    const b = buildBatch([{ value: Buffer.from('a') }]);
    setBaseOffset(b, 12345);
    expect(computeCrc(b)).to.equal(readBatchHeader(b).crc);
    expect(readValues(b)[0]!.offset).to.equal(12345);
  });

  it('LogAppendTime rewrites the max timestamp and recomputes the CRC', () => {
    const b = buildBatch([{ value: Buffer.from('a') }], { baseTimestamp: 5 });
    setLogAppendTime(b, 99999);
    const h = readBatchHeader(b);
    expect(h.maxTimestamp).to.equal(99999n);
    expect(h.attributes & 0x08).to.equal(0x08);
    expect(computeCrc(b)).to.equal(h.crc);
  });

  it('splits a record set into batches and rejects partial or old-format ones', () => {
    const a = buildBatch([{ value: Buffer.from('a') }]);
    const b = buildBatch([{ value: Buffer.from('bb') }, { value: Buffer.from('cc') }]);
    const ok = splitBatches(Buffer.concat([a, b]));
    expect(ok.ok && ok.batches.length).to.equal(2);
    const cut = splitBatches(Buffer.concat([a, b.subarray(0, b.length - 1)]));
    expect(cut.ok).to.equal(false);
    const old = Buffer.from(a);
    old.writeInt8(1, 16);
    const r = splitBatches(old);
    expect(!r.ok && r.reason).to.equal('bad-magic');
  });
});
