/**
 * Public contract of the S3Stream storage library.
 *
 * S3Stream knows nothing of Kafka: it stores append-only streams of opaque payloads addressed by
 * offset, on an object store. Each append carries a payload and the number of offsets it spans
 * (`count`); the stream assigns the base offset. The only durable state is the object store:
 * the local disk is never required.
 *
 * Data path: append -> write-ahead log (one object per flush with data of all streams, every
 * `walFlushIntervalMs` or `walFlushBytes`) -> LogCache (recent appends, serves tail reads) ->
 * metadata commit of the WAL object's stream ranges -> background compaction into per-stream
 * objects. Reads of older data go through the BlockCache (ranged GETs, readahead).
 *
 * Metadata (streams, their offsets and object ranges, and a small KV space for the embedding
 * application) lives in an append-only metadata log in the object store: records written with
 * put-if-absent under sequence-numbered keys, so a second writer can never interleave (fencing by
 * the store), plus periodic snapshots that bound replay time.
 *
 * Units: offsets are JS numbers (exact up to 2^53). Sizes are bytes.
 */
import type { ObjectStore } from './object-store/object-store.js';
import type { RequestKind } from './object-store/instrumented.js';

export type { ObjectStore } from './object-store/object-store.js';

export interface StreamClientOptions {
  /**
   * The object store holding all data and metadata. One client writes a store at a time: opening a
   * client fences the previous one (its writes then fail with MetadataFencedError).
   */
  store: ObjectStore;
  /** This process's node id; used in WAL object keys so several writers never collide. */
  nodeId: number;
  /** WAL flush interval (default 250 ms). */
  walFlushIntervalMs?: number;
  /** WAL flush size threshold (default 8 MiB). */
  walFlushBytes?: number;
  /** Max bytes appended but not yet durable before appends wait (back-pressure; default 256 MiB). */
  walMaxUnflushedBytes?: number;
  /** LogCache bound (default 256 MiB). */
  logCacheBytes?: number;
  /** BlockCache bound (default 128 MiB). */
  blockCacheBytes?: number;
  /** Data block size inside objects (default 512 KiB). */
  objectBlockBytes?: number;
  /** Compaction: run interval (default 60 s; 0 disables). */
  compactionIntervalMs?: number;
  /** Snapshot the metadata log after this many records (default 1000). */
  metadataSnapshotEvery?: number;
  /** Grace period before objects that compaction or retention released are deleted (default 60 s). */
  objectDeleteGraceMs?: number;
  /** Injected clock, for tests. */
  now?: () => number;
  /** Optional logger; S3Stream never logs to the console by itself. */
  log?: (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  /**
   * Called once when this client learns it was fenced (its WAL writer or its metadata writes were
   * taken over): nothing it appends can become durable any more; the process should restart.
   */
  onFenced?: (err: MetadataFencedError) => void;
}

export interface StreamInfo {
  readonly id: number;
  /** Fencing epoch: an open with a higher epoch makes writes through lower epochs fail. */
  readonly epoch: number;
  /** First retained offset (moved by trim). */
  readonly startOffset: number;
  /** Offset the next append gets. */
  readonly nextOffset: number;
}

export interface AppendResult {
  /** Offset assigned to the first offset of the appended payload. Assigned synchronously. */
  readonly baseOffset: number;
  /** Resolves when the payload is durable in the object store (the WAL object holding it is written). */
  readonly durable: Promise<void>;
}

export interface FetchedBatch {
  readonly baseOffset: number;
  readonly count: number;
  readonly payload: Buffer;
}

export interface Stream {
  readonly id: number;
  readonly epoch: number;
  /** First retained offset. */
  startOffset(): number;
  /** Offset the next append gets. */
  nextOffset(): number;
  /** End of durable data: every offset below it is in the object store. Reads never go past it. */
  confirmOffset(): number;
  /**
   * Appends a payload spanning `count` offsets. The base offset is assigned synchronously and
   * appends are ordered: durable promises of one stream resolve in append order. Throws
   * StreamFencedError if the stream was opened elsewhere with a higher epoch, StreamClosedError
   * after close() or deleteStream(), MetadataFencedError once another client took over the store.
   * The payload is NOT copied: the caller must not modify it after append() (the WAL copies it
   * once, into the object it uploads, when the flush is built). append() itself never blocks: when too many bytes are unflushed the
   * data is still accepted and its `durable` just resolves later; callers apply back-pressure
   * upstream by awaiting `ready()` before appending.
   */
  append(payload: Buffer, count: number): AppendResult;
  /** Resolves when the WAL has room for more appends. */
  ready(): Promise<void>;
  /**
   * Returns the batches covering [startOffset, min(endOffset, confirmOffset)), whole batches only,
   * the first one being the batch that contains startOffset, stopping once maxBytes is reached
   * (the first batch is returned even if larger than maxBytes). Throws OffsetOutOfRangeError when
   * startOffset < startOffset() or > confirmOffset().
   */
  fetch(startOffset: number, endOffset: number, maxBytes: number): Promise<FetchedBatch[]>;
  /** Resolves when confirmOffset() > offset or the signal aborts (then resolves too). */
  waitForData(offset: number, signal: AbortSignal): Promise<void>;
  /**
   * Moves the start offset forward (retention, delete-records); data below it becomes unreadable and
   * is freed. A no-op at or below startOffset(); OffsetOutOfRangeError beyond confirmOffset();
   * StreamFencedError through a handle with an older epoch.
   */
  trim(newStartOffset: number): Promise<void>;
  /**
   * Retention by time: moves the start offset past data appended before `appendedBeforeMs`, in
   * whole stored ranges (never past confirmOffset). Returns the new start offset.
   */
  retainSince(appendedBeforeMs: number): Promise<number>;
  /** Retention by size: trims the oldest whole ranges until at most maxBytes remain. Returns the new start offset. */
  retainBytes(maxBytes: number): Promise<number>;
  /** Approximate stored bytes between startOffset() and confirmOffset(). */
  sizeBytes(): number;
  /** Flushes pending appends and stops accepting new ones on this handle. */
  close(): Promise<void>;
}

export interface KvStore {
  get(key: string): Buffer | undefined;
  /** Keys with the prefix, sorted. */
  list(prefix: string): string[];
  /** Durable when the promise resolves. Several puts/deletes may be batched into one metadata record. */
  put(key: string, value: Buffer): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Calls `listener` after KV changes reach this node (written here or by any other node), with the
   * keys changed, or undefined when anything may have changed (a reload). Returns an unsubscribe.
   */
  onChange(listener: (keys: readonly string[] | undefined) => void): () => void;
}

export interface StreamClient {
  /** Creates a new empty stream (durable when resolved). */
  createStream(): Promise<Stream>;
  /** Opens an existing stream for append and read, bumping its epoch (fences older handles). Throws if it does not exist. */
  openStream(streamId: number): Promise<Stream>;
  /** Deletes a stream and (after the grace period) its objects. A no-op for unknown ids; ids are never reused. */
  deleteStream(streamId: number): Promise<void>;
  listStreams(): StreamInfo[];
  /** Small application metadata (topics, configs...), persisted in the same metadata log. */
  readonly kv: KvStore;
  /** Forces the WAL to flush now and waits until everything appended so far is durable. */
  flush(): Promise<void>;
  /**
   * flush(), then makes this node's WAL commits durable in the metadata now (they are normally
   * written lazily): before another node opens one of this node's streams, it must see all its data.
   */
  commit(): Promise<void>;
  /** Runs one compaction round now (tests and benchmarks). */
  compactNow(): Promise<void>;
  /** Counters for metrics: requests by type, bytes up/down, cache hits/misses, object counts. */
  stats(): StorageStats;
  /** Flushes, commits, stops background work. Idempotent. Does not close the ObjectStore (the caller owns it). */
  close(): Promise<void>;
}

export interface StorageStats {
  /** Billable requests by type (every attempt counts; multipart uploads count create, parts and complete). */
  readonly objectStoreRequests: Readonly<Record<RequestKind, number>>;
  /** Failed requests by type (every failed attempt). */
  readonly objectStoreErrors: Readonly<Record<RequestKind, number>>;
  /** Requests retried after a transient failure. */
  readonly objectStoreRetries: number;
  readonly bytesUploaded: number;
  readonly bytesDownloaded: number;
  readonly walObjectsWritten: number;
  readonly walUnflushedBytes: number;
  readonly logCacheBytes: number;
  readonly blockCacheBytes: number;
  readonly blockCacheHits: number;
  readonly blockCacheMisses: number;
  readonly streamObjects: number;
  readonly walObjectsLive: number;
  /** Metadata records written by this client (batched: several records share one log object PUT). */
  readonly metadataRecords: number;
  /**
   * WAL latency over the last 256 flushes: from a flush's first append to its ack (what the
   * earliest append of a flush waited; appends wait at most this), p99 and max, in ms.
   */
  readonly walFlushLatencyP99Ms: number;
  readonly walFlushLatencyMaxMs: number;
}

export class StreamFencedError extends Error {
  override readonly name = 'StreamFencedError';
}
export class StreamClosedError extends Error {
  override readonly name = 'StreamClosedError';
}
export class OffsetOutOfRangeError extends Error {
  override readonly name = 'OffsetOutOfRangeError';
  constructor(
    message: string,
    readonly startOffset: number,
    readonly endOffset: number,
  ) {
    super(message);
  }
}
/** Another writer appended to the metadata log (put-if-absent lost): this client must stop writing. */
export class MetadataFencedError extends Error {
  override readonly name = 'MetadataFencedError';
}

/**
 * The metadata owner refused a node's WAL commit because an earlier one of that node is missing
 * (the previous owner died with it unwritten): committing past it would make the skipped object's
 * records unreachable. The node sends every commit it has not seen in the log again, in seq order.
 */
export class WalCommitGapError extends Error {
  override readonly name = 'WalCommitGapError';
}
