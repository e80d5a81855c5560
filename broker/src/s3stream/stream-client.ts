/**
 * The S3Stream client of one node: the append path (offsets -> WAL -> LogCache -> lazy metadata
 * commit through the metadata owner) and the read path (LogCache for the tail, BlockCache + ranged
 * GETs for older data), over a replica of the metadata state (metadata/replica.ts).
 *
 * `openStreamClient` is the single-process case: it runs the metadata owner in-process, and
 * recovery is the owner's: (1) load snapshot + log and write an 'open' record (the previous owner's
 * metadata writes fail from then on); (2) fence every node's previous WAL writer with a tombstone
 * and apply the WAL objects it made durable but had not committed yet (wal/recovery.ts); (3) this
 * node's new writer starts a safe distance after anything listed. A cluster node uses
 * `openStreamClientOn` with a channel to the controller's owner instead.
 */
import { z } from 'zod';
import type {
  AppendResult,
  FetchedBatch,
  KvStore,
  StorageStats,
  Stream,
  StreamClient,
  StreamClientOptions,
  StreamInfo,
} from './api.js';
import { MetadataFencedError, OffsetOutOfRangeError, StreamClosedError, StreamFencedError } from './api.js';
import type { ObjectStore } from './object-store/object-store.js';
import { ObjectNotFoundError } from './object-store/object-store.js';
import type { RetryPolicy } from './object-store/instrumented.js';
import { InstrumentedObjectStore } from './object-store/instrumented.js';
import type { IndexEntry, StoredRecord } from './object/format.js';
import { rangeRecordsOf } from './metadata/records.js';
import { entriesFor } from './object/reader.js';
import type { ObjectRef } from './cache/block-cache.js';
import { BlockCache, IndexCache } from './cache/block-cache.js';
import { LogCache } from './cache/log-cache.js';
import type { MetadataChannel, NodeRegistration } from './metadata/channel.js';
import { MetadataOwner } from './metadata/owner.js';
import type { MetadataOwnerOptions } from './metadata/owner.js';
import { IdBlocks, MetadataReplica } from './metadata/replica.js';
import type { RangeMeta, StreamMeta } from './metadata/state.js';
import type { DurableFlush, FlushTiming } from './wal/wal.js';
import { WriteAheadLog } from './wal/wal.js';
import { liveBytes, startForRetainBytes, startForRetainSince } from './compaction/retention.js';
import type { Timers } from './util/async.js';

const MiB = 1024 * 1024;
/** Object ids are reserved this many at a time (one per WAL flush: ~4 minutes at 4 flushes/s). */
const OBJECT_ID_BLOCK = 1000;
const STREAM_ID_BLOCK = 16;
/** Readahead grows up to this on sustained sequential reads (bounded by a quarter of the BlockCache too). */
const MAX_READAHEAD_BYTES = 32 * MiB;
/**
 * A range this small is fetched whole when a reader enters it at its start: a WAL object holds
 * walFlushBytes (8 MiB) plus the append that crossed the threshold, a compacted object ~16 MiB.
 */
const DIRECT_RANGE_BYTES = 16 * MiB;
/** ...and this small even when the read starts inside it (one GET instead of index + blocks). */
const MID_RANGE_WHOLE_BYTES = MiB;
/** Other streams' ranges join a WAL object GET if their reader reaches them within this many ranges... */
const SIBLING_LOOKAHEAD_RANGES = 256;
/** ...and if they are this close to the ranges already in the GET (bytes of streams nobody reads). */
const SIBLING_MAX_GAP_BYTES = 256 * 1024;

/**
 * The range of `ranges` in `objectId` among the next `lookahead` ranges (and `maxBytes` of data)
 * not yet read past `offset`.
 */
function upcomingRangeIn(ranges: readonly RangeMeta[], offset: number, objectId: number, lookahead: number, maxBytes: number): RangeMeta | undefined {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid]!.end <= offset) lo = mid + 1;
    else hi = mid;
  }
  let bytes = 0;
  for (let i = lo; i < ranges.length && i < lo + lookahead && bytes <= maxBytes; i++) {
    const r = ranges[i]!;
    bytes += r.bytes;
    // Only ranges the reader still needs whole (it starts reading them at their beginning).
    if (r.objectId === objectId) return r.start >= offset ? r : undefined;
  }
  return undefined;
}

/** Tuning not (yet) part of the public options; tests use it to make things small and fast. */
export interface InternalOptions {
  timers?: Timers;
  /** WAL commits wait up to this long to share one metadata PUT (default 30 s). */
  metadataCommitDelayMs?: number;
  /** ...or until this many wait (default 64). */
  metadataCommitMaxRecords?: number;
  /** Compaction output object size (default 16 MiB). */
  compactionTargetObjectBytes?: number;
  /** Stream objects below this are merged (default target / 2). */
  compactionSmallObjectBytes?: number;
  /** WAL bytes one split round reads (default 256 MiB). */
  compactionMaxWalBytesPerRound?: number;
  walMaxInflight?: number;
  storeRetry?: Partial<RetryPolicy>;
  /** Sweep orphan objects after open (default true). */
  sweepOrphans?: boolean;
}

const positive = z.number().int().positive();
const nonNegative = z.number().int().nonnegative();
const optionsSchema = z.object({
  nodeId: z.number().int().nonnegative().max(2 ** 31 - 1),
  walFlushIntervalMs: positive.optional(),
  walFlushBytes: positive.optional(),
  walMaxUnflushedBytes: positive.optional(),
  logCacheBytes: nonNegative.optional(),
  blockCacheBytes: positive.optional(),
  objectBlockBytes: positive.max(64 * MiB).optional(),
  compactionIntervalMs: nonNegative.optional(),
  metadataSnapshotEvery: positive.optional(),
  objectDeleteGraceMs: nonNegative.optional(),
});

type Log = NonNullable<StreamClientOptions['log']>;

interface Config {
  nodeId: number;
  walFlushIntervalMs: number;
  walFlushBytes: number;
  walMaxUnflushedBytes: number;
  logCacheBytes: number;
  blockCacheBytes: number;
  objectBlockBytes: number;
  compactionIntervalMs: number;
  metadataSnapshotEvery: number;
  objectDeleteGraceMs: number;
  now: () => number;
  log: Log | undefined;
}

function config(options: Omit<StreamClientOptions, 'store'>): Config {
  const parsed = optionsSchema.safeParse({
    nodeId: options.nodeId,
    walFlushIntervalMs: options.walFlushIntervalMs,
    walFlushBytes: options.walFlushBytes,
    walMaxUnflushedBytes: options.walMaxUnflushedBytes,
    logCacheBytes: options.logCacheBytes,
    blockCacheBytes: options.blockCacheBytes,
    objectBlockBytes: options.objectBlockBytes,
    compactionIntervalMs: options.compactionIntervalMs,
    metadataSnapshotEvery: options.metadataSnapshotEvery,
    objectDeleteGraceMs: options.objectDeleteGraceMs,
  });
  if (!parsed.success) {
    throw new Error(`invalid S3Stream options: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const o = parsed.data;
  return {
    nodeId: o.nodeId,
    walFlushIntervalMs: o.walFlushIntervalMs ?? 250,
    walFlushBytes: o.walFlushBytes ?? 8 * MiB,
    walMaxUnflushedBytes: o.walMaxUnflushedBytes ?? 256 * MiB,
    logCacheBytes: o.logCacheBytes ?? 256 * MiB,
    blockCacheBytes: o.blockCacheBytes ?? 128 * MiB,
    objectBlockBytes: o.objectBlockBytes ?? 512 * 1024,
    compactionIntervalMs: o.compactionIntervalMs ?? 60_000,
    metadataSnapshotEvery: o.metadataSnapshotEvery ?? 1000,
    objectDeleteGraceMs: o.objectDeleteGraceMs ?? 60_000,
    now: options.now ?? Date.now,
    log: options.log,
  };
}

interface Waiter {
  readonly offset: number;
  readonly resolve: () => void;
}

/** Per-stream state shared by every handle of the stream in this process. */
class StreamRuntime {
  nextOffset: number;
  confirmOffset: number;
  deleted = false;
  waiters: Waiter[] = [];
  /** Sequential-read detection for readahead. */
  readExpected = -1;
  readahead: number;

  constructor(
    readonly id: number,
    offset: number,
    initialReadahead: number,
  ) {
    this.nextOffset = offset;
    this.confirmOffset = offset;
    this.readahead = initialReadahead;
  }

  confirm(offset: number): void {
    if (offset <= this.confirmOffset) return;
    this.confirmOffset = offset;
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (offset > w.offset) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  wakeAll(): void {
    for (const w of this.waiters.splice(0)) w.resolve();
  }
}

class S3Stream implements Stream {
  private closed = false;
  private lastDurable: Promise<void> | undefined;

  constructor(
    private readonly client: S3StreamClient,
    private readonly rt: StreamRuntime,
    readonly epoch: number,
  ) {}

  get id(): number {
    return this.rt.id;
  }

  startOffset(): number {
    return this.client.meta(this.rt.id)?.startOffset ?? this.rt.confirmOffset;
  }
  nextOffset(): number {
    return this.rt.nextOffset;
  }
  confirmOffset(): number {
    return this.rt.confirmOffset;
  }

  private checkWritable(): void {
    if (this.closed) throw new StreamClosedError(`stream ${this.id} (epoch ${this.epoch}) is closed; open it again to write`);
    if (this.rt.deleted) throw new StreamClosedError(`stream ${this.id} was deleted`);
    this.client.checkUsable();
    const current = this.client.meta(this.id)?.epoch;
    if (current !== this.epoch) {
      throw new StreamFencedError(`stream ${this.id} was opened with epoch ${current}; this handle has epoch ${this.epoch} and may no longer write`);
    }
  }

  append(payload: Buffer, count: number): AppendResult {
    this.checkWritable();
    if (!Buffer.isBuffer(payload)) throw new TypeError('append payload must be a Buffer');
    if (!Number.isInteger(count) || count < 1 || count > 0xffff_ffff) throw new RangeError(`append count must be a positive 32-bit integer, got ${count}`);
    const baseOffset = this.rt.nextOffset;
    if (!Number.isSafeInteger(baseOffset + count)) throw new RangeError(`stream ${this.id} would overflow the offset space`);
    this.rt.nextOffset = baseOffset + count;
    // Not copied here: the WAL copies it once, straight into the object body it uploads, and the
    // caches then hold views into that body, so a slice of a big request buffer is only pinned
    // until its flush is built.
    const record: StoredRecord = { baseOffset, count, appendTimeMs: this.client.now(), payload };
    const durable = this.client.wal.append(this.id, record);
    this.lastDurable = durable;
    return { baseOffset, durable };
  }

  ready(): Promise<void> {
    return this.client.wal.ready();
  }

  fetch(startOffset: number, endOffset: number, maxBytes: number): Promise<FetchedBatch[]> {
    if (this.closed) return Promise.reject(new StreamClosedError(`stream ${this.id} (epoch ${this.epoch}) is closed`));
    return this.client.fetch(this.rt, startOffset, endOffset, maxBytes);
  }

  waitForData(offset: number, signal: AbortSignal): Promise<void> {
    if (this.rt.confirmOffset > offset || signal.aborted || this.rt.deleted || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const onAbort = (): void => {
        this.rt.waiters = this.rt.waiters.filter((w) => w !== waiter);
        resolve();
      };
      const waiter: Waiter = {
        offset,
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.rt.waiters.push(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  async trim(newStartOffset: number): Promise<void> {
    this.checkWritable();
    const start = this.startOffset();
    if (newStartOffset <= start) return;
    if (!Number.isSafeInteger(newStartOffset) || newStartOffset > this.rt.confirmOffset) {
      throw new OffsetOutOfRangeError(
        `cannot trim stream ${this.id} to ${newStartOffset}: beyond its confirmed offset ${this.rt.confirmOffset}`,
        start,
        this.rt.confirmOffset,
      );
    }
    await this.client.replica.append([{ t: 'trim', id: this.id, startOffset: newStartOffset }]);
  }

  async retainSince(appendedBeforeMs: number): Promise<number> {
    const s = this.client.meta(this.id);
    if (s === undefined) throw new StreamClosedError(`stream ${this.id} was deleted`);
    const target = startForRetainSince(s, appendedBeforeMs, this.rt.confirmOffset);
    if (target > s.startOffset) await this.trim(target);
    return this.startOffset();
  }

  async retainBytes(maxBytes: number): Promise<number> {
    const s = this.client.meta(this.id);
    if (s === undefined) throw new StreamClosedError(`stream ${this.id} was deleted`);
    const target = startForRetainBytes(s, maxBytes, this.rt.confirmOffset);
    if (target > s.startOffset) await this.trim(target);
    return this.startOffset();
  }

  sizeBytes(): number {
    const s = this.client.meta(this.id);
    return s === undefined ? 0 : liveBytes(s);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.lastDurable !== undefined) {
      await this.client.wal.flush();
      await this.lastDurable;
    }
  }
}

class Kv implements KvStore {
  private readonly listeners = new Set<(keys: readonly string[] | undefined) => void>();

  constructor(private readonly client: S3StreamClient) {}

  onChange(listener: (keys: readonly string[] | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(keys: readonly string[] | undefined): void {
    if (keys !== undefined && keys.length === 0) return;
    for (const l of [...this.listeners]) {
      try {
        l(keys);
      } catch {
        // A listener's failure is its own; the others still hear of the change.
      }
    }
  }

  get(key: string): Buffer | undefined {
    const v = this.client.replica.state.kv.get(key);
    return v === undefined ? undefined : Buffer.from(v);
  }

  list(prefix: string): string[] {
    const out: string[] = [];
    for (const k of this.client.replica.state.kv.keys()) if (k.startsWith(prefix)) out.push(k);
    return out.sort();
  }

  async put(key: string, value: Buffer): Promise<void> {
    if (typeof key !== 'string' || key.length === 0) throw new TypeError('kv key must be a non-empty string');
    if (!Buffer.isBuffer(value)) throw new TypeError('kv value must be a Buffer');
    this.client.checkUsable();
    await this.client.replica.append([{ t: 'kv', put: [[key, value.toString('base64')]], del: [] }]);
  }

  async delete(key: string): Promise<void> {
    this.client.checkUsable();
    await this.client.replica.append([{ t: 'kv', put: [], del: [key] }]);
  }
}

class S3StreamClient implements StreamClient {
  readonly kv: Kv;
  readonly wal: WriteAheadLog;
  readonly logCache: LogCache;
  readonly blockCache: BlockCache;
  readonly indexCache: IndexCache;
  readonly now: () => number;
  private readonly runtimes = new Map<number, StreamRuntime>();
  /** Gaps reportGap() already logged (bounded). */
  private readonly reportedGaps = new Set<string>();
  private readonly objectIds: IdBlocks;
  private readonly streamIds: IdBlocks;
  private closing: Promise<void> | undefined;
  private closed = false;
  private readonly maxReadahead: number;

  constructor(
    private readonly cfg: Config,
    private readonly store: InstrumentedObjectStore,
    private readonly channel: MetadataChannel,
    readonly replica: MetadataReplica,
    registration: NodeRegistration,
    internal: InternalOptions,
    /** Runs after the client closed (the in-process owner closes there). */
    private readonly afterClose: () => Promise<void>,
    private readonly metadataRecordsWritten: () => number,
    private readonly onFenced: ((err: MetadataFencedError) => void) | undefined,
  ) {
    this.now = cfg.now;
    this.kv = new Kv(this);
    this.logCache = new LogCache(cfg.logCacheBytes);
    this.blockCache = new BlockCache(store, cfg.blockCacheBytes);
    this.indexCache = new IndexCache(store, Math.max(MiB, Math.floor(cfg.blockCacheBytes / 8)));
    this.maxReadahead = Math.max(cfg.objectBlockBytes, Math.min(MAX_READAHEAD_BYTES, Math.floor(cfg.blockCacheBytes / 4)));
    const { node, writerEpoch } = registration;
    this.objectIds = new IdBlocks(() => channel.allocateIds(node, writerEpoch, 'object', OBJECT_ID_BLOCK), OBJECT_ID_BLOCK / 2);
    this.streamIds = new IdBlocks(() => channel.allocateIds(node, writerEpoch, 'stream', STREAM_ID_BLOCK), 1);
    this.wal = new WriteAheadLog({
      store,
      nodeId: node,
      writerEpoch,
      startSeq: registration.walStartSeq,
      flushIntervalMs: cfg.walFlushIntervalMs,
      flushBytes: cfg.walFlushBytes,
      maxUnflushedBytes: cfg.walMaxUnflushedBytes,
      blockBytes: cfg.objectBlockBytes,
      ...(internal.walMaxInflight !== undefined ? { maxInflight: internal.walMaxInflight } : {}),
      allocateObjectId: () => this.objectIds.next(),
      onFenced: (err) => this.reportFenced(err),
      onDurable: (f) => this.onDurable(f),
      ...(internal.timers !== undefined ? { timers: internal.timers } : {}),
      log: cfg.log,
    });
  }

  private fencedReported = false;

  reportFenced(err: MetadataFencedError): void {
    if (this.fencedReported) return;
    this.fencedReported = true;
    this.cfg.log?.('error', 'this stream client was fenced', { error: err.message });
    try {
      this.onFenced?.(err);
    } catch {
      // the embedding application's handler; nothing more to do here
    }
  }

  meta(id: number): StreamMeta | undefined {
    return this.replica.state.streams.get(id);
  }

  checkUsable(): void {
    if (this.closed || this.closing !== undefined) throw new StreamClosedError('the stream client is closed');
    const fenced = this.replica.fenced();
    if (fenced !== undefined) {
      throw new MetadataFencedError(`this stream client was fenced (${fenced.message}): another writer took over this node or the store; stop this process`);
    }
  }

  private runtime(s: StreamMeta): StreamRuntime {
    let rt = this.runtimes.get(s.id);
    if (rt === undefined) {
      rt = new StreamRuntime(s.id, s.nextOffset, this.cfg.objectBlockBytes);
      this.runtimes.set(s.id, rt);
    }
    return rt;
  }

  private onDurable(f: DurableFlush): void {
    // Into this node's replica first: once confirmOffset moves, reads may need the ranges (the
    // LogCache can evict). The owner writes the commit lazily.
    const ranges = rangeRecordsOf(f.index);
    this.replica.commitWal({
      t: 'commitWal',
      node: this.cfg.nodeId,
      seq: f.seq,
      object: { id: f.objectId, key: f.key, size: f.size, kind: 'wal', ranges },
    });
    for (const [sid, recs] of f.records) {
      const rt = this.runtimes.get(sid);
      if (rt === undefined || rt.deleted) continue;
      this.logCache.put(sid, recs);
    }
    for (const r of ranges) this.runtimes.get(r.s)?.confirm(r.end);
  }

  async createStream(): Promise<Stream> {
    this.checkUsable();
    const id = await this.streamIds.next();
    await this.replica.append([{ t: 'createStream', id }]);
    const s = this.meta(id);
    if (s === undefined) throw new Error(`stream ${id} vanished right after creation`);
    return new S3Stream(this, this.runtime(s), s.epoch);
  }

  async openStream(streamId: number): Promise<Stream> {
    this.checkUsable();
    const before = this.meta(streamId);
    if (before === undefined) throw new Error(`cannot open stream ${streamId}: it does not exist (deleted or never created)`);
    const epoch = before.epoch + 1;
    // Once the owner wrote it, this node's replica holds everything logged before: in particular
    // the WAL commits of a node that had the stream until now.
    await this.replica.append([{ t: 'openStream', id: streamId, epoch }]);
    const s = this.meta(streamId);
    if (s === undefined) throw new Error(`stream ${streamId} was deleted while it was being opened`);
    const rt = this.runtimes.get(streamId);
    if (rt !== undefined && s.nextOffset > rt.nextOffset) {
      // Another node appended since this one last had the stream: what this node remembers of
      // it (next offset, tail in the LogCache) is stale. Appends of its own still in flight
      // would make rt.nextOffset >= s.nextOffset, so they are never thrown away here.
      this.logCache.drop(streamId);
      rt.nextOffset = s.nextOffset;
      rt.confirm(s.nextOffset);
      rt.readExpected = -1;
    }
    return new S3Stream(this, this.runtime(s), epoch);
  }

  async deleteStream(streamId: number): Promise<void> {
    this.checkUsable();
    if (this.meta(streamId) === undefined) return;
    const rt = this.runtimes.get(streamId);
    if (rt !== undefined) {
      rt.deleted = true;
      rt.wakeAll();
      this.runtimes.delete(streamId);
    }
    this.logCache.drop(streamId);
    await this.replica.append([{ t: 'deleteStream', id: streamId }]);
  }

  listStreams(): StreamInfo[] {
    return [...this.replica.state.streams.values()]
      .map((s) => ({ id: s.id, epoch: s.epoch, startOffset: s.startOffset, nextOffset: this.runtimes.get(s.id)?.nextOffset ?? s.nextOffset }))
      .sort((a, b) => a.id - b.id);
  }

  async fetch(rt: StreamRuntime, startOffset: number, endOffset: number, maxBytes: number): Promise<FetchedBatch[]> {
    const s = this.meta(rt.id);
    const so = s?.startOffset ?? rt.confirmOffset;
    const co = rt.confirmOffset;
    if (rt.deleted || s === undefined) throw new StreamClosedError(`stream ${rt.id} was deleted`);
    if (!Number.isSafeInteger(startOffset) || startOffset < so || startOffset > co) {
      throw new OffsetOutOfRangeError(`offset ${startOffset} is outside stream ${rt.id}'s range [${so}, ${co}]`, so, co);
    }
    const end = Math.min(endOffset, co);
    const out: FetchedBatch[] = [];
    if (startOffset >= end) return out;
    let bytes = 0;
    let pos = startOffset;
    let full = false;
    const visit = (r: StoredRecord): boolean => {
      if (r.baseOffset + r.count <= pos) return true;
      if (r.baseOffset > pos) this.reportGap(rt.id, pos, r.baseOffset);
      if (out.length > 0 && bytes + r.payload.length > maxBytes) {
        full = true;
        return false;
      }
      out.push({ baseOffset: r.baseOffset, count: r.count, payload: r.payload });
      bytes += r.payload.length;
      pos = r.baseOffset + r.count;
      if (bytes >= maxBytes) full = true;
      return !full;
    };

    const sequential = startOffset === rt.readExpected;
    rt.readahead = sequential ? Math.min(this.maxReadahead, rt.readahead * 2) : this.cfg.objectBlockBytes;
    for (let attempts = 0; pos < end && !full; ) {
      const before = pos;
      const cached = this.logCache.firstOffset(rt.id);
      if (cached !== undefined && pos >= cached) {
        if (this.logCache.read(rt.id, pos, end, visit) === undefined) continue; // evicted meanwhile
        if (pos === before) break;
        continue;
      }
      const limit = cached === undefined ? end : Math.min(end, cached);
      try {
        await this.readObjects(rt, pos, limit, visit, () => full);
      } catch (err) {
        // A compaction may have replaced and deleted an object we resolved: resolve again.
        if (err instanceof ObjectNotFoundError && attempts++ < 3) continue;
        throw err;
      }
      if (pos === before) {
        // Nothing stored in [pos, limit): a gap (lost WAL object); skip to the cache if it is after.
        if (cached !== undefined && cached > pos && cached < end) {
          this.reportGap(rt.id, pos, cached);
          pos = cached;
        } else break;
      }
    }
    rt.readExpected = pos;
    return out;
  }

  /**
   * Offsets below the confirmed offset with no stored record: their data is unreachable (a WAL
   * object the metadata never recorded). Reads go on after it rather than stall every reader
   * forever, but never silently: logged once per gap.
   */
  private reportGap(streamId: number, from: number, to: number): void {
    const key = `${streamId}:${from}:${to}`;
    if (this.reportedGaps.has(key)) return;
    if (this.reportedGaps.size >= 1000) this.reportedGaps.clear();
    this.reportedGaps.add(key);
    this.cfg.log?.('error', 'stream has no stored data for offsets below its confirmed offset; reads skip them', { streamId, from, to, records: to - from });
  }

  private async readObjects(
    rt: StreamRuntime,
    from: number,
    limit: number,
    visit: (r: StoredRecord) => boolean,
    isFull: () => boolean,
  ): Promise<void> {
    const s = this.meta(rt.id);
    if (s === undefined) return;
    const ranges = s.ranges;
    // First range ending after `from`.
    let lo = 0;
    let hi = ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ranges[mid]!.end <= from) lo = mid + 1;
      else hi = mid;
    }
    if (rt.readahead > this.cfg.objectBlockBytes) this.prefetchRanges(rt, ranges, lo, limit);
    for (let ri = lo; ri < ranges.length && !isFull(); ri++) {
      const range = ranges[ri]!;
      if (range.start >= limit) break;
      const obj = this.replica.state.objects.get(range.objectId);
      if (obj === undefined) throw new ObjectNotFoundError(`object ${range.objectId}`);
      const lower = Math.max(from, range.start);
      const entries = await this.rangeEntries(rt, obj, range, lower);
      for (let i = 0; i < entries.length; i++) {
        if (entries[i]!.startOffset >= limit) return;
        const records = await this.blockCache.block(obj, entries, i, rt.readahead);
        for (const r of records) {
          if (r.baseOffset < range.start || r.baseOffset >= range.end) continue;
          if (r.baseOffset >= limit) return;
          if (!visit(r)) return;
        }
      }
    }
  }

  /**
   * The stream's blocks in one range of an object from `lower` on. A range whose position is in the
   * metadata is fetched whole with ONE ranged GET (no index GET) when the reader starts at its
   * beginning (a catch-up reader entering the next object) and it fits the readahead, or when it is
   * small; otherwise the object's index (cached) says which blocks to fetch.
   */
  private async rangeEntries(rt: StreamRuntime, obj: ObjectRef, range: RangeMeta, lower: number): Promise<IndexEntry[]> {
    if (range.pos !== undefined) {
      const ref = { streamId: rt.id, pos: range.pos, bytes: range.bytes };
      let layout = this.blockCache.rangeLayout(obj, ref);
      if (layout === undefined && this.wholeRange(rt, range, lower)) layout = await this.loadWithSiblings(obj, rt, range).layout;
      if (layout !== undefined) return entriesFor(layout, rt.id, lower, range.end);
    }
    const index = await this.indexCache.get(obj);
    return entriesFor(index.entries, rt.id, lower, range.end);
  }

  /**
   * Loads a stream's whole range of an object, together with the adjacent ranges of OTHER streams
   * in the same WAL object that are about to be read too: streams whose sequential reader has not
   * yet passed them and will reach them within a few ranges (the partitions of a topic consumed in
   * lockstep). One GET then serves them all instead of one per stream.
   */
  private loadWithSiblings(obj: ObjectRef, rt: StreamRuntime, range: RangeMeta): { layout: Promise<IndexEntry[]>; spanBytes: number } {
    const own = { streamId: rt.id, pos: range.pos!, bytes: range.bytes };
    const meta = this.replica.state.objects.get(obj.id);
    const group = [own];
    if (meta !== undefined && meta.kind === 'wal' && meta.refs.size > 1) {
      for (const sid of meta.refs) {
        if (sid === rt.id) continue;
        const other = this.runtimes.get(sid);
        const sm = this.meta(sid);
        if (other === undefined || sm === undefined || other.readahead <= this.cfg.objectBlockBytes || other.readExpected < 0) continue;
        // Within what the BlockCache keeps until that reader gets there.
        const r = upcomingRangeIn(sm.ranges, other.readExpected, obj.id, SIBLING_LOOKAHEAD_RANGES, this.maxReadahead);
        if (r?.pos !== undefined && r.bytes <= DIRECT_RANGE_BYTES) group.push({ streamId: sid, pos: r.pos, bytes: r.bytes });
      }
    }
    if (group.length === 1) return { layout: this.blockCache.loadRange(obj, own), spanBytes: own.bytes };
    group.sort((a, b) => a.pos - b.pos);
    // The run of ranges around ours with small gaps, within a bounded span.
    const end = (r: { pos: number; bytes: number }): number => r.pos + r.bytes;
    const budget = Math.max(rt.readahead, DIRECT_RANGE_BYTES) * 2;
    let lo = group.indexOf(own);
    let hi = lo;
    for (let grew = true; grew; ) {
      grew = false;
      const prev = group[lo - 1];
      if (prev !== undefined && group[lo]!.pos - end(prev) <= SIBLING_MAX_GAP_BYTES && end(group[hi]!) - prev.pos <= budget) {
        lo--;
        grew = true;
      }
      const next = group[hi + 1];
      if (next !== undefined && next.pos - end(group[hi]!) <= SIBLING_MAX_GAP_BYTES && end(next) - group[lo]!.pos <= budget) {
        hi++;
        grew = true;
      }
    }
    const run = group.slice(lo, hi + 1);
    return {
      layout: this.blockCache.loadRanges(obj, run, SIBLING_MAX_GAP_BYTES)[run.indexOf(own)]!,
      spanBytes: end(run[run.length - 1]!) - run[0]!.pos,
    };
  }

  private wholeRange(rt: StreamRuntime, range: RangeMeta, lower: number): boolean {
    if (lower <= range.start) return range.bytes <= Math.max(rt.readahead, DIRECT_RANGE_BYTES);
    return range.bytes <= Math.max(rt.readahead, MID_RANGE_WHOLE_BYTES);
  }

  /**
   * Readahead across objects: before compaction a stream's data is spread over many WAL objects,
   * so a sequential reader's next ranges, up to the readahead budget, are fetched in parallel now
   * (whole, one GET each, when their position is known); the reading loop then finds them in the
   * BlockCache or joins the GETs in flight.
   */
  private prefetchRanges(rt: StreamRuntime, ranges: readonly RangeMeta[], from: number, limit: number): void {
    let budget = rt.readahead;
    for (let ri = from + 1; ri < ranges.length && budget > 0; ri++) {
      const range = ranges[ri]!;
      if (range.start >= limit) break;
      const obj = this.replica.state.objects.get(range.objectId);
      if (obj === undefined) break;
      const share = Math.min(budget, range.bytes);
      if (range.pos !== undefined && this.wholeRange(rt, range, range.start)) {
        const load = this.loadWithSiblings(obj, rt, range);
        load.layout.catch(() => undefined); // a hint only
        // Other streams' ranges in the same GET count too: readahead is what this reader makes
        // the BlockCache hold ahead of the readers, whoever's data it is.
        budget -= load.spanBytes;
        continue;
      }
      budget -= range.bytes;
      void this.indexCache
        .get(obj)
        .then((index) => {
          const entries = entriesFor(index.entries, rt.id, range.start, range.end);
          if (entries.length > 0) return this.blockCache.block(obj, entries, 0, share);
          return undefined;
        })
        .catch(() => undefined); // only a hint; the real read reports errors
    }
  }

  async flush(): Promise<void> {
    await this.wal.flush();
  }

  async commit(): Promise<void> {
    this.checkUsable();
    await this.wal.flush();
    await this.replica.syncCommits();
  }

  async compactNow(): Promise<void> {
    this.checkUsable();
    await this.replica.waitFor(await this.channel.compactNow());
  }

  stats(): StorageStats {
    const c = this.store.counters();
    let streamObjects = 0;
    let walObjectsLive = 0;
    for (const o of this.replica.state.objects.values()) {
      if (o.releasedAtMs !== undefined) continue;
      if (o.kind === 'stream') streamObjects++;
      else walObjectsLive++;
    }
    return {
      objectStoreRequests: c.requests,
      objectStoreErrors: c.errors,
      objectStoreRetries: c.retries,
      bytesUploaded: c.bytesUploaded,
      bytesDownloaded: c.bytesDownloaded,
      walObjectsWritten: this.wal.objectsWritten,
      walUnflushedBytes: this.wal.unflushedBytes,
      logCacheBytes: this.logCache.bytes,
      blockCacheBytes: this.blockCache.bytes,
      blockCacheHits: this.blockCache.hits,
      blockCacheMisses: this.blockCache.misses,
      streamObjects,
      walObjectsLive,
      metadataRecords: this.metadataRecordsWritten(),
      ...this.walLatency(),
    };
  }

  private walLatency(): { walFlushLatencyP99Ms: number; walFlushLatencyMaxMs: number } {
    const last = this.wal.timings.slice(-256).map((t) => t.acked).sort((a, b) => a - b);
    if (last.length === 0) return { walFlushLatencyP99Ms: 0, walFlushLatencyMaxMs: 0 };
    return {
      walFlushLatencyP99Ms: Math.round(last[Math.min(last.length - 1, Math.floor(last.length * 0.99))]!),
      walFlushLatencyMaxMs: Math.round(last[last.length - 1]!),
    };
  }

  close(): Promise<void> {
    if (this.closing === undefined) {
      this.closing = (async () => {
        try {
          if (this.replica.fenced() === undefined) {
            await this.wal.close();
            // Everything is acked and committed: retire the writer, so the next registration of
            // this node needs no tombstone and no WAL listing.
            await this.channel
              .retireNode(this.cfg.nodeId, this.replica.writerEpoch, this.wal.seq - 1)
              .then(() => this.channel.flush())
              .catch((err: unknown) => this.cfg.log?.('warn', 'retiring the WAL writer at close failed; the next start fences it', { error: String(err) }));
          }
        } finally {
          this.closed = true;
          for (const rt of this.runtimes.values()) rt.wakeAll();
          await this.replica.stop();
          await this.afterClose();
        }
      })();
    }
    return this.closing;
  }
}

/** Where the last WAL flushes spent their time (benchmarks profiling produce latency). */
export function walFlushTimings(client: StreamClient): readonly FlushTiming[] {
  return client instanceof S3StreamClient ? client.wal.timings : [];
}

function instrument(store: ObjectStore, cfg: Config, internal: InternalOptions): InstrumentedObjectStore {
  if (store instanceof InstrumentedObjectStore) return store;
  return new InstrumentedObjectStore(store, { ...(internal.storeRetry !== undefined ? { retry: internal.storeRetry } : {}), log: cfg.log });
}

/** What a metadata owner is configured with, apart from where it runs. */
export type MetadataOwnerSettings = Omit<MetadataOwnerOptions, 'store' | 'node' | 'info' | 'onFenced' | 'takeOverFrom'>;

/**
 * The metadata owner's settings for these client options (their defaults included): the one place
 * that derives them, for the in-process owner of openStreamClient and for a cluster's controller.
 */
export function metadataOwnerOptions(options: Omit<StreamClientOptions, 'store'>, internal: InternalOptions = {}): MetadataOwnerSettings {
  const cfg = config(options);
  const target = internal.compactionTargetObjectBytes ?? 16 * MiB;
  return {
    now: cfg.now,
    snapshotEvery: cfg.metadataSnapshotEvery,
    // Commits of WAL objects are rare (recovery re-applies uncommitted ones by listing the WAL):
    // they bound what a restart re-reads (<= 64 objects), and cost < 0.05 PUT/s when idle.
    commitDelayMs: internal.metadataCommitDelayMs ?? 30_000,
    commitMaxRecords: internal.metadataCommitMaxRecords ?? 64,
    compactionIntervalMs: cfg.compactionIntervalMs,
    objectDeleteGraceMs: cfg.objectDeleteGraceMs,
    objectBlockBytes: cfg.objectBlockBytes,
    planner: {
      targetObjectBytes: target,
      smallObjectBytes: internal.compactionSmallObjectBytes ?? Math.floor(target / 2),
      maxWalBytesPerRound: internal.compactionMaxWalBytesPerRound ?? 256 * MiB,
    },
    indexCacheBytes: Math.max(MiB, Math.floor(cfg.blockCacheBytes / 8)),
    ...(internal.timers !== undefined ? { timers: internal.timers } : {}),
    log: cfg.log,
  };
}

/**
 * Opens the single-process client on a store: runs the metadata owner in-process (taking the store
 * over), fences every other node's WAL writer and recovers what they made durable, registers this
 * node and follows the owner's log. Recovers every stream, every durable append (including those
 * only in WAL objects not yet committed to metadata), the KV space and trims. The caller keeps
 * ownership of the store (close() does not close it).
 */
export async function openStreamClient(options: StreamClientOptions, internal: InternalOptions = {}): Promise<StreamClient> {
  const cfg = config(options);
  const store = instrument(options.store, cfg, internal);
  const owner = await MetadataOwner.open({ ...metadataOwnerOptions(options, internal), store, node: cfg.nodeId });
  try {
    // Single process: no other node can be alive, so their writers are fenced right away.
    for (const node of owner.liveNodes()) if (node !== cfg.nodeId) await owner.fenceNode(node);
    const client = await openStreamClientOn(owner, options, internal, {
      afterClose: () => owner.close(),
      metadataRecordsWritten: () => owner.stats().recordsWritten,
    });
    // After recovery: the sweep must see the recovered objects as known.
    if (internal.sweepOrphans ?? true) owner.startSweep();
    return client;
  } catch (err) {
    await owner.close().catch(() => undefined);
    throw err;
  }
}

/**
 * Opens a node's client over a channel to the metadata owner (in a cluster, the controller): registers
 * the node's new WAL writer (fencing its previous one), loads the owner's state and follows it.
 */
export async function openStreamClientOn(
  channel: MetadataChannel,
  options: Omit<StreamClientOptions, 'store'> & { store: ObjectStore },
  internal: InternalOptions = {},
  hooks: { afterClose?: () => Promise<void>; metadataRecordsWritten?: () => number } = {},
): Promise<StreamClient> {
  const cfg = config(options);
  const store = instrument(options.store, cfg, internal);
  const registration = await channel.registerNode(cfg.nodeId);
  let client: S3StreamClient | undefined;
  const replica = new MetadataReplica({
    channel,
    registration,
    now: cfg.now,
    onApplied: (keys) => client?.kv.notify(keys),
    onFenced: (err) => client?.reportFenced(err),
    ...(internal.timers !== undefined ? { timers: internal.timers } : {}),
    log: cfg.log,
  });
  await replica.start();
  client = new S3StreamClient(
    cfg,
    store,
    channel,
    replica,
    registration,
    internal,
    hooks.afterClose ?? (() => Promise.resolve()),
    hooks.metadataRecordsWritten ?? (() => replica.recordsSent),
    options.onFenced,
  );
  return client;
}
