/**
 * The metadata log: an append-only sequence of objects `meta/log/<seq>`, each holding a batch of
 * records, created with put-if-absent. Whoever creates seq N owns the log at N; a writer whose
 * put-if-absent loses is fenced (MetadataFencedError) and must stop. Snapshots `meta/snapshot/<seq>`
 * hold the state after seq, so a load reads the latest snapshot and replays only later log objects.
 *
 * Two states are kept: `spec` has every record the moment it is enqueued (decisions and reads use
 * it), `durable` only what is written (snapshots and object deletion use it, because acting on a
 * record that might still be lost would be wrong).
 *
 * Records may be enqueued "lazy": they ride along with the next write, or are written after
 * `commitDelayMs` or once `lazyMaxRecords` wait. WAL commits use this: recovery finds WAL objects
 * by listing anyway, so their commit only bounds how much a restart re-reads, and one metadata PUT
 * per tens of seconds (idle) or per dozens of WAL objects (load) is enough.
 */
import { randomBytes } from 'node:crypto';
import { crc32c } from '@node-rs/crc32';
import type { ObjectStore } from '../object-store/object-store.js';
import { ObjectNotFoundError } from '../object-store/object-store.js';
import { MetadataFencedError } from '../api.js';
import type { Deferred, Timers } from '../util/async.js';
import { backoffMs, deferred, quiet, realTimers, sleep } from '../util/async.js';
import { padSeq } from '../util/binary.js';
import type { LogBody, MetaRecord } from './records.js';
import { logBodySchema, snapshotBodySchema } from './records.js';
import type { MetadataState } from './state.js';
import { applyRecord, emptyState, fromSnapshot, toSnapshot } from './state.js';

export const META_LOG_PREFIX = 'meta/log/';
export const META_SNAPSHOT_PREFIX = 'meta/snapshot/';
const MAGIC = Buffer.from('S3ML', 'ascii');
const VERSION = 1;
const KIND_LOG = 1;
const KIND_SNAPSHOT = 2;
const LOAD_CONCURRENCY = 16;
const KEPT_SNAPSHOTS = 2;

export function logKey(seq: number): string {
  return META_LOG_PREFIX + padSeq(seq);
}
export function snapshotKey(seq: number): string {
  return META_SNAPSHOT_PREFIX + padSeq(seq);
}
function seqOf(key: string, prefix: string): number | undefined {
  const tail = key.slice(prefix.length);
  return /^\d{20}$/.test(tail) ? Number(tail) : undefined;
}

export class MetadataFormatError extends Error {
  override readonly name = 'MetadataFormatError';
}

function encode(kind: number, value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  const header = Buffer.alloc(12);
  MAGIC.copy(header, 0);
  header.writeUInt16BE(VERSION, 4);
  header.writeUInt8(kind, 6);
  header.writeUInt32BE(crc32c(json), 8);
  return Buffer.concat([header, json]);
}

function decode(buf: Buffer, kind: number, key: string): unknown {
  if (buf.length < 12 || !buf.subarray(0, 4).equals(MAGIC)) throw new MetadataFormatError(`${key}: not a metadata object (bad magic)`);
  const version = buf.readUInt16BE(4);
  if (version !== VERSION) throw new MetadataFormatError(`${key}: metadata format version ${version} is not supported; upgrade the broker`);
  if (buf.readUInt8(6) !== kind) throw new MetadataFormatError(`${key}: unexpected metadata object kind ${buf.readUInt8(6)}`);
  const json = buf.subarray(12);
  if (crc32c(json) !== buf.readUInt32BE(8)) throw new MetadataFormatError(`${key}: checksum mismatch`);
  try {
    return JSON.parse(json.toString('utf8'));
  } catch (err) {
    throw new MetadataFormatError(`${key}: invalid JSON: ${String(err)}`);
  }
}

function parseLog(buf: Buffer, key: string): LogBody {
  const parsed = logBodySchema.safeParse(decode(buf, KIND_LOG, key));
  if (!parsed.success) throw new MetadataFormatError(`${key}: invalid metadata log record: ${parsed.error.message}`);
  return parsed.data;
}

type Log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface MetadataLogOptions {
  store: ObjectStore;
  now: () => number;
  snapshotEvery: number;
  commitDelayMs: number;
  /** Snapshot also after this many log objects (default snapshotEvery / 4). */
  snapshotEveryObjects?: number;
  /** Lazy records waiting at most this many before they are written (default: no limit). */
  lazyMaxRecords?: number;
  log?: Log | undefined;
  timers?: Timers;
  /** Called once when this writer learns it was fenced (another writer took the log). */
  onFenced?: (err: MetadataFencedError) => void;
  /** Called with every batch once it is durable, in seq order (replication to other nodes). */
  onWritten?: (batch: { seq: number; ts: number; records: readonly MetaRecord[] }) => void;
}

interface Batch {
  records: MetaRecord[];
  done: Deferred<number>;
  urgent: boolean;
}

export class MetadataLog {
  readonly writerId = randomBytes(12).toString('hex');
  private lastSeq: number;
  private snapshotSeq: number;
  private recordsSinceSnapshot = 0;
  private objectsSinceSnapshot = 0;
  private pending: Batch | undefined;
  private writing: Promise<void> | undefined;
  private lazyTimer: unknown;
  private fenced: MetadataFencedError | undefined;
  private snapshotting: Promise<void> | undefined;
  private closed = false;
  private readonly timers: Timers;
  private logObjectsWritten = 0;
  private recordsWritten = 0;

  private constructor(
    private readonly opts: MetadataLogOptions,
    readonly durable: MetadataState,
    readonly spec: MetadataState,
    lastSeq: number,
    snapshotSeq: number,
  ) {
    this.lastSeq = lastSeq;
    this.snapshotSeq = snapshotSeq;
    this.recordsSinceSnapshot = 0;
    this.timers = opts.timers ?? realTimers;
  }

  /** Reads the latest valid snapshot and replays every later log object. */
  static async load(opts: MetadataLogOptions): Promise<MetadataLog> {
    const { store } = opts;
    const snapshots = (await store.list(META_SNAPSHOT_PREFIX))
      .map((o) => ({ key: o.key, seq: seqOf(o.key, META_SNAPSHOT_PREFIX) }))
      .filter((s): s is { key: string; seq: number } => s.seq !== undefined)
      .sort((a, b) => b.seq - a.seq);
    // The bytes of the snapshot in use, fetched once and decoded twice (below).
    const fetched = new Map<string, Buffer>();
    const build = async (): Promise<{ state: MetadataState; seq: number }> => {
      for (const snap of snapshots) {
        try {
          let bytes = fetched.get(snap.key);
          if (bytes === undefined) {
            bytes = await store.get(snap.key);
            fetched.set(snap.key, bytes);
          }
          const raw = decode(bytes, KIND_SNAPSHOT, snap.key);
          const parsed = snapshotBodySchema.safeParse(raw);
          if (!parsed.success) throw new MetadataFormatError(`${snap.key}: invalid snapshot: ${parsed.error.message}`);
          return { state: fromSnapshot(parsed.data.state), seq: parsed.data.seq };
        } catch (err) {
          // An older snapshot plus more log replay gives the same state.
          if (err instanceof ObjectNotFoundError || err instanceof MetadataFormatError) {
            opts.log?.('warn', 'skipping unreadable metadata snapshot', { key: snap.key, error: String(err) });
            continue;
          }
          throw err;
        }
      }
      return { state: emptyState(), seq: 0 };
    };
    const base = await build();
    // Two independent copies (durable and spec): decoding twice is cheaper than a deep clone and
    // guaranteed identical; the object is read from the store once.
    const second = snapshots.length > 0 && base.seq > 0 ? await build() : { state: emptyState(), seq: 0 };
    const durable = base.state;
    const spec = second.state;

    const logs = (await store.list(META_LOG_PREFIX, logKey(base.seq)))
      .map((o) => ({ key: o.key, seq: seqOf(o.key, META_LOG_PREFIX) }))
      .filter((s): s is { key: string; seq: number } => s.seq !== undefined && s.seq > base.seq);
    let expected = base.seq + 1;
    for (const l of logs) {
      if (l.seq !== expected) {
        throw new MetadataFormatError(
          `metadata log has a gap: expected ${logKey(expected)} but found ${l.key}; the log was damaged (restore the missing object or a snapshot)`,
        );
      }
      expected++;
    }
    let lastSeq = base.seq;
    for (let i = 0; i < logs.length; i += LOAD_CONCURRENCY) {
      const chunk = logs.slice(i, i + LOAD_CONCURRENCY);
      const bodies = await Promise.all(chunk.map(async (l) => parseLog(await store.get(l.key), l.key)));
      for (const body of bodies) {
        for (const rec of body.records) {
          applyRecord(durable, rec, body.ts, body.seq);
          applyRecord(spec, rec, body.ts, body.seq);
        }
        lastSeq = body.seq;
      }
    }
    const log = new MetadataLog(opts, durable, spec, lastSeq, base.seq);
    log.recordsSinceSnapshot = logs.length;
    log.objectsSinceSnapshot = logs.length;
    return log;
  }

  get seq(): number {
    return this.lastSeq;
  }

  stats(): { logObjectsWritten: number; recordsWritten: number } {
    return { logObjectsWritten: this.logObjectsWritten, recordsWritten: this.recordsWritten };
  }

  isFenced(): boolean {
    return this.fenced !== undefined;
  }

  /**
   * Applies the records to the speculative state now and queues them. Resolves with the log seq
   * once written. Urgent records are written right away (together with everything queued);
   * lazy ones wait up to commitDelayMs for company.
   */
  append(records: MetaRecord[], lazy = false): Promise<number> {
    if (this.fenced !== undefined) return Promise.reject(this.fenced);
    if (this.closed) return Promise.reject(new Error('metadata log is closed'));
    const ts = this.opts.now();
    for (const r of records) applyRecord(this.spec, r, ts, undefined);
    if (this.pending === undefined) this.pending = { records: [], done: deferred<number>(), urgent: false };
    this.pending.records.push(...records);
    const batch = this.pending;
    quiet(batch.done.promise);
    if (!lazy || batch.records.length >= (this.opts.lazyMaxRecords ?? Infinity)) batch.urgent = true;
    this.schedule();
    return batch.done.promise;
  }

  /** Writes everything queued now; resolves when it is durable. */
  async flush(): Promise<void> {
    if (this.pending !== undefined) {
      this.pending.urgent = true;
      const p = this.pending.done.promise;
      this.schedule();
      await p;
    }
    while (this.writing !== undefined) await this.writing;
    if (this.fenced !== undefined) throw this.fenced;
  }

  private schedule(): void {
    if (this.writing !== undefined || this.pending === undefined) return;
    if (this.pending.urgent) {
      if (this.lazyTimer !== undefined) {
        this.timers.clearTimeout(this.lazyTimer);
        this.lazyTimer = undefined;
      }
      this.writing = this.writeLoop().finally(() => {
        this.writing = undefined;
        this.schedule();
      });
    } else if (this.lazyTimer === undefined) {
      this.lazyTimer = this.timers.setTimeout(() => {
        this.lazyTimer = undefined;
        if (this.pending !== undefined) this.pending.urgent = true;
        this.schedule();
      }, this.opts.commitDelayMs);
      // Lazy records describe data that is already durable elsewhere (WAL objects, found again by
      // recovery), so this timer alone must not keep the process alive.
      (this.lazyTimer as { unref?: () => void } | undefined)?.unref?.();
    }
  }

  private async writeLoop(): Promise<void> {
    const batch = this.pending;
    if (batch === undefined) return;
    this.pending = undefined;
    const seq = this.lastSeq + 1;
    const ts = this.opts.now();
    const body: LogBody = { seq, writer: this.writerId, ts, records: batch.records };
    const buf = encode(KIND_LOG, body);
    for (let attempt = 0; ; attempt++) {
      try {
        const created = await this.opts.store.putIfAbsent(logKey(seq), buf);
        if (!created) {
          this.fence(`another writer created ${logKey(seq)}; this client lost ownership of the metadata log`);
          batch.done.reject(this.fenced);
          return;
        }
        break;
      } catch (err) {
        // Never drop metadata: retry until it is written (the caller may be waiting on it).
        const delay = backoffMs(attempt, 100, 5000);
        this.opts.log?.('error', 'metadata log write failed, retrying', { key: logKey(seq), attempt, delayMs: delay, error: String(err) });
        await sleep(delay, this.timers);
      }
    }
    this.lastSeq = seq;
    this.logObjectsWritten++;
    this.recordsWritten += batch.records.length;
    for (const r of batch.records) applyRecord(this.durable, r, ts, seq);
    this.recordsSinceSnapshot += batch.records.length;
    this.objectsSinceSnapshot++;
    batch.done.resolve(seq);
    try {
      this.opts.onWritten?.({ seq, ts, records: batch.records });
    } catch (err) {
      this.opts.log?.('error', 'metadata onWritten handler failed', { seq, error: String(err) });
    }
    // Also by log objects: urgent records (compaction commits, one per plan) often travel alone,
    // and the objects, not the records, are what a load reads and the bucket keeps.
    const objectLimit = this.opts.snapshotEveryObjects ?? Math.max(1, Math.floor(this.opts.snapshotEvery / 4));
    if ((this.recordsSinceSnapshot >= this.opts.snapshotEvery || this.objectsSinceSnapshot >= objectLimit) && this.snapshotting === undefined) {
      this.recordsSinceSnapshot = 0;
      this.objectsSinceSnapshot = 0;
      // Serialize now: the durable state moves on while the PUT runs.
      const snap = encode(KIND_SNAPSHOT, { seq, writer: this.writerId, ts, state: toSnapshot(this.durable) });
      this.snapshotting = this.writeSnapshot(seq, snap).finally(() => {
        this.snapshotting = undefined;
      });
    }
  }

  private fence(why: string): void {
    if (this.fenced !== undefined) return;
    this.fenced = new MetadataFencedError(`${why}. Stop this client; the other writer now owns the store.`);
    // A writer that never wrote never owned the log: it lost a race to take it over (an election
    // lost), which is normal; only a deposed owner is an error worth an operator's attention.
    if (this.logObjectsWritten === 0) this.opts.log?.('info', 'metadata log taken over by another writer first', { reason: why });
    else this.opts.log?.('error', 'metadata log fenced', { reason: why });
    try {
      this.opts.onFenced?.(this.fenced);
    } catch (err) {
      this.opts.log?.('error', 'metadata onFenced handler failed', { error: String(err) });
    }
    if (this.pending !== undefined) {
      this.pending.done.reject(this.fenced);
      this.pending = undefined;
    }
  }

  private async writeSnapshot(seq: number, body: Buffer): Promise<void> {
    try {
      await this.opts.store.put(snapshotKey(seq), body);
      this.snapshotSeq = seq;
      await this.cleanup();
    } catch (err) {
      this.opts.log?.('warn', 'metadata snapshot failed; the log keeps everything, will retry later', { seq, error: String(err) });
    }
  }

  /**
   * Keeps the newest snapshots and the log objects after the oldest kept one. Log objects holding
   * 'open' records are kept forever: a fenced writer retrying its next seq must keep failing.
   */
  private async cleanup(): Promise<void> {
    const snaps = (await this.opts.store.list(META_SNAPSHOT_PREFIX))
      .map((o) => ({ key: o.key, seq: seqOf(o.key, META_SNAPSHOT_PREFIX) }))
      .filter((s): s is { key: string; seq: number } => s.seq !== undefined)
      .sort((a, b) => b.seq - a.seq);
    if (snaps.length <= KEPT_SNAPSHOTS) return;
    const oldestKept = snaps[KEPT_SNAPSHOTS - 1]!.seq;
    const protectedSeqs = new Set(this.durable.openSeqs);
    const logs = (await this.opts.store.list(META_LOG_PREFIX))
      .map((o) => ({ key: o.key, seq: seqOf(o.key, META_LOG_PREFIX) }))
      .filter((l) => l.seq !== undefined && l.seq <= oldestKept && !protectedSeqs.has(l.seq))
      .map((l) => l.key);
    await this.opts.store.delete([...snaps.slice(KEPT_SNAPSHOTS).map((s) => s.key), ...logs]);
  }

  /**
   * Proves this client still owns the log *now*: nobody created the next seq. The WAL calls it
   * after a PUT and before acking, so a writer that was taken over never acks data the new owner
   * might not have seen when it listed the WAL.
   */
  async checkNotFenced(): Promise<void> {
    if (this.fenced !== undefined) throw this.fenced;
    // A write in flight claims the next seq: its outcome is the answer for that seq. One wait is
    // enough (no starvation under a stream of writes): once it succeeded, a new owner can only
    // take a later seq, which the GET below looks at; a later write of our own is recognized.
    const inFlight = this.writing;
    if (inFlight !== undefined) await inFlight;
    if (this.fenced !== undefined) throw this.fenced;
    const next = this.lastSeq + 1;
    let body: Buffer;
    try {
      body = await this.opts.store.get(logKey(next));
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return;
      throw err;
    }
    // Our own writer may have created it meanwhile.
    let writer: string | undefined;
    try {
      writer = parseLog(body, logKey(next)).writer;
    } catch {
      writer = undefined;
    }
    if (writer !== this.writerId) this.fence(`another writer created ${logKey(next)}`);
    if (this.fenced !== undefined) throw this.fenced;
  }

  /** Resolves when no write or snapshot is running (tests, orderly shutdown). */
  async idle(): Promise<void> {
    while (this.writing !== undefined || this.snapshotting !== undefined) {
      await this.writing;
      await this.snapshotting;
    }
  }

  /** Writes what is queued and stops accepting records. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.fenced === undefined) await this.flush();
    } finally {
      this.closed = true;
      if (this.lazyTimer !== undefined) this.timers.clearTimeout(this.lazyTimer);
      this.lazyTimer = undefined;
      await this.snapshotting;
    }
  }

  get lastSnapshotSeq(): number {
    return this.snapshotSeq;
  }
}

/**
 * The newest `open` record in the log (who owns it now, as far as the store says), found by reading
 * log objects from the newest backwards, a chunk at a time. Always found when there is one: log
 * objects holding `open` records are never cleaned up, and the rest of the log is bounded by
 * snapshots. Used by nodes that lost contact with the owner (or start) to find it without loading
 * the whole state.
 */
export async function latestOpen(store: ObjectStore): Promise<{ seq: number; node: number; info: string | undefined } | undefined> {
  const logs = (await store.list(META_LOG_PREFIX))
    .map((o) => ({ key: o.key, seq: seqOf(o.key, META_LOG_PREFIX) }))
    .filter((l): l is { key: string; seq: number } => l.seq !== undefined)
    .sort((a, b) => b.seq - a.seq);
  for (let i = 0; i < logs.length; i += LOAD_CONCURRENCY) {
    const bodies = await Promise.all(
      logs.slice(i, i + LOAD_CONCURRENCY).map(async (l) => {
        try {
          return parseLog(await store.get(l.key), l.key);
        } catch (err) {
          if (err instanceof ObjectNotFoundError) return undefined; // cleaned up meanwhile
          throw err;
        }
      }),
    );
    for (const body of bodies) {
      if (body === undefined) continue;
      for (let r = body.records.length - 1; r >= 0; r--) {
        const rec = body.records[r]!;
        if (rec.t === 'open') return { seq: body.seq, node: rec.node, info: rec.info };
      }
    }
  }
  return undefined;
}
