/**
 * Record batches (magic v2) treated as opaque bytes: the broker reads the fixed 61-byte header,
 * verifies the CRC32C, and rewrites only fields outside the CRC (base offset, partition leader
 * epoch). Records are never decompressed here: compression stays as the producer chose it.
 *
 * Layout: baseOffset i64 @0, batchLength i32 @8, partitionLeaderEpoch i32 @12, magic i8 @16,
 * crc u32 @17 (covers attributes..end), attributes i16 @21, lastOffsetDelta i32 @23,
 * baseTimestamp i64 @27, maxTimestamp i64 @35, producerId i64 @43, producerEpoch i16 @51,
 * baseSequence i32 @53, recordCount i32 @57, records @61.
 */
import { crc32c } from '@node-rs/crc32';

export const BATCH_HEADER_SIZE = 61;
/** Bytes before and including batchLength: the length counts from partitionLeaderEpoch on. */
export const LOG_OVERHEAD = 12;
const CRC_START = 21;

export const enum Compression {
  None = 0,
  Gzip = 1,
  Snappy = 2,
  Lz4 = 3,
  Zstd = 4,
}

export interface BatchHeader {
  baseOffset: bigint;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export function compressionOf(attributes: number): number {
  return attributes & 0x07;
}
export function isLogAppendTime(attributes: number): boolean {
  return (attributes & 0x08) !== 0;
}
export function isTransactional(attributes: number): boolean {
  return (attributes & 0x10) !== 0;
}
export function isControl(attributes: number): boolean {
  return (attributes & 0x20) !== 0;
}

/** Reads the header of the batch at `buf[0..]`; the caller checked buf.length >= BATCH_HEADER_SIZE. */
export function readBatchHeader(buf: Buffer): BatchHeader {
  return {
    baseOffset: buf.readBigInt64BE(0),
    batchLength: buf.readInt32BE(8),
    partitionLeaderEpoch: buf.readInt32BE(12),
    magic: buf.readInt8(16),
    crc: buf.readUInt32BE(17),
    attributes: buf.readInt16BE(21),
    lastOffsetDelta: buf.readInt32BE(23),
    baseTimestamp: buf.readBigInt64BE(27),
    maxTimestamp: buf.readBigInt64BE(35),
    producerId: buf.readBigInt64BE(43),
    producerEpoch: buf.readInt16BE(51),
    baseSequence: buf.readInt32BE(53),
    recordCount: buf.readInt32BE(57),
  };
}

export function computeCrc(batch: Buffer): number {
  return crc32c(batch.subarray(CRC_START)) >>> 0;
}

export type SplitResult =
  | { ok: true; batches: Buffer[] }
  | { ok: false; reason: 'truncated' | 'bad-magic' | 'bad-length'; message: string };

/**
 * Splits a produce request's record set into batches without copying. Every batch must be
 * complete and of magic 2; old message formats (magic 0/1) are not accepted by Produce v3+.
 */
export function splitBatches(records: Buffer): SplitResult {
  const batches: Buffer[] = [];
  let pos = 0;
  while (pos < records.length) {
    if (records.length - pos < BATCH_HEADER_SIZE) {
      return { ok: false, reason: 'truncated', message: `record set has ${records.length - pos} trailing bytes, less than a batch header` };
    }
    const batchLength = records.readInt32BE(pos + 8);
    const magic = records.readInt8(pos + 16);
    if (magic !== 2) return { ok: false, reason: 'bad-magic', message: `record batch magic ${magic}; only magic 2 is supported` };
    const total = LOG_OVERHEAD + batchLength;
    if (batchLength < BATCH_HEADER_SIZE - LOG_OVERHEAD || pos + total > records.length) {
      return { ok: false, reason: 'bad-length', message: `record batch length ${batchLength} does not fit the ${records.length - pos} bytes left` };
    }
    batches.push(records.subarray(pos, pos + total));
    pos += total;
  }
  return { ok: true, batches };
}

/** Sets the base offset (outside the CRC, so no recompute). */
export function setBaseOffset(batch: Buffer, baseOffset: number): void {
  batch.writeBigInt64BE(BigInt(baseOffset), 0);
}

export function setPartitionLeaderEpoch(batch: Buffer, epoch: number): void {
  batch.writeInt32BE(epoch, 12);
}

/** Switches a batch to LogAppendTime with the given time; this changes bytes under the CRC, so it recomputes it. */
export function setLogAppendTime(batch: Buffer, timeMs: number): void {
  const attributes = batch.readInt16BE(21) | 0x08;
  batch.writeInt16BE(attributes, 21);
  batch.writeBigInt64BE(BigInt(timeMs), 35);
  batch.writeUInt32BE(computeCrc(batch), 17);
}

/** Walks batches in a fetched payload sequence (each a whole batch) yielding headers. */
export function* iterateBatches(buf: Buffer): Generator<{ header: BatchHeader; bytes: Buffer }> {
  let pos = 0;
  while (buf.length - pos >= BATCH_HEADER_SIZE) {
    const bytes = buf.subarray(pos);
    const header = readBatchHeader(bytes);
    const total = LOG_OVERHEAD + header.batchLength;
    if (total > bytes.length || total < BATCH_HEADER_SIZE) return;
    yield { header, bytes: bytes.subarray(0, total) };
    pos += total;
  }
}
