/**
 * The metadata owner: the one writer of a store's metadata log (in a cluster, the active
 * controller runs it). It takes the log over at open (the `open` record's seq is its epoch; a lost
 * put-if-absent means another owner won), validates and appends what nodes send through the
 * MetadataChannel, registers and fences nodes' WAL writers, hands out id blocks, replicates every
 * durable batch to the nodes' replicas, and runs the background work that needs the whole state:
 * compaction, deletion of released objects, the orphan sweep.
 *
 * Node writes are validated against the owner's state right before they are appended (no await in
 * between), so every replica applying the log in order reaches the same state.
 */
import { MetadataFencedError, StreamFencedError, WalCommitGapError } from '../api.js';
import type { InstrumentedObjectStore } from '../object-store/instrumented.js';
import { BlockCache, IndexCache } from '../cache/block-cache.js';
import { CompactionManager } from '../compaction/manager.js';
import type { PlannerConfig } from '../compaction/planner.js';
import { fenceWal } from '../wal/recovery.js';
import type { Timers } from '../util/async.js';
import { realTimers } from '../util/async.js';
import type { FetchResult, MetadataChannel, NodeRegistration, ReplicatedBatch, StateSnapshot } from './channel.js';
import { MetadataLog } from './metadata-log.js';
import type { MetaRecord } from './records.js';
import type { MetadataState } from './state.js';
import { toSnapshot } from './state.js';

type Log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

const MiB = 1024 * 1024;
/**
 * Seqs skipped after a takeover: a fenced writer may still finish a few in-flight WAL uploads
 * (at most its in-flight limit) after the tombstone; they must not collide with the next writer's.
 */
export const WAL_SEQ_GAP = 1000;
/** Batches kept for replicas; one further behind loads a snapshot instead. */
const REPLICATION_BUFFER = 4096;
/** Id blocks are at most this big. */
const MAX_ID_BLOCK = 100_000;

export interface MetadataOwnerOptions {
  store: InstrumentedObjectStore;
  /** Node id of the process running the owner (recorded in the `open` record). */
  node: number;
  /** Opaque application data recorded in the `open` record (e.g. the owner's address). */
  info?: string;
  now: () => number;
  snapshotEvery: number;
  /** Lazy records (WAL commits) wait up to this long for company (default 30 s)... */
  commitDelayMs: number;
  /** ...or until this many wait (default 64). */
  commitMaxRecords: number;
  compactionIntervalMs: number;
  objectDeleteGraceMs: number;
  objectBlockBytes: number;
  planner: PlannerConfig;
  /** Index cache of the compactor (default 16 MiB). */
  indexCacheBytes?: number;
  timers?: Timers;
  log?: Log | undefined;
  /** Called once when another owner took the log over: stop using this one. */
  onFenced?: (err: MetadataFencedError) => void;
  /**
   * Take the log over only from the owner whose `open` record has this seq (0: from no owner): when
   * the log shows a newer owner, open fails with MetadataFencedError without writing. Candidates that
   * decided to replace a silent owner must not depose a successor that won meanwhile.
   */
  takeOverFrom?: number;
}

interface FetchWaiter {
  readonly wake: () => void;
}

export class MetadataOwner implements MetadataChannel {
  private readonly buffer: ReplicatedBatch[] = [];
  private fetchWaiters = new Set<FetchWaiter>();
  private readonly writtenListeners = new Set<(batch: ReplicatedBatch) => void>();
  private readonly nodeLocks = new Map<number, Promise<unknown>>();
  private lastWriterEpoch: number;
  private closed = false;
  private readonly compaction: CompactionManager;
  private readonly timers: Timers;

  private constructor(
    private readonly opts: MetadataOwnerOptions,
    private readonly metadata: MetadataLog,
    /** Seq of this owner's `open` record. */
    readonly epoch: number,
  ) {
    this.timers = opts.timers ?? realTimers;
    this.lastWriterEpoch = epoch;
    const blockCache = new BlockCache(opts.store, 8 * MiB);
    const indexCache = new IndexCache(opts.store, opts.indexCacheBytes ?? 16 * MiB);
    this.compaction = new CompactionManager({
      store: opts.store,
      metadata,
      indexCache,
      blockCache,
      blockBytes: opts.objectBlockBytes,
      planner: opts.planner,
      intervalMs: opts.compactionIntervalMs,
      graceMs: opts.objectDeleteGraceMs,
      now: opts.now,
      log: opts.log,
    });
  }

  /**
   * Loads the log and takes it over. Throws MetadataFencedError when another owner wrote the same
   * seq first (lost election).
   */
  static async open(opts: MetadataOwnerOptions): Promise<MetadataOwner> {
    let owner: MetadataOwner | undefined;
    const early: ReplicatedBatch[] = [];
    const metadata = await MetadataLog.load({
      store: opts.store,
      now: opts.now,
      snapshotEvery: opts.snapshotEvery,
      commitDelayMs: opts.commitDelayMs,
      lazyMaxRecords: opts.commitMaxRecords,
      log: opts.log,
      ...(opts.timers !== undefined ? { timers: opts.timers } : {}),
      onWritten: (b) => (owner !== undefined ? owner.written(b) : early.push(b)),
      onFenced: (err) => {
        opts.log?.('warn', 'metadata owner fenced: another owner took over the log', { error: err.message });
        opts.onFenced?.(err);
      },
    });
    const latest = metadata.spec.openSeqs[metadata.spec.openSeqs.length - 1] ?? 0;
    if (opts.takeOverFrom !== undefined && latest > opts.takeOverFrom) {
      await metadata.close();
      throw new MetadataFencedError(`the log already has a newer owner (open record at seq ${latest}, expected ${opts.takeOverFrom}); follow it`);
    }
    const epoch = await metadata.append([
      { t: 'open', node: opts.node, writer: metadata.writerId, ...(opts.info !== undefined ? { info: opts.info } : {}) },
    ]);
    owner = new MetadataOwner(opts, metadata, epoch);
    for (const b of early) owner.written(b);
    owner.compaction.start(false);
    return owner;
  }

  /** The owner's view (speculative: includes records queued but not yet durable). */
  get state(): MetadataState {
    return this.metadata.spec;
  }

  /** Last durable log seq. */
  get seq(): number {
    return this.metadata.seq;
  }

  isFenced(): boolean {
    return this.metadata.isFenced();
  }

  stats(): { logObjectsWritten: number; recordsWritten: number } {
    return this.metadata.stats();
  }

  /** Appends records of the owner's own (e.g. the application's KV changes), without node checks. */
  appendOwn(records: readonly MetaRecord[], lazy = false): Promise<number> {
    return this.metadata.append([...records], lazy);
  }

  private withNodeLock<T>(node: number, task: () => Promise<T>): Promise<T> {
    const prev = this.nodeLocks.get(node) ?? Promise.resolve();
    const run = prev.then(task, task);
    const tail = run.catch(() => undefined);
    this.nodeLocks.set(node, tail);
    void tail.then(() => {
      if (this.nodeLocks.get(node) === tail) this.nodeLocks.delete(node);
    });
    return run;
  }

  /**
   * Proves this owner still owns the log before it acts on other writers (a tombstone stops a live
   * node): a deposed owner that has not noticed yet fails here with MetadataFencedError instead of
   * fencing nodes the new owner considers healthy. One small PUT; fencing is rare.
   */
  private async proveOwnership(): Promise<void> {
    await this.metadata.append([{ t: 'kv', put: [], del: [] }]);
  }

  registerNode(node: number): Promise<NodeRegistration> {
    return this.withNodeLock(node, async () => {
      this.checkOpen();
      const live = this.metadata.spec.nodes.get(node);
      if (live !== undefined && live.writerEpoch >= 0) await this.proveOwnership();
      const fence = await fenceWal(this.opts.store, this.metadata.spec, node, this.opts.log);
      const records: MetaRecord[] = [];
      const prev = this.metadata.spec.nodes.get(node);
      if (prev !== undefined && prev.writerEpoch >= 0) {
        records.push({ t: 'fenceNode', node, committedSeq: fence.committedSeq, objects: fence.objects });
      }
      this.lastWriterEpoch = Math.max(this.lastWriterEpoch, this.metadata.seq) + 1;
      const writerEpoch = this.lastWriterEpoch;
      const walStartSeq = Math.max(fence.committedSeq, prev?.committedSeq ?? 0, prev?.walStartSeq ?? 0) + WAL_SEQ_GAP;
      records.push({ t: 'registerNode', node, writerEpoch, walStartSeq });
      await this.metadata.append(records);
      if (fence.objects.length > 0) {
        this.opts.log?.('info', 'recovered WAL objects of the previous writer', { node, objects: fence.objects.length, upTo: fence.committedSeq });
      }
      return { node, writerEpoch, walStartSeq };
    });
  }

  /**
   * Fences the node's current WAL writer (a dead or unresponsive node) and recovers what it made
   * durable. Afterwards the node must register again before it can write.
   */
  fenceNode(node: number): Promise<void> {
    return this.withNodeLock(node, async () => {
      this.checkOpen();
      const prev = this.metadata.spec.nodes.get(node);
      if (prev === undefined || prev.writerEpoch < 0) return;
      await this.proveOwnership();
      const fence = await fenceWal(this.opts.store, this.metadata.spec, node, this.opts.log);
      await this.metadata.append([{ t: 'fenceNode', node, committedSeq: fence.committedSeq, objects: fence.objects }]);
      this.opts.log?.('info', 'fenced the WAL writer of a node', { node, recoveredObjects: fence.objects.length, upTo: fence.committedSeq });
    });
  }

  /**
   * Deletes orphans once (objects a crashed or fenced writer uploaded but never committed). Call it
   * after the recoveries that may still claim some of them.
   */
  startSweep(): void {
    this.compaction.sweepSoon();
  }

  /** Nodes with a live WAL writer. */
  liveNodes(): number[] {
    return [...this.metadata.spec.nodes].filter(([, n]) => n.writerEpoch >= 0).map(([id]) => id);
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('the metadata owner is closed');
    if (this.metadata.isFenced()) throw new MetadataFencedError('this metadata owner was fenced: another owner took over the log');
  }

  private checkWriter(node: number, writerEpoch: number): void {
    this.checkOpen();
    const n = this.metadata.spec.nodes.get(node);
    if (n === undefined || n.writerEpoch !== writerEpoch) {
      throw new MetadataFencedError(
        `node ${node}'s WAL writer (epoch ${writerEpoch}) is not the registered one (${n === undefined ? 'none' : n.writerEpoch}): it was fenced; register the node again`,
      );
    }
  }

  append(node: number, writerEpoch: number, records: readonly MetaRecord[], lazy: boolean): Promise<number> {
    let accepted: MetaRecord[];
    try {
      this.checkWriter(node, writerEpoch);
      for (const r of records) this.validate(node, r);
      accepted = this.inSeqOrder(node, records);
    } catch (err) {
      return Promise.reject(err);
    }
    if (accepted.length === 0) {
      // Only commits this owner already has (a re-send): durable with what is queued.
      return lazy ? Promise.resolve(-1) : this.metadata.flush().then(() => this.metadata.seq);
    }
    const done = this.metadata.append(accepted, lazy);
    // Lazy records become durable with the owner's next write; the node sees them in fetch then.
    return lazy ? Promise.resolve(-1) : done;
  }

  /**
   * A node's WAL commits must arrive in seq order with none missing (its WAL acks objects in seq
   * order, and the per-node committed seq is where recovery starts listing and below which the GC
   * deletes unreferenced WAL objects). After an owner change they may not: the previous owner can
   * die holding lazily sent commits that the node re-sends only once it hears from the new owner,
   * and by then a newer commit may have arrived. Accepting that newer one would leave the missing
   * object's records unreachable, so it is refused (the node re-sends everything in order);
   * commits this owner already has are dropped (re-sends are normal).
   */
  private inSeqOrder(node: number, records: readonly MetaRecord[]): MetaRecord[] {
    let next = (this.metadata.spec.nodes.get(node)?.committedSeq ?? 0) + 1;
    const out: MetaRecord[] = [];
    for (const r of records) {
      if (r.t === 'commitWal') {
        if (r.seq < next) continue;
        if (r.seq > next) {
          throw new WalCommitGapError(
            `node ${node}'s WAL commit of seq ${r.seq} arrived before seq ${next}${r.seq - 1 > next ? `..${r.seq - 1}` : ''} (sent to a previous metadata owner that did not write it); send the pending commits again in seq order`,
          );
        }
        next++;
      }
      out.push(r);
    }
    return out;
  }

  private validate(node: number, r: MetaRecord): void {
    const state = this.metadata.spec;
    switch (r.t) {
      case 'openStream': {
        const s = state.streams.get(r.id);
        if (s === undefined) throw new Error(`cannot open stream ${r.id}: it does not exist (deleted or never created)`);
        if (r.epoch <= s.epoch) throw new StreamFencedError(`stream ${r.id} is already open with epoch ${s.epoch} >= ${r.epoch}; open it again`);
        return;
      }
      case 'commitWal':
        if (r.node !== node) throw new Error(`node ${node} cannot commit WAL objects of node ${r.node}`);
        return;
      case 'createStream':
      case 'deleteStream':
      case 'trim':
      case 'kv':
        return;
      default:
        throw new Error(`record type '${r.t}' is written by the metadata owner only`);
    }
  }

  allocateIds(node: number, writerEpoch: number, kind: 'stream' | 'object', count: number): Promise<{ start: number; count: number }> {
    try {
      this.checkWriter(node, writerEpoch);
      if (!Number.isInteger(count) || count < 1 || count > MAX_ID_BLOCK) throw new RangeError(`id block size must be 1..${MAX_ID_BLOCK}, got ${count}`);
    } catch (err) {
      return Promise.reject(err);
    }
    const state = this.metadata.spec;
    const start = kind === 'stream' ? state.nextStreamId : state.nextObjectId;
    return this.metadata.append([{ t: 'ids', kind, node, start, count }]).then(() => ({ start, count }));
  }

  /** Calls `listener` with every batch once it is durable (the application reacts to its own log). */
  onWritten(listener: (batch: ReplicatedBatch) => void): () => void {
    this.writtenListeners.add(listener);
    return () => this.writtenListeners.delete(listener);
  }

  private written(b: { seq: number; ts: number; records: readonly MetaRecord[] }): void {
    for (const l of [...this.writtenListeners]) {
      try {
        l(b);
      } catch (err) {
        this.opts.log?.('error', 'metadata written-listener failed', { error: String(err) });
      }
    }
    this.buffer.push({ seq: b.seq, ts: b.ts, records: b.records });
    if (this.buffer.length > REPLICATION_BUFFER) this.buffer.splice(0, this.buffer.length - REPLICATION_BUFFER);
    const waiters = this.fetchWaiters;
    this.fetchWaiters = new Set();
    for (const w of waiters) w.wake();
  }

  async fetch(afterSeq: number, maxWaitMs: number, signal?: AbortSignal): Promise<FetchResult> {
    for (let waited = false; ; waited = true) {
      if (this.closed) return { batches: [] };
      const last = this.metadata.seq;
      const first = this.buffer[0]?.seq ?? last + 1;
      if (afterSeq > last || afterSeq < first - 1) return { reload: true };
      if (afterSeq < last) return { batches: this.buffer.slice(afterSeq - first + 1) };
      if (waited || maxWaitMs <= 0 || signal?.aborted === true) return { batches: [] };
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.timers.clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          this.fetchWaiters.delete(waiter);
          resolve();
        };
        const waiter: FetchWaiter = { wake: done };
        const timer = this.timers.setTimeout(done, maxWaitMs);
        // A waiting replica must not keep the process alive by itself (an abandoned client, a
        // process on its way out).
        (timer as { unref?: () => void } | undefined)?.unref?.();
        this.fetchWaiters.add(waiter);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  snapshot(): Promise<StateSnapshot> {
    return Promise.resolve({ seq: this.metadata.seq, state: toSnapshot(this.metadata.durable) });
  }

  async flush(): Promise<void> {
    await this.metadata.flush();
  }

  async compactNow(): Promise<number> {
    this.checkOpen();
    await this.metadata.flush();
    await this.compaction.runNow();
    await this.metadata.flush();
    return this.metadata.seq;
  }

  retireNode(node: number, writerEpoch: number, lastSeq: number): Promise<void> {
    return this.withNodeLock(node, async () => {
      this.checkWriter(node, writerEpoch);
      const n = this.metadata.spec.nodes.get(node)!;
      if (n.committedSeq !== lastSeq) {
        throw new Error(`node ${node} cannot retire at WAL seq ${lastSeq}: its commits reach ${n.committedSeq}; it will be fenced at its next registration`);
      }
      await this.metadata.append([{ t: 'fenceNode', node, committedSeq: lastSeq, objects: [] }]);
    });
  }

  /** Stops background work, writes what is queued, wakes pending fetches. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.compaction.stop();
      await this.metadata.close();
    } finally {
      for (const w of this.fetchWaiters) w.wake();
      this.fetchWaiters.clear();
    }
  }
}
