// List-then-watch cache of one resource. The watch resumes from the last resourceVersion when the
// server ends it, relists when the server answers 410 Gone (the version was compacted away), and
// restarts with backoff after any other error, so the cache survives watch disconnects and API
// server restarts. Handlers receive only keys: reconcilers re-read state (level-based).
import type { KubeClient, ObjectLike, Resource, WatchEvent } from './client.js';
import { isGone } from './client.js';
import type { Timers } from './workqueue.js';
import { realTimers } from './workqueue.js';

export type Logger = {
  info(msg: string, meta?: Record<string, unknown>): void;
  warn(msg: string, meta?: Record<string, unknown>): void;
  error(msg: string, meta?: Record<string, unknown>): void;
  debug(msg: string, meta?: Record<string, unknown>): void;
};

export const silentLogger: Logger = { info() {}, warn() {}, error() {}, debug() {} };

export function objectKey(o: ObjectLike): string {
  const ns = o.metadata?.namespace;
  return ns ? `${ns}/${o.metadata?.name ?? ''}` : (o.metadata?.name ?? '');
}

export interface InformerOptions<T extends ObjectLike> {
  namespace?: string;
  labelSelector?: string;
  onChange: (obj: T, kind: 'add' | 'update' | 'delete') => void;
  logger?: Logger;
  timers?: Timers;
  backoff?: { baseMs: number; maxMs: number };
}

export class Informer<T extends ObjectLike> {
  private readonly store = new Map<string, T>();
  private resourceVersion = '';
  private abort = new AbortController();
  private stopped = false;
  private synced = false;
  private loop: Promise<void> | undefined;
  private failures = 0;
  /** Counters for tests and metrics. */
  readonly stats = { lists: 0, watches: 0, relistsOnGone: 0, restartsOnError: 0 };
  private syncWaiters: (() => void)[] = [];
  private wakeSleep: (() => void) | undefined;

  constructor(
    private readonly client: KubeClient,
    readonly resource: Resource,
    private readonly opts: InformerOptions<T>,
  ) {}

  get hasSynced(): boolean {
    return this.synced;
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(): T[] {
    return [...this.store.values()];
  }

  /** Starts the list/watch loop; resolves after the first successful list. */
  async start(): Promise<void> {
    if (this.loop) return this.waitForSync();
    this.stopped = false;
    this.loop = this.run();
    return this.waitForSync();
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((r) => this.syncWaiters.push(r));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wakeSleep?.();
    for (const w of this.syncWaiters) w();
    this.syncWaiters = [];
    await this.loop;
    this.loop = undefined;
  }

  /** Drops the current watch connection (the loop resumes it); used by tests to simulate disconnects. */
  disconnect(): void {
    this.abort.abort();
  }

  private get log() {
    return this.opts.logger ?? silentLogger;
  }

  private async relist(): Promise<void> {
    this.stats.lists++;
    const l = await this.client.list<T>(this.resource, this.opts.namespace, this.opts.labelSelector);
    const seen = new Set<string>();
    for (const item of l.items) {
      const key = objectKey(item);
      seen.add(key);
      const prev = this.store.get(key);
      this.store.set(key, item);
      if (!prev) this.opts.onChange(item, 'add');
      else if (prev.metadata?.resourceVersion !== item.metadata?.resourceVersion) this.opts.onChange(item, 'update');
    }
    for (const [key, prev] of [...this.store]) {
      if (!seen.has(key)) {
        this.store.delete(key);
        this.opts.onChange(prev, 'delete');
      }
    }
    this.resourceVersion = l.resourceVersion;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters) w();
      this.syncWaiters = [];
    }
  }

  private handle(ev: WatchEvent<T>): void {
    const rv = ev.object.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (ev.type === 'BOOKMARK') return;
    const key = objectKey(ev.object);
    if (ev.type === 'DELETED') {
      this.store.delete(key);
      this.opts.onChange(ev.object, 'delete');
    } else {
      const existed = this.store.has(key);
      this.store.set(key, ev.object);
      this.opts.onChange(ev.object, existed ? 'update' : 'add');
    }
  }

  private async sleep(ms: number): Promise<void> {
    const timers = this.opts.timers ?? realTimers;
    await new Promise<void>((resolve) => {
      const h = timers.setTimeout(() => {
        this.wakeSleep = undefined;
        resolve();
      }, ms);
      this.wakeSleep = () => {
        timers.clearTimeout(h);
        this.wakeSleep = undefined;
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    let needList = true;
    while (!this.stopped) {
      try {
        if (needList) {
          await this.relist();
          needList = false;
        }
        this.abort = new AbortController();
        this.stats.watches++;
        await this.client.watch<T>(this.resource, this.opts.namespace, this.resourceVersion, (e) => this.handle(e), this.abort.signal, this.opts.labelSelector);
        this.failures = 0;
      } catch (err) {
        if (this.stopped) break;
        if (this.abort.signal.aborted) continue; // a deliberate disconnect: resume the watch
        if (isGone(err)) {
          this.stats.relistsOnGone++;
          this.log.info(`watch ${this.resource.plural}: resourceVersion too old, relisting`);
          needList = true;
          continue;
        }
        this.stats.restartsOnError++;
        this.failures++;
        const b = this.opts.backoff ?? { baseMs: 500, maxMs: 30_000 };
        const delay = Math.min(b.maxMs, b.baseMs * 2 ** Math.min(this.failures - 1, 16));
        this.log.warn(`watch ${this.resource.plural} failed, restarting with a relist in ${delay} ms: ${err instanceof Error ? err.message : String(err)}`);
        needList = true;
        await this.sleep(delay);
      }
    }
  }
}
