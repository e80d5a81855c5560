/**
 * Runs background maintenance, one task at a time: compaction rounds (every compactionIntervalMs
 * and on demand), deletion of released objects after the grace period, and a one-off orphan sweep
 * after startup. Serializing them matters: the sweep must not see compaction uploads that are not
 * committed yet.
 */
import type { ObjectStore } from '../object-store/object-store.js';
import type { IndexCache, BlockCache } from '../cache/block-cache.js';
import type { MetadataLog } from '../metadata/metadata-log.js';
import type { PlannerConfig } from './planner.js';
import { planCompaction } from './planner.js';
import { executePlan, plannerView } from './executor.js';
import { deleteReleased, sweepOrphans } from './gc.js';

type Log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface CompactionManagerOptions {
  store: ObjectStore;
  metadata: MetadataLog;
  indexCache: IndexCache;
  blockCache: BlockCache;
  blockBytes: number;
  planner: PlannerConfig;
  /** 0 disables periodic compaction (compactNow still works). */
  intervalMs: number;
  graceMs: number;
  now: () => number;
  log?: Log | undefined;
}

export interface CompactionRoundResult {
  readonly plans: number;
  readonly objectsWritten: number;
  readonly objectsDeleted: number;
}

export class CompactionManager {
  private chain: Promise<unknown> = Promise.resolve();
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;

  constructor(private readonly opts: CompactionManagerOptions) {}

  start(sweep: boolean): void {
    if (sweep) void this.enqueue(() => this.sweep());
    if (this.opts.intervalMs > 0) {
      const t = setInterval(() => void this.enqueue(() => this.round()), this.opts.intervalMs);
      t.unref();
      this.timers.push(t);
    }
    // Deletion must happen even with compaction disabled (retention releases objects too).
    const gcEvery = Math.min(30_000, Math.max(1000, Math.floor(this.opts.graceMs / 4)));
    const g = setInterval(() => void this.enqueue(() => this.gc()), gcEvery);
    g.unref();
    this.timers.push(g);
  }

  /** Queues one orphan sweep (after the running task). */
  sweepSoon(): void {
    void this.enqueue(() => this.sweep()).catch(() => undefined);
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.chain.then(() => {
      if (this.stopped) throw new Error('compaction stopped');
      return task();
    });
    this.chain = run.catch((err: unknown) => {
      if (!this.stopped) this.opts.log?.('warn', 'background storage task failed; will retry next round', { error: String(err) });
    });
    return run;
  }

  /** One compaction round followed by garbage collection. */
  runNow(): Promise<CompactionRoundResult> {
    return this.enqueue(async () => {
      const r = await this.round();
      const deleted = await this.gc();
      return { ...r, objectsDeleted: deleted };
    });
  }

  private async round(): Promise<Omit<CompactionRoundResult, 'objectsDeleted'>> {
    if (this.opts.metadata.isFenced()) return { plans: 0, objectsWritten: 0 };
    const plans = planCompaction(plannerView(this.opts.metadata.spec), this.opts.planner);
    let objectsWritten = 0;
    for (const plan of plans) {
      if (this.stopped) break;
      objectsWritten += await executePlan(
        { store: this.opts.store, metadata: this.opts.metadata, indexCache: this.opts.indexCache, blockBytes: this.opts.blockBytes, log: this.opts.log },
        plan,
      );
    }
    if (plans.length > 0) this.opts.log?.('debug', 'compaction round done', { plans: plans.length, objectsWritten });
    return { plans: plans.length, objectsWritten };
  }

  private async gc(): Promise<number> {
    if (this.opts.metadata.isFenced()) return 0;
    const ids = await deleteReleased(this.opts.store, this.opts.metadata, this.opts.now(), this.opts.graceMs);
    for (const id of ids) {
      this.opts.blockCache.forgetObject(id);
      this.opts.indexCache.forgetObject(id);
    }
    return ids.length;
  }

  private async sweep(): Promise<number> {
    if (this.opts.metadata.isFenced()) return 0;
    return sweepOrphans(this.opts.store, this.opts.metadata, this.opts.log);
  }

  /** Stops the timers and waits for the running task. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    const last = this.chain;
    this.stopped = true;
    await last;
  }
}
