/**
 * A node's replica of the metadata state, fed by the owner through the MetadataChannel (long-poll
 * fetch of durable batches; a snapshot from the owner when new or too far behind), plus the node's
 * own WAL commits applied ahead of the log: the node must read its freshly acked data before the
 * owner's lazy commit writes it. Applying a WAL commit twice is a no-op, so when the owner's copy
 * comes back through the log nothing changes.
 *
 * Writes go to the owner and are awaited until the replica has applied them (read-your-writes).
 */
import { MetadataFencedError, WalCommitGapError } from '../api.js';
import type { Timers } from '../util/async.js';
import { backoffMs, realTimers, sleep } from '../util/async.js';
import type { MetadataChannel, NodeRegistration, ReplicatedBatch } from './channel.js';
import type { MetaRecord } from './records.js';
import type { MetadataState } from './state.js';
import { applyRecord, emptyState, fromSnapshot } from './state.js';

type Log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
type CommitWal = Extract<MetaRecord, { t: 'commitWal' }>;

const FETCH_WAIT_MS = 10_000;

interface SeqWaiter {
  readonly seq: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export interface ReplicaOptions {
  channel: MetadataChannel;
  registration: NodeRegistration;
  now: () => number;
  timers?: Timers;
  log?: Log | undefined;
  /**
   * Called after the replica applied batches (with the KV keys they changed) or a snapshot (keys
   * undefined: anything may have changed). Not for the node's own early WAL commits.
   */
  onApplied?: (kvKeys: readonly string[] | undefined) => void;
  /** Called once when the owner refused this node's writer as fenced. */
  onFenced?: (err: MetadataFencedError) => void;
}

export class MetadataReplica {
  state: MetadataState = emptyState();
  private appliedSeq = 0;
  private waiters: SeqWaiter[] = [];
  /** The node's WAL commits by WAL seq, applied early, until the log brings them back. */
  private readonly ownCommits = new Map<number, CommitWal>();
  private failure: Error | undefined;
  private stopped = false;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private resendTimer: unknown;
  private unsubscribe: (() => void) | undefined;
  private readonly timers: Timers;
  /** Records this node sent to the owner (stats). */
  recordsSent = 0;

  constructor(private readonly opts: ReplicaOptions) {
    this.timers = opts.timers ?? realTimers;
  }

  get seq(): number {
    return this.appliedSeq;
  }

  get node(): number {
    return this.opts.registration.node;
  }

  get writerEpoch(): number {
    return this.opts.registration.writerEpoch;
  }

  /** Loads the owner's snapshot and starts following the log. */
  async start(): Promise<void> {
    this.unsubscribe = this.opts.channel.onOwnerChange?.(() => this.resendPending());
    await this.reload();
    this.loop = this.run();
  }

  fenced(): Error | undefined {
    return this.failure;
  }

  private async reload(): Promise<void> {
    const snap = await this.opts.channel.snapshot();
    const state = fromSnapshot(snap.state);
    const now = this.opts.now();
    // Commits the snapshot already covers will not come back in a fetch: stop tracking them.
    const committed = state.nodes.get(this.node)?.committedSeq ?? 0;
    for (const seq of [...this.ownCommits.keys()]) if (seq <= committed) this.ownCommits.delete(seq);
    for (const rec of this.ownCommits.values()) applyRecord(state, rec, now, undefined);
    this.state = state;
    this.appliedSeq = snap.seq;
    this.wake();
    this.opts.onApplied?.(undefined);
  }

  private async run(): Promise<void> {
    for (let attempt = 0; !this.stopped; ) {
      try {
        const r = await this.opts.channel.fetch(this.appliedSeq, FETCH_WAIT_MS, this.abort.signal);
        attempt = 0;
        if ('reload' in r) await this.reload();
        else if (r.batches.length > 0) this.applyBatches(r.batches);
      } catch (err) {
        if (this.stopped) return;
        if (err instanceof MetadataFencedError) {
          this.fail(err);
          return;
        }
        const delay = backoffMs(attempt++, 100, 2000);
        this.opts.log?.('warn', 'metadata fetch failed, retrying', { afterSeq: this.appliedSeq, delayMs: delay, error: String(err) });
        await sleep(delay, this.timers);
      }
    }
  }

  private applyBatches(batches: readonly ReplicatedBatch[]): void {
    const kvKeys: string[] = [];
    for (const b of batches) {
      if (b.seq <= this.appliedSeq) continue;
      if (b.seq !== this.appliedSeq + 1) {
        // A hole: never apply out of order; the next fetch after a reload closes it.
        void this.reload().catch(() => undefined);
        return;
      }
      for (const rec of b.records) {
        applyRecord(this.state, rec, b.ts, b.seq);
        if (rec.t === 'commitWal' && rec.node === this.node) this.ownCommits.delete(rec.seq);
        if (rec.t === 'kv') {
          for (const [k] of rec.put) kvKeys.push(k);
          kvKeys.push(...rec.del);
        }
      }
      this.appliedSeq = b.seq;
    }
    this.wake();
    this.opts.onApplied?.(kvKeys);
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const still: SeqWaiter[] = [];
    for (const w of this.waiters) {
      if (w.seq <= this.appliedSeq) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  /** Resolves once the replica has applied the log up to `seq`. */
  waitFor(seq: number): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (seq <= this.appliedSeq) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ seq, resolve, reject }));
  }

  /** Appends through the owner and waits until the replica has the result. */
  async append(records: readonly MetaRecord[]): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    let seq: number;
    this.recordsSent += records.length;
    try {
      seq = await this.opts.channel.append(this.node, this.writerEpoch, records, false);
    } catch (err) {
      if (err instanceof MetadataFencedError) this.fail(err);
      throw err;
    }
    await this.waitFor(seq);
  }

  /** Applies one of the node's WAL commits now and sends it to the owner (lazily). */
  commitWal(rec: CommitWal): void {
    this.ownCommits.set(rec.seq, rec);
    applyRecord(this.state, rec, this.opts.now(), undefined);
    this.send([rec]);
  }

  private send(records: CommitWal[]): void {
    this.recordsSent += records.length;
    this.opts.channel.append(this.node, this.writerEpoch, records, true).catch((err: unknown) => {
      if (err instanceof MetadataFencedError) {
        this.fail(err);
        return;
      }
      if (err instanceof WalCommitGapError) {
        // The owner lacks an earlier commit (its predecessor died holding it): send them all, in
        // order. Through the timer, so commits refused meanwhile cause one re-send, not one each.
        if (this.resendTimer === undefined) this.opts.log?.('info', 'metadata owner is missing earlier WAL commits; sending them again in order', { error: err.message });
        this.scheduleResend();
        return;
      }
      // The owner is unreachable (or a new one took over): send everything it may not have again.
      this.opts.log?.('warn', 'WAL commit not accepted by the metadata owner, will send again', { error: String(err) });
      this.scheduleResend();
    });
  }

  private scheduleResend(): void {
    if (this.resendTimer !== undefined || this.stopped) return;
    this.resendTimer = this.timers.setTimeout(() => {
      this.resendTimer = undefined;
      this.resendPending();
    }, 500);
  }

  /** Sends every own WAL commit the log has not brought back yet (after an owner change). */
  resendPending(): void {
    if (this.failure !== undefined || this.stopped || this.ownCommits.size === 0) return;
    this.send([...this.ownCommits.values()].sort((a, b) => a.seq - b.seq));
  }

  /**
   * Makes every own WAL commit durable at the owner now and waits until the replica has them:
   * before another node takes over one of this node's streams, it must see all of its data.
   */
  async syncCommits(): Promise<void> {
    const pending = [...this.ownCommits.values()].sort((a, b) => a.seq - b.seq);
    if (pending.length === 0) return;
    await this.append(pending);
  }

  private fail(err: Error): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    if (err instanceof MetadataFencedError) this.opts.onFenced?.(err);
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.resendTimer !== undefined) this.timers.clearTimeout(this.resendTimer);
    this.abort.abort();
    await this.loop;
    for (const w of this.waiters.splice(0)) w.reject(new Error('the metadata replica is stopped'));
  }
}

/** Ids reserved in blocks by the owner, handed out locally; the next block is fetched ahead of need. */
export class IdBlocks {
  private blocks: { next: number; end: number }[] = [];
  private refill: Promise<void> | undefined;

  constructor(
    private readonly fetchBlock: () => Promise<{ start: number; count: number }>,
    private readonly lowWater: number,
  ) {}

  private remaining(): number {
    return this.blocks.reduce((s, b) => s + (b.end - b.next), 0);
  }

  private fill(): Promise<void> {
    this.refill ??= this.fetchBlock()
      .then((b) => {
        this.blocks.push({ next: b.start, end: b.start + b.count });
      })
      .finally(() => {
        this.refill = undefined;
      });
    return this.refill;
  }

  async next(): Promise<number> {
    for (;;) {
      const b = this.blocks[0];
      if (b !== undefined && b.next < b.end) {
        const id = b.next++;
        if (this.remaining() < this.lowWater) void this.fill().catch(() => undefined);
        return id;
      }
      if (b !== undefined) {
        this.blocks.shift();
        continue;
      }
      await this.fill();
    }
  }
}
