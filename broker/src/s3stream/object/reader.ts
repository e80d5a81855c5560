/** Reading objects piecewise: the tail (footer + index) and runs of blocks, by ranged GETs. */
import type { ObjectStore } from '../object-store/object-store.js';
import { ObjectNotFoundError } from '../object-store/object-store.js';
import type { Footer, IndexEntry, StoredRecord } from './format.js';
import { BLOCK_HEADER_BYTES, BLOCK_MAGIC, ObjectFormatError, decodeBlock, decodeFooter, decodeIndex, verifyBlock } from './format.js';

/** One GET of this many tail bytes usually covers footer + index (about 1300 index entries). */
export const TAIL_READ_BYTES = 64 * 1024;

export interface ObjectIndex {
  readonly key: string;
  readonly size: number;
  readonly footer: Footer;
  readonly entries: readonly IndexEntry[];
}

export async function readObjectIndex(store: ObjectStore, key: string, knownSize?: number): Promise<ObjectIndex> {
  let size = knownSize;
  if (size === undefined) {
    const info = await store.head(key);
    if (info === undefined) throw new ObjectNotFoundError(key);
    size = info.size;
  }
  const tailStart = Math.max(0, size - TAIL_READ_BYTES);
  const tail = await store.get(key, { start: tailStart, end: size });
  const footer = decodeFooter(tail, size, key);
  let indexBuf: Buffer;
  if (footer.indexPosition >= tailStart) {
    const at = footer.indexPosition - tailStart;
    indexBuf = tail.subarray(at, at + footer.indexLength);
  } else {
    indexBuf = await store.get(key, { start: footer.indexPosition, end: footer.indexPosition + footer.indexLength });
  }
  const entries = decodeIndex(indexBuf, footer, key);
  return { key, size, footer, entries };
}

/**
 * Index entries of one stream overlapping [start, end), in order. Entries are sorted by
 * (streamId, startOffset), so this is a binary search plus a short scan even for WAL objects
 * holding thousands of streams.
 */
export function entriesFor(entries: readonly IndexEntry[], streamId: number, start: number, end: number): IndexEntry[] {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const e = entries[mid]!;
    if (e.streamId < streamId || (e.streamId === streamId && e.endOffset <= start)) lo = mid + 1;
    else hi = mid;
  }
  const out: IndexEntry[] = [];
  for (let i = lo; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.streamId !== streamId || e.startOffset >= end) break;
    out.push(e);
  }
  return out;
}

/**
 * Fetches a run of blocks that are adjacent in the object with one ranged GET. Each returned block
 * is copied out of the response so that caching one block does not pin the others' memory.
 */
export async function readBlockRun(
  store: ObjectStore,
  key: string,
  run: readonly IndexEntry[],
): Promise<{ entry: IndexEntry; raw: Buffer; records: StoredRecord[] }[]> {
  if (run.length === 0) return [];
  const start = run[0]!.position;
  const last = run[run.length - 1]!;
  const end = last.position + last.size;
  const body = await store.get(key, { start, end });
  if (body.length !== end - start) throw new Error(`short read of ${key} [${start}, ${end}): got ${body.length} bytes`);
  return run.map((entry) => {
    const raw = run.length === 1 ? body : Buffer.from(body.subarray(entry.position - start, entry.position - start + entry.size));
    return { entry, raw, records: decodeBlock(raw, entry, key) };
  });
}

/**
 * Fetches [pos, pos + bytes) of an object, which holds one stream's adjacent blocks (a metadata
 * range), with one ranged GET, and splits it into blocks by their headers. Every block is still
 * fully verified (magic, stream, CRC32C); the synthesized index entries describe the blocks.
 */
export async function readRangeBlocks(
  store: ObjectStore,
  key: string,
  streamId: number,
  pos: number,
  bytes: number,
): Promise<{ entry: IndexEntry; records: StoredRecord[] }[]> {
  const body = await store.get(key, { start: pos, end: pos + bytes });
  if (body.length !== bytes) throw new Error(`short read of ${key} [${pos}, ${pos + bytes}): got ${body.length} bytes`);
  return parseRangeBlocks(body, key, streamId, pos);
}

/** Splits the bytes of one stream range (starting at object position `pos`) into verified, decoded blocks. */
export function parseRangeBlocks(body: Buffer, key: string, streamId: number, pos: number): { entry: IndexEntry; records: StoredRecord[] }[] {
  const bytes = body.length;
  const out: { entry: IndexEntry; records: StoredRecord[] }[] = [];
  for (let off = 0; off < body.length; ) {
    if (off + BLOCK_HEADER_BYTES > body.length || body.readUInt32BE(off) !== BLOCK_MAGIC) {
      throw new ObjectFormatError(`${key}: no block header at ${pos + off} (range [${pos}, ${pos + bytes}) of stream ${streamId})`);
    }
    const size = BLOCK_HEADER_BYTES + body.readUInt32BE(off + 16);
    if (off + size > body.length) throw new ObjectFormatError(`${key}: block at ${pos + off} overruns range [${pos}, ${pos + bytes})`);
    const raw = body.subarray(off, off + size);
    const recordCount = raw.readUInt32BE(12);
    // decodeBlock checks the stream id, the count and the CRC against this provisional entry.
    const provisional: IndexEntry = { streamId, startOffset: 0, endOffset: 0, position: pos + off, size, recordCount, maxAppendTimeMs: 0 };
    const records = decodeBlock(raw, provisional, key);
    if (records.length === 0) throw new ObjectFormatError(`${key}: empty block at ${pos + off}`);
    let maxTs = 0;
    for (const r of records) if (r.appendTimeMs > maxTs) maxTs = r.appendTimeMs;
    const last = records[records.length - 1]!;
    out.push({ entry: { ...provisional, startOffset: records[0]!.baseOffset, endOffset: last.baseOffset + last.count, maxAppendTimeMs: maxTs }, records });
    off += size;
  }
  return out;
}

/**
 * Like readBlockRun, for compaction: blocks are verified (CRC32C) but not decoded, and are views
 * into the one response (they are all written to the same output object right away).
 */
export async function readRawBlockRun(store: ObjectStore, key: string, run: readonly IndexEntry[]): Promise<{ entry: IndexEntry; raw: Buffer }[]> {
  if (run.length === 0) return [];
  const start = run[0]!.position;
  const last = run[run.length - 1]!;
  const end = last.position + last.size;
  const body = await store.get(key, { start, end });
  if (body.length !== end - start) throw new Error(`short read of ${key} [${start}, ${end}): got ${body.length} bytes`);
  return run.map((entry) => {
    const raw = body.subarray(entry.position - start, entry.position - start + entry.size);
    verifyBlock(raw, entry, key);
    return { entry, raw };
  });
}

/** Splits entries into runs that are contiguous in the object (one GET each). */
export function contiguousRuns(entries: readonly IndexEntry[], maxRunBytes = Infinity): IndexEntry[][] {
  const runs: IndexEntry[][] = [];
  let cur: IndexEntry[] = [];
  let bytes = 0;
  for (const e of entries) {
    const prev = cur[cur.length - 1];
    if (prev !== undefined && (prev.position + prev.size !== e.position || bytes + e.size > maxRunBytes)) {
      runs.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(e);
    bytes += e.size;
  }
  if (cur.length > 0) runs.push(cur);
  return runs;
}
