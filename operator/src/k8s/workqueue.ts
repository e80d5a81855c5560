// A per-key work queue in the client-go style: a key is queued at most once, a key being
// processed is never processed concurrently (a re-add while processing marks it dirty and it runs
// again afterwards), failures retry with per-key exponential backoff, and `addAfter` schedules
// polls. Reconcilers are level-based, so dropping duplicate adds loses nothing.

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/** What a handler returns: nothing, or a delay after which the key is processed again. */
export type HandlerResult = void | { requeueAfterMs: number };

/** An error that retrying cannot fix (e.g. an invalid spec): no backoff retry, the next change re-triggers. */
export class TerminalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TerminalError';
  }
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; handle: unknown }>();
  private waiters: (() => void)[] = [];
  private stopped = false;
  private running: Promise<void>[] = [];

  constructor(
    private readonly handler: (key: string) => Promise<HandlerResult>,
    private readonly opts: { workers?: number; backoff?: BackoffOptions; timers?: Timers; onError?: (key: string, err: unknown, attempt: number) => void; now?: () => number } = {},
  ) {}

  private get timers(): Timers {
    return this.opts.timers ?? realTimers;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  add(key: string): void {
    if (this.stopped) return;
    const d = this.delayed.get(key);
    if (d) {
      this.timers.clearTimeout(d.handle);
      this.delayed.delete(key);
    }
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.wake();
  }

  /** Adds the key after `ms`; an earlier pending add for the key wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key);
    const at = this.now() + ms;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) this.timers.clearTimeout(existing.handle);
    const handle = this.timers.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, handle });
  }

  backoffFor(attempt: number): number {
    const b = this.opts.backoff ?? { baseMs: 1000, maxMs: 300_000 };
    return Math.min(b.maxMs, b.baseMs * 2 ** Math.max(0, attempt - 1));
  }

  get length(): number {
    return this.queue.length;
  }

  /** Pending delayed adds (for tests and metrics). */
  get delayedKeys(): string[] {
    return [...this.delayed.keys()];
  }

  start(): void {
    const workers = this.opts.workers ?? 2;
    for (let i = 0; i < workers; i++) this.running.push(this.worker());
  }

  /** Stops taking work and waits for handlers in flight. Safe to call twice. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const d of this.delayed.values()) this.timers.clearTimeout(d.handle);
    this.delayed.clear();
    this.wake();
    await Promise.all(this.running);
    this.running = [];
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async next(): Promise<string | undefined> {
    while (!this.stopped) {
      const key = this.queue.shift();
      if (key !== undefined) {
        this.queued.delete(key);
        return key;
      }
      await new Promise<void>((r) => this.waiters.push(r));
    }
    return undefined;
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.next();
      if (key === undefined) return;
      this.processing.add(key);
      try {
        const result = await this.handler(key);
        this.failures.delete(key);
        if (result && result.requeueAfterMs > 0) this.addAfter(key, result.requeueAfterMs);
      } catch (err) {
        const attempt = (this.failures.get(key) ?? 0) + 1;
        this.opts.onError?.(key, err, attempt);
        if (err instanceof TerminalError) {
          this.failures.delete(key);
        } else {
          this.failures.set(key, attempt);
          this.addAfter(key, this.backoffFor(attempt));
        }
      } finally {
        this.processing.delete(key);
        if (this.dirty.delete(key)) this.add(key);
      }
    }
  }
}
