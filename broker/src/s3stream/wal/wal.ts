/**
 * Write-ahead log on the object store. Appends of all streams are buffered and flushed as ONE
 * object `wal/<nodeId>/<seq>` per flush, every `flushIntervalMs` or as soon as `flushBytes` are
 * buffered. Several uploads may be in flight, but flushes complete in seq order: a flush is acked
 * (its appends' promises resolve, `onDurable` runs) only after every earlier flush was.
 *
 * A failed upload is retried until it succeeds; it is never dropped and never acked early. Objects
 * are created with put-if-absent and acked strictly in seq order: once the metadata owner put a
 * tombstone at a seq (fencing this writer, see recovery.ts), that PUT fails and nothing at or after
 * it is ever acked, so a fenced writer cannot ack data the recovery did not see.
 */
import type { ObjectStore } from '../object-store/object-store.js';
import type { IndexEntry, StoredRecord } from '../object/format.js';
import { ObjectWriter, recordBytes } from '../object/format.js';
import type { Deferred, Timers } from '../util/async.js';
import { backoffMs, deferred, quiet, realTimers, sleep } from '../util/async.js';
import { padSeq } from '../util/binary.js';
import { MetadataFencedError } from '../api.js';

export const WAL_PREFIX = 'wal/';

export function walNodePrefix(nodeId: number): string {
  return `${WAL_PREFIX}${nodeId}/`;
}
export function walKey(nodeId: number, seq: number): string {
  return walNodePrefix(nodeId) + padSeq(seq);
}
export function parseWalKey(key: string): { node: number; seq: number } | undefined {
  const m = /^wal\/(\d+)\/(\d{20})$/.exec(key);
  return m === null ? undefined : { node: Number(m[1]), seq: Number(m[2]) };
}

export interface DurableFlush {
  readonly seq: number;
  /** Metadata id of the object (allocated before the upload). */
  readonly objectId: number;
  readonly key: string;
  readonly size: number;
  readonly index: readonly IndexEntry[];
  /**
   * The flushed records by stream, in offset order (handed to the LogCache). Their payloads are
   * views into the uploaded object body, not the appenders' buffers.
   */
  readonly records: ReadonlyMap<number, readonly StoredRecord[]>;
}

export interface WalOptions {
  store: ObjectStore;
  nodeId: number;
  /** Stamped into every object's footer; recovery accepts only the registered writer's objects. */
  writerEpoch: number;
  /** Seq of the first object this writer creates. */
  startSeq: number;
  flushIntervalMs: number;
  flushBytes: number;
  maxUnflushedBytes: number;
  blockBytes: number;
  /** Max concurrent uploads (default 4); further sealed flushes wait for a slot. */
  maxInflight?: number;
  /** Id of the next WAL object in the metadata (from the node's id block). */
  allocateObjectId: () => Promise<number>;
  /** Called once if the writer is fenced (a put-if-absent of its next object lost). */
  onFenced?: (err: MetadataFencedError) => void;
  /** Called in seq order, before the flush's append promises resolve. */
  onDurable: (flush: DurableFlush) => void;
  timers?: Timers;
  log?: ((level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void) | undefined;
}

interface Batch {
  readonly records: Map<number, StoredRecord[]>;
  bytes: number;
  readonly done: Deferred<void>;
  /** performance.now() of the first append. */
  readonly openedAt: number;
}

/** Where one flush spent its time (ms, from its first append): for profiling produce latency. */
export interface FlushTiming {
  readonly bytes: number;
  /** Sealed (timer or size). */
  readonly sealed: number;
  /** Got an upload slot and built the object. */
  readonly started: number;
  /** PUT done (including retries). */
  readonly uploaded: number;
  /** Acked: earlier flushes acked and the fencing check passed. */
  readonly acked: number;
}

/** A sealed batch with its seq: waiting for an upload slot, uploading, or uploaded and awaiting its ack. */
interface Flight {
  readonly seq: number;
  readonly batch: Batch;
  started: boolean;
  uploaded: { objectId: number; size: number; index: IndexEntry[]; records: Map<number, StoredRecord[]> } | undefined;
  readonly sealedAt: number;
  startedAt: number;
  uploadedAt: number;
}

const TIMINGS_KEPT = 4096;

export class WriteAheadLog {
  private open: Batch | undefined;
  private readonly flights: Flight[] = [];
  private nextSeq: number;
  private timer: unknown;
  private uploading = 0;
  private draining = false;
  private failure: Error | undefined;
  private unflushed = 0;
  private written = 0;
  private readyWaiters: (() => void)[] = [];
  private readonly timers: Timers;
  private readonly maxInflight: number;
  /** The last flushes' timings, oldest first (bounded). */
  readonly timings: FlushTiming[] = [];

  constructor(private readonly opts: WalOptions) {
    this.nextSeq = opts.startSeq;
    this.timers = opts.timers ?? realTimers;
    this.maxInflight = opts.maxInflight ?? 4;
  }

  get unflushedBytes(): number {
    return this.unflushed;
  }
  get objectsWritten(): number {
    return this.written;
  }
  /** Seq the next flush will use. */
  get seq(): number {
    return this.nextSeq;
  }

  /** Buffers a record; the promise resolves when the flush holding it is durable and acked. */
  append(streamId: number, record: StoredRecord): Promise<void> {
    if (this.failure !== undefined) return quiet(Promise.reject(this.failure));
    if (this.open === undefined) {
      this.open = { records: new Map(), bytes: 0, done: deferred<void>(), openedAt: performance.now() };
      quiet(this.open.done.promise);
    }
    const b = this.open;
    let list = b.records.get(streamId);
    if (list === undefined) b.records.set(streamId, (list = []));
    list.push(record);
    const size = recordBytes(record.payload.length);
    b.bytes += size;
    this.unflushed += size;
    if (b.bytes >= this.opts.flushBytes) this.flushNow();
    else if (this.timer === undefined) this.timer = this.timers.setTimeout(() => this.onTimer(), this.opts.flushIntervalMs);
    return b.done.promise;
  }

  /** Resolves when unflushed bytes are below the bound. */
  ready(): Promise<void> {
    if (this.unflushed < this.opts.maxUnflushedBytes || this.failure !== undefined) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Flushes now and resolves when everything appended so far is durable. */
  async flush(): Promise<void> {
    const target = this.open?.done.promise ?? this.flights[this.flights.length - 1]?.batch.done.promise;
    this.flushNow();
    if (target !== undefined) await target;
    if (this.failure !== undefined) throw this.failure;
  }

  private onTimer(): void {
    this.timer = undefined;
    this.flushNow();
  }

  private flushNow(): void {
    if (this.timer !== undefined) {
      this.timers.clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.open;
    if (batch === undefined || this.failure !== undefined) return;
    // Sealed now even when every upload slot is busy, so objects stay about flushBytes big
    // instead of one huge object accumulating behind a slow store.
    this.open = undefined;
    this.flights.push({ seq: this.nextSeq++, batch, started: false, uploaded: undefined, sealedAt: performance.now(), startedAt: 0, uploadedAt: 0 });
    this.pump();
  }

  private pump(): void {
    for (const f of this.flights) {
      if (this.uploading >= this.maxInflight || this.failure !== undefined) return;
      if (f.started) continue;
      f.started = true;
      this.uploading++;
      void this.upload(f)
        .catch((err: unknown) => this.fail(err instanceof Error ? err : new Error(String(err))))
        .finally(() => {
          this.uploading--;
          this.pump();
        });
    }
  }

  private async upload(flight: Flight): Promise<void> {
    flight.startedAt = performance.now();
    const writer = new ObjectWriter(this.opts.blockBytes, this.opts.writerEpoch);
    // Index order is (streamId, offset): readers and recovery rely on it.
    for (const sid of [...flight.batch.records.keys()].sort((a, b) => a - b)) {
      for (const r of flight.batch.records.get(sid)!) writer.add(sid, r);
    }
    const { body, index, blockRecords } = writer.finish();
    // From here on the appenders' buffers are no longer referenced: the records live on as views
    // into the body (one copy of the bytes in memory, and it is the one being uploaded).
    flight.batch.records.clear();
    const records = new Map<number, StoredRecord[]>();
    index.forEach((e, i) => {
      let list = records.get(e.streamId);
      if (list === undefined) records.set(e.streamId, (list = []));
      for (const r of blockRecords[i] ?? []) list.push(r);
    });
    const key = walKey(this.opts.nodeId, flight.seq);
    let objectId: number | undefined;
    for (let attempt = 0; this.failure === undefined; attempt++) {
      try {
        objectId ??= await this.opts.allocateObjectId();
        const created = await this.opts.store.putIfAbsent(key, body);
        if (!created) {
          this.fail(new MetadataFencedError(`WAL object ${key} already exists: another writer uses node ${this.opts.nodeId}; this client is fenced`));
          return;
        }
        flight.uploaded = { objectId, size: body.length, index, records };
        flight.uploadedAt = performance.now();
        this.drain();
        return;
      } catch (err) {
        const delay = backoffMs(attempt, 100, 5000);
        this.opts.log?.('warn', 'WAL upload failed, retrying (appends stay unacked until it succeeds)', {
          key,
          attempt,
          delayMs: delay,
          error: String(err),
        });
        await sleep(delay, this.timers);
      }
    }
  }

  /** Acks uploaded flushes in seq order (an upload's own put-if-absent is its fencing check). */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      let ready = 0;
      while (ready < this.flights.length && this.flights[ready]!.uploaded !== undefined) ready++;
      for (const flight of this.flights.splice(0, ready)) {
        const up = flight.uploaded!;
        this.unflushed -= flight.batch.bytes;
        this.written++;
        try {
          this.opts.onDurable({
            seq: flight.seq,
            objectId: up.objectId,
            key: walKey(this.opts.nodeId, flight.seq),
            size: up.size,
            index: up.index,
            records: up.records,
          });
        } catch (err) {
          this.opts.log?.('error', 'WAL onDurable handler failed', { seq: flight.seq, error: String(err) });
        }
        flight.batch.done.resolve();
        const t0 = flight.batch.openedAt;
        this.timings.push({
          bytes: flight.batch.bytes,
          sealed: flight.sealedAt - t0,
          started: flight.startedAt - t0,
          uploaded: flight.uploadedAt - t0,
          acked: performance.now() - t0,
        });
        if (this.timings.length > TIMINGS_KEPT) this.timings.splice(0, this.timings.length - TIMINGS_KEPT);
      }
      if (ready > 0) this.wakeReady();
    } finally {
      this.draining = false;
    }
  }

  private wakeReady(): void {
    if (this.unflushed >= this.opts.maxUnflushedBytes && this.failure === undefined) return;
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) w();
  }

  private fail(err: Error): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    if (err instanceof MetadataFencedError) this.opts.onFenced?.(err);
    this.opts.log?.('error', 'WAL stopped', { error: err.message });
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    for (const f of this.flights.splice(0)) f.batch.done.reject(err);
    this.open?.done.reject(err);
    this.open = undefined;
    this.wakeReady();
  }

  /** Flushes and stops the timer. */
  async close(): Promise<void> {
    if (this.failure === undefined) await this.flush();
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
