/** Builds uncompressed magic-2 record batches for tests (the broker never builds batches itself). */
import { crc32c } from '@node-rs/crc32';
import { Writer } from '../../broker/src/protocol/primitives/writer.js';

export interface TestRecord {
  key?: Buffer | null;
  value: Buffer | null;
  timestamp?: number;
}

export interface BatchOptions {
  baseTimestamp?: number;
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
}

export function buildBatch(records: readonly TestRecord[], opts: BatchOptions = {}): Buffer {
  const baseTs = opts.baseTimestamp ?? records[0]?.timestamp ?? Date.now();
  const body = new Writer(256);
  let maxTs = baseTs;
  records.forEach((r, i) => {
    const ts = r.timestamp ?? baseTs;
    maxTs = Math.max(maxTs, ts);
    const rec = new Writer(64);
    rec.int8(0);
    rec.varlong(BigInt(ts - baseTs));
    rec.varint(i);
    if (r.key === null || r.key === undefined) rec.varint(-1);
    else rec.varint(r.key.length).raw(r.key);
    if (r.value === null) rec.varint(-1);
    else rec.varint(r.value.length).raw(r.value);
    rec.varint(0); // headers
    const bytes = rec.toBuffer();
    body.varint(bytes.length).raw(bytes);
  });
  const recs = body.toBuffer();
  const w = new Writer(61 + recs.length);
  w.int64(0n);
  w.int32(49 + recs.length); // batchLength: from partitionLeaderEpoch to the end
  w.int32(-1); // partitionLeaderEpoch
  w.int8(2); // magic
  w.uint32(0); // crc placeholder
  w.int16(0); // attributes
  w.int32(records.length - 1);
  w.int64(BigInt(baseTs));
  w.int64(BigInt(maxTs));
  w.int64(opts.producerId ?? -1n);
  w.int16(opts.producerEpoch ?? -1);
  w.int32(opts.baseSequence ?? -1);
  w.int32(records.length);
  w.raw(recs);
  const batch = Buffer.from(w.toBuffer());
  batch.writeUInt32BE(crc32c(batch.subarray(21)) >>> 0, 17);
  return batch;
}

/** Decodes the values of an uncompressed batch sequence (fetch response records). */
export function readValues(records: Buffer): { offset: number; value: string | null }[] {
  const out: { offset: number; value: string | null }[] = [];
  let pos = 0;
  while (pos + 61 <= records.length) {
    const base = Number(records.readBigInt64BE(pos));
    const len = records.readInt32BE(pos + 8);
    const count = records.readInt32BE(pos + 57);
    let p = pos + 61;
    for (let i = 0; i < count; i++) {
      const [recLen, p1] = varint(records, p);
      let q = p1 + 1;
      q = varint(records, q)[1]; // ts delta
      const [offDelta, q2] = varint(records, q);
      const [keyLen, q3] = varint(records, q2);
      q = q3 + Math.max(keyLen, 0);
      const [valLen, q4] = varint(records, q);
      out.push({ offset: base + offDelta, value: valLen < 0 ? null : records.subarray(q4, q4 + valLen).toString() });
      p = p1 + recLen;
    }
    pos += 12 + len;
  }
  return out;
}

function varint(buf: Buffer, pos: number): [number, number] {
  let u = 0;
  let shift = 0;
  for (;;) {
    const b = buf[pos++]!;
    u += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
  }
  return [u % 2 === 0 ? u / 2 : -(u + 1) / 2, pos];
}
