/**
 * Object format (version 1), shared by WAL objects and compacted stream objects:
 *
 *   [data block]* [index] [footer 48 B]
 *
 *   data block   = header 24 B: magic u32 'S3DB' | streamId u64 | recordCount u32 | dataLength u32
 *                               (crc32c of the records follows in the last u32 of the header)
 *                  records: baseOffset u64 | count u32 | appendTimeMs u64 | payloadLength u32 | payload
 *                  Every block holds records of ONE stream, in offset order; a block is cut when it
 *                  would exceed the block size (a single larger record gets a block of its own).
 *   index        = entries of 48 B, one per block, sorted by (streamId, startOffset):
 *                  streamId u64 | startOffset u64 | endOffset u64 | position u64 | size u32 |
 *                  recordCount u32 | maxAppendTimeMs u64
 *   footer       = indexPosition u64 | indexLength u32 | indexCrc32c u32 | entryCount u32 |
 *                  formatVersion u16 | flags u16 | writerEpoch u64 | reserved u32 |
 *                  footerCrc32c u32 (over the 36 bytes before it) | magic 8 B "S3STREAM"
 *
 * A reader fetches the footer and index with one ranged GET of the object's tail, then fetches only
 * the blocks it needs. All integers are big-endian.
 */
import { crc32c } from '@node-rs/crc32';
import { readU64, writeU64 } from '../util/binary.js';

export const FORMAT_VERSION = 1;
export const BLOCK_MAGIC = 0x53334442; // 'S3DB'
export const FOOTER_MAGIC = Buffer.from('S3STREAM', 'ascii');
export const BLOCK_HEADER_BYTES = 24;
export const RECORD_HEADER_BYTES = 24;
export const INDEX_ENTRY_BYTES = 48;
export const FOOTER_BYTES = 48;

export interface StoredRecord {
  readonly baseOffset: number;
  readonly count: number;
  readonly appendTimeMs: number;
  readonly payload: Buffer;
}

export interface IndexEntry {
  readonly streamId: number;
  readonly startOffset: number;
  /** Exclusive. */
  readonly endOffset: number;
  readonly position: number;
  readonly size: number;
  readonly recordCount: number;
  readonly maxAppendTimeMs: number;
}

export interface Footer {
  readonly indexPosition: number;
  readonly indexLength: number;
  readonly indexCrc: number;
  readonly entryCount: number;
  readonly formatVersion: number;
  readonly writerEpoch: number;
}

export class ObjectFormatError extends Error {
  override readonly name = 'ObjectFormatError';
}

export function recordBytes(payloadLength: number): number {
  return RECORD_HEADER_BYTES + payloadLength;
}

/** Per-stream summary of an object's content, derived from its index. */
export interface StreamRange {
  readonly streamId: number;
  readonly startOffset: number;
  readonly endOffset: number;
  /** Bytes of this stream's blocks in the object. */
  readonly bytes: number;
  readonly maxAppendTimeMs: number;
  /**
   * Byte position of the range's first block when its blocks are adjacent in the object (always,
   * for objects this writer builds): [position, position + bytes) then holds exactly the range's
   * blocks, which a reader can fetch in one ranged GET without reading the index.
   */
  readonly position: number | undefined;
}

export function rangesOf(index: readonly IndexEntry[]): StreamRange[] {
  const out: StreamRange[] = [];
  let cur: { streamId: number; startOffset: number; endOffset: number; bytes: number; maxAppendTimeMs: number; position: number | undefined; next: number } | undefined;
  const push = (): void => {
    if (cur !== undefined) out.push({ streamId: cur.streamId, startOffset: cur.startOffset, endOffset: cur.endOffset, bytes: cur.bytes, maxAppendTimeMs: cur.maxAppendTimeMs, position: cur.position });
  };
  for (const e of index) {
    if (cur !== undefined && cur.streamId === e.streamId && cur.endOffset === e.startOffset) {
      cur.endOffset = e.endOffset;
      cur.bytes += e.size;
      cur.maxAppendTimeMs = Math.max(cur.maxAppendTimeMs, e.maxAppendTimeMs);
      if (cur.next !== e.position) cur.position = undefined;
      cur.next = e.position + e.size;
    } else {
      push();
      cur = { streamId: e.streamId, startOffset: e.startOffset, endOffset: e.endOffset, bytes: e.size, maxAppendTimeMs: e.maxAppendTimeMs, position: e.position, next: e.position + e.size };
    }
  }
  push();
  return out;
}

/**
 * Builds one object. Records must be added grouped by stream in ascending stream id, each
 * stream's records in offset order (the WAL and compaction both produce them that way).
 *
 * add() only lays out blocks (no copy); finish() writes every block, the index and the footer into
 * ONE buffer of the exact size. So a record's bytes are copied once, straight into the upload body
 * (no per-block buffers and no concatenation of parts), and finish() returns the records again as
 * views into that body: the WAL hands those to the LogCache instead of keeping the caller's buffers.
 * The added payloads must stay unchanged until finish() returns.
 */
type PendingBlock =
  | { readonly streamId: number; readonly records: StoredRecord[]; readonly dataBytes: number; readonly raw?: undefined }
  | { readonly streamId: number; readonly raw: Buffer; readonly entry: IndexEntry; readonly dataBytes: number; readonly records?: undefined };

export class ObjectWriter {
  private readonly blocks: PendingBlock[] = [];
  private block: StoredRecord[] = [];
  private blockStream = -1;
  private blockBytes = 0;
  private laidOut = 0;

  constructor(
    private readonly targetBlockBytes: number,
    private readonly writerEpoch = 0,
  ) {
    if (!(targetBlockBytes > 0)) throw new RangeError(`block size must be positive, got ${targetBlockBytes}`);
  }

  add(streamId: number, record: StoredRecord): void {
    if (!Number.isInteger(record.count) || record.count <= 0 || record.count > 0xffff_ffff) {
      throw new RangeError(`record count must be a positive 32-bit integer, got ${record.count}`);
    }
    if (streamId < this.blockStream) {
      throw new RangeError(`streams must be added in ascending id order (${streamId} after ${this.blockStream}): readers binary-search the index`);
    }
    if (!Number.isSafeInteger(record.baseOffset) || record.baseOffset < 0 || !Number.isSafeInteger(record.appendTimeMs) || record.appendTimeMs < 0) {
      throw new RangeError(`cannot encode record at offset ${record.baseOffset} (time ${record.appendTimeMs}): must be safe non-negative integers`);
    }
    const size = recordBytes(record.payload.length);
    if (
      this.block.length > 0 &&
      (streamId !== this.blockStream || this.blockBytes + size > this.targetBlockBytes)
    ) {
      this.cutBlock();
    }
    if (this.block.length > 0) {
      const last = this.block[this.block.length - 1]!;
      if (record.baseOffset < last.baseOffset + last.count) {
        throw new RangeError(`records of stream ${streamId} must be added in offset order (${record.baseOffset} after ${last.baseOffset}+${last.count})`);
      }
    }
    this.blockStream = streamId;
    this.block.push(record);
    this.blockBytes += size;
  }

  /**
   * Adds a whole encoded block (header included) as is: compaction moves blocks between objects
   * without decoding and re-encoding their records. The caller verified it (decodeBlock or
   * verifyBlock); its own CRC goes along. Same ordering rules as add().
   */
  addBlock(entry: IndexEntry, raw: Buffer): void {
    if (raw.length !== entry.size || raw.length < BLOCK_HEADER_BYTES) throw new RangeError(`block of ${raw.length} bytes does not match its entry (${entry.size})`);
    if (entry.streamId < this.blockStream) {
      throw new RangeError(`streams must be added in ascending id order (${entry.streamId} after ${this.blockStream}): readers binary-search the index`);
    }
    if (this.block.length > 0) this.cutBlock();
    const prev = this.blocks[this.blocks.length - 1];
    if (prev !== undefined && prev.streamId === entry.streamId) {
      const prevEnd = prev.raw !== undefined ? prev.entry.endOffset : prev.records[prev.records.length - 1]!.baseOffset + prev.records[prev.records.length - 1]!.count;
      if (entry.startOffset < prevEnd) throw new RangeError(`blocks of stream ${entry.streamId} must be added in offset order (${entry.startOffset} after ${prevEnd})`);
    }
    this.blockStream = entry.streamId;
    this.blocks.push({ streamId: entry.streamId, raw, entry, dataBytes: raw.length - BLOCK_HEADER_BYTES });
    this.laidOut += raw.length;
  }

  get sizeEstimate(): number {
    return this.laidOut + this.blockBytes + (this.blocks.length + 1) * INDEX_ENTRY_BYTES + FOOTER_BYTES;
  }

  get isEmpty(): boolean {
    return this.blocks.length === 0 && this.block.length === 0;
  }

  private cutBlock(): void {
    this.blocks.push({ streamId: this.blockStream, records: this.block, dataBytes: this.blockBytes });
    this.laidOut += BLOCK_HEADER_BYTES + this.blockBytes;
    this.block = [];
    this.blockBytes = 0;
  }

  /**
   * The object body, its index, and per block (aligned with the index) the records as views into
   * the body (undefined for blocks added whole by addBlock).
   */
  finish(): { body: Buffer; index: IndexEntry[]; blockRecords: (StoredRecord[] | undefined)[] } {
    if (this.block.length > 0) this.cutBlock();
    const indexPosition = this.laidOut;
    const indexLength = this.blocks.length * INDEX_ENTRY_BYTES;
    // Every byte is written below, so uninitialized memory never reaches the store.
    const body = Buffer.allocUnsafeSlow(indexPosition + indexLength + FOOTER_BYTES);
    const index: IndexEntry[] = [];
    const blockRecords: (StoredRecord[] | undefined)[] = [];
    let position = 0;
    for (const b of this.blocks) {
      if (b.raw !== undefined) {
        b.raw.copy(body, position);
        index.push({ ...b.entry, position });
        blockRecords.push(undefined); // not needed by compaction, its only user
        position += b.raw.length;
        continue;
      }
      const dataStart = position + BLOCK_HEADER_BYTES;
      let off = dataStart;
      let maxTs = 0;
      const views: StoredRecord[] = [];
      for (const r of b.records) {
        writeU64(body, off, r.baseOffset);
        body.writeUInt32BE(r.count, off + 8);
        writeU64(body, off + 12, r.appendTimeMs);
        body.writeUInt32BE(r.payload.length, off + 20);
        const p = off + RECORD_HEADER_BYTES;
        r.payload.copy(body, p);
        views.push({ baseOffset: r.baseOffset, count: r.count, appendTimeMs: r.appendTimeMs, payload: body.subarray(p, p + r.payload.length) });
        off = p + r.payload.length;
        if (r.appendTimeMs > maxTs) maxTs = r.appendTimeMs;
      }
      body.writeUInt32BE(BLOCK_MAGIC, position);
      writeU64(body, position + 4, b.streamId);
      body.writeUInt32BE(b.records.length, position + 12);
      body.writeUInt32BE(b.dataBytes, position + 16);
      body.writeUInt32BE(crc32c(body.subarray(dataStart, dataStart + b.dataBytes)), position + 20);
      const first = b.records[0]!;
      const last = b.records[b.records.length - 1]!;
      const size = BLOCK_HEADER_BYTES + b.dataBytes;
      index.push({
        streamId: b.streamId,
        startOffset: first.baseOffset,
        endOffset: last.baseOffset + last.count,
        position,
        size,
        recordCount: b.records.length,
        maxAppendTimeMs: maxTs,
      });
      blockRecords.push(views);
      position += size;
    }
    this.blocks.length = 0;
    encodeIndex(index, body.subarray(indexPosition, indexPosition + indexLength));
    const footer = body.subarray(indexPosition + indexLength);
    writeU64(footer, 0, indexPosition);
    footer.writeUInt32BE(indexLength, 8);
    footer.writeUInt32BE(crc32c(body.subarray(indexPosition, indexPosition + indexLength)), 12);
    footer.writeUInt32BE(index.length, 16);
    footer.writeUInt16BE(FORMAT_VERSION, 20);
    footer.writeUInt16BE(0, 22);
    writeU64(footer, 24, this.writerEpoch);
    footer.writeUInt32BE(0, 32);
    footer.writeUInt32BE(crc32c(footer.subarray(0, 36)), 36);
    FOOTER_MAGIC.copy(footer, 40);
    return { body, index, blockRecords };
  }
}

function encodeIndex(entries: readonly IndexEntry[], buf: Buffer): void {
  let off = 0;
  for (const e of entries) {
    writeU64(buf, off, e.streamId);
    writeU64(buf, off + 8, e.startOffset);
    writeU64(buf, off + 16, e.endOffset);
    writeU64(buf, off + 24, e.position);
    buf.writeUInt32BE(e.size, off + 32);
    buf.writeUInt32BE(e.recordCount, off + 36);
    writeU64(buf, off + 40, e.maxAppendTimeMs);
    off += INDEX_ENTRY_BYTES;
  }
}

function u64(buf: Buffer, off: number, what: string, where: string): number {
  const v = readU64(buf, off);
  if (v === undefined) throw new ObjectFormatError(`${where}: ${what} does not fit a safe integer (corrupt object?)`);
  return v;
}

/** Parses the footer from the last FOOTER_BYTES of an object of `objectSize` bytes. */
export function decodeFooter(tail: Buffer, objectSize: number, where: string): Footer {
  if (tail.length < FOOTER_BYTES) throw new ObjectFormatError(`${where}: object too small (${objectSize} bytes) to hold a footer`);
  const f = tail.subarray(tail.length - FOOTER_BYTES);
  if (!f.subarray(40, 48).equals(FOOTER_MAGIC)) throw new ObjectFormatError(`${where}: bad footer magic; not an S3Stream object or truncated`);
  if (f.readUInt32BE(36) !== crc32c(f.subarray(0, 36))) throw new ObjectFormatError(`${where}: footer checksum mismatch`);
  const formatVersion = f.readUInt16BE(20);
  if (formatVersion !== FORMAT_VERSION) {
    throw new ObjectFormatError(`${where}: object format version ${formatVersion} is not supported (this build reads ${FORMAT_VERSION}); upgrade the broker`);
  }
  const footer: Footer = {
    indexPosition: u64(f, 0, 'index position', where),
    indexLength: f.readUInt32BE(8),
    indexCrc: f.readUInt32BE(12),
    entryCount: f.readUInt32BE(16),
    formatVersion,
    writerEpoch: u64(f, 24, 'writer epoch', where),
  };
  if (
    footer.indexLength !== footer.entryCount * INDEX_ENTRY_BYTES ||
    footer.indexPosition + footer.indexLength + FOOTER_BYTES !== objectSize
  ) {
    throw new ObjectFormatError(`${where}: footer does not match object size ${objectSize} (index at ${footer.indexPosition}, ${footer.indexLength} bytes)`);
  }
  return footer;
}

export function decodeIndex(buf: Buffer, footer: Footer, where: string): IndexEntry[] {
  if (buf.length !== footer.indexLength) throw new ObjectFormatError(`${where}: index is ${buf.length} bytes, footer says ${footer.indexLength}`);
  if (crc32c(buf) !== footer.indexCrc) throw new ObjectFormatError(`${where}: index checksum mismatch`);
  const out: IndexEntry[] = [];
  for (let off = 0; off < buf.length; off += INDEX_ENTRY_BYTES) {
    const e: IndexEntry = {
      streamId: u64(buf, off, 'stream id', where),
      startOffset: u64(buf, off + 8, 'start offset', where),
      endOffset: u64(buf, off + 16, 'end offset', where),
      position: u64(buf, off + 24, 'block position', where),
      size: buf.readUInt32BE(off + 32),
      recordCount: buf.readUInt32BE(off + 36),
      maxAppendTimeMs: u64(buf, off + 40, 'append time', where),
    };
    if (e.position + e.size > footer.indexPosition || e.endOffset < e.startOffset) {
      throw new ObjectFormatError(`${where}: index entry ${off / INDEX_ENTRY_BYTES} is out of bounds`);
    }
    out.push(e);
  }
  return out;
}

/** Verifies a whole data block (magic, header against the index entry, CRC32C) without decoding its records. */
export function verifyBlock(buf: Buffer, entry: IndexEntry, where: string): void {
  if (buf.length !== entry.size || buf.length < BLOCK_HEADER_BYTES) {
    throw new ObjectFormatError(`${where}: block at ${entry.position} is ${buf.length} bytes, index says ${entry.size}`);
  }
  if (buf.readUInt32BE(0) !== BLOCK_MAGIC) throw new ObjectFormatError(`${where}: bad block magic at ${entry.position}`);
  if (readU64(buf, 4) !== entry.streamId || buf.readUInt32BE(12) !== entry.recordCount || buf.readUInt32BE(16) !== buf.length - BLOCK_HEADER_BYTES) {
    throw new ObjectFormatError(`${where}: block header at ${entry.position} disagrees with the index`);
  }
  if (crc32c(buf.subarray(BLOCK_HEADER_BYTES)) !== buf.readUInt32BE(20)) throw new ObjectFormatError(`${where}: block checksum mismatch at ${entry.position}`);
}

/** Decodes a whole data block (header included), verifying magic, stream and checksum. */
export function decodeBlock(buf: Buffer, entry: IndexEntry, where: string): StoredRecord[] {
  if (buf.length !== entry.size || buf.length < BLOCK_HEADER_BYTES) {
    throw new ObjectFormatError(`${where}: block at ${entry.position} is ${buf.length} bytes, index says ${entry.size}`);
  }
  if (buf.readUInt32BE(0) !== BLOCK_MAGIC) throw new ObjectFormatError(`${where}: bad block magic at ${entry.position}`);
  const streamId = readU64(buf, 4);
  const recordCount = buf.readUInt32BE(12);
  const dataLength = buf.readUInt32BE(16);
  if (streamId !== entry.streamId || recordCount !== entry.recordCount || dataLength !== buf.length - BLOCK_HEADER_BYTES) {
    throw new ObjectFormatError(`${where}: block header at ${entry.position} disagrees with the index`);
  }
  const data = buf.subarray(BLOCK_HEADER_BYTES);
  if (crc32c(data) !== buf.readUInt32BE(20)) throw new ObjectFormatError(`${where}: block checksum mismatch at ${entry.position}`);
  const out: StoredRecord[] = [];
  let off = 0;
  for (let i = 0; i < recordCount; i++) {
    if (off + RECORD_HEADER_BYTES > data.length) throw new ObjectFormatError(`${where}: block at ${entry.position} truncated`);
    const baseOffset = u64(data, off, 'base offset', where);
    const count = data.readUInt32BE(off + 8);
    const appendTimeMs = u64(data, off + 12, 'append time', where);
    const len = data.readUInt32BE(off + 20);
    const start = off + RECORD_HEADER_BYTES;
    if (start + len > data.length) throw new ObjectFormatError(`${where}: record overruns block at ${entry.position}`);
    out.push({ baseOffset, count, appendTimeMs, payload: data.subarray(start, start + len) });
    off = start + len;
  }
  if (off !== data.length) throw new ObjectFormatError(`${where}: trailing bytes in block at ${entry.position}`);
  return out;
}

/** Parses a whole object held in memory (tests, recovery of small objects). */
export function decodeObject(body: Buffer, where: string): { footer: Footer; index: IndexEntry[]; blocks: StoredRecord[][] } {
  const footer = decodeFooter(body, body.length, where);
  const index = decodeIndex(body.subarray(footer.indexPosition, footer.indexPosition + footer.indexLength), footer, where);
  const blocks = index.map((e) => decodeBlock(body.subarray(e.position, e.position + e.size), e, where));
  return { footer, index, blocks };
}
