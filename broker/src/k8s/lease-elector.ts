/**
 * Leader election through a `coordination.k8s.io/v1` Lease, with client-go's semantics. Used by the
 * operator (one active replica) and by brokers (one active controller) when they run in Kubernetes.
 *
 * - A candidate takes the Lease when it does not exist, when its holder released it (empty
 *   holder), or when the Lease has not changed for leaseDurationSeconds as measured on the
 *   candidate's OWN clock since it first saw the current version. Comparing the holder's renewTime
 *   with the local clock would let clock skew between nodes hand the Lease over early.
 * - Every write carries the resourceVersion that was read, so of two candidates racing on the
 *   same version the API server accepts one (the other gets 409 and loses this round).
 * - The holder renews every retryPeriod and reports the loss when it could not renew for
 *   renewDeadline (< leaseDuration, so it stops acting before anyone may take over).
 * - leaseTransitions counts holder changes: it is the Lease's epoch.
 */

/** The fields of a Lease's spec the election reads and writes (times as RFC 3339 strings). */
export interface LeaseRecord {
  holderIdentity?: string | undefined;
  leaseDurationSeconds?: number | undefined;
  acquireTime?: string | undefined;
  renewTime?: string | undefined;
  leaseTransitions?: number | undefined;
}

/** One named Lease in the API server. */
export interface LeaseApi {
  /** The Lease and its resourceVersion, or undefined when it does not exist. */
  read(): Promise<{ record: LeaseRecord; version: string } | undefined>;
  /** Creates the Lease; throws LeaseConflictError when it already exists. */
  create(record: LeaseRecord): Promise<void>;
  /** Replaces the Lease if it is still at `version`; throws LeaseConflictError otherwise. */
  update(record: LeaseRecord, version: string): Promise<void>;
}

/** Another candidate wrote the Lease first (HTTP 409). */
export class LeaseConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeaseConflictError';
  }
}

export interface LeaseElectorOptions {
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log?: { info(msg: string): void; warn(msg: string): void };
  /** Local clock (ms), for tests. */
  now?: () => number;
}

export interface LeadershipCallbacks {
  onStarted: () => void | Promise<void>;
  onStopped: () => void | Promise<void>;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

export class LeaseElector {
  private stopped = false;
  private leading = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** The Lease version last seen and when (local clock): expiry counts from then. */
  private observed: { version: string; at: number } | undefined;
  /** After resign(): do not campaign before this time, so another candidate gets the Lease. */
  private standAsideUntil = 0;
  private lastTransitions = 0;
  private callbacks: LeadershipCallbacks | undefined;

  constructor(
    private readonly api: LeaseApi,
    private readonly opts: LeaseElectorOptions,
  ) {
    const d = this.leaseDuration;
    if (this.renewDeadline >= d) throw new Error(`lease renew deadline (${this.renewDeadline} ms) must be shorter than the lease duration (${d} ms)`);
    if (this.retryPeriod >= this.renewDeadline) throw new Error(`lease retry period (${this.retryPeriod} ms) must be shorter than the renew deadline (${this.renewDeadline} ms)`);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** leaseTransitions of the Lease when this candidate last acquired or renewed it: its epoch. */
  get transitions(): number {
    return this.lastTransitions;
  }

  private get leaseDuration(): number {
    return this.opts.leaseDurationMs ?? 15_000;
  }
  private get renewDeadline(): number {
    return this.opts.renewDeadlineMs ?? 10_000;
  }
  private get retryPeriod(): number {
    return this.opts.retryPeriodMs ?? 2_000;
  }
  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** Tries once to acquire or renew. True when this candidate holds the Lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { identity } = this.opts;
    const now = this.now();
    const fresh: LeaseRecord = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.leaseDuration / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    try {
      const existing = await this.api.read();
      if (now < this.standAsideUntil) {
        if (existing !== undefined && this.observed?.version !== existing.version) this.observed = { version: existing.version, at: now };
        return false;
      }
      if (existing === undefined) {
        await this.api.create(fresh);
        this.lastTransitions = 0;
        return true;
      }
      const cur = existing.record;
      if (this.observed?.version !== existing.version) this.observed = { version: existing.version, at: now };
      const holder = cur.holderIdentity ?? '';
      const mine = holder === identity;
      if (!mine) {
        const expiresAt = this.observed.at + (cur.leaseDurationSeconds ?? 0) * 1000;
        if (holder !== '' && now < expiresAt) return false;
      }
      const transitions = (cur.leaseTransitions ?? 0) + (mine ? 0 : 1);
      await this.api.update({ ...fresh, acquireTime: mine && cur.acquireTime ? cur.acquireTime : fresh.acquireTime, leaseTransitions: transitions }, existing.version);
      this.lastTransitions = transitions;
      return true;
    } catch (err) {
      if (err instanceof LeaseConflictError) return false; // another candidate wrote first
      throw err;
    }
  }

  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => resolve(), ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.wake = undefined;
  }

  /**
   * Campaigns until stopped: onStarted when leadership is gained, onStopped when it is lost
   * (renewals failed for renewDeadline), resigned, or the elector stops while leading.
   */
  run(callbacks: LeadershipCallbacks): Promise<void> {
    this.loop ??= (async () => {
      let lastRenew = 0;
      this.callbacks = callbacks;
      while (!this.stopped) {
        let ok = false;
        try {
          ok = await this.tryAcquireOrRenew();
        } catch (err) {
          this.opts.log?.warn(`lease election (${this.opts.identity}): ${err instanceof Error ? err.message : String(err)}`);
        }
        if (this.stopped) break;
        const t = this.now();
        if (ok) {
          lastRenew = t;
          if (!this.leading) {
            this.leading = true;
            this.opts.log?.info(`lease election: ${this.opts.identity} holds the lease (transition ${this.lastTransitions})`);
            await callbacks.onStarted();
          }
        } else if (this.leading && t - lastRenew > this.renewDeadline) {
          this.leading = false;
          this.opts.log?.warn(`lease election: ${this.opts.identity} could not renew the lease for ${t - lastRenew} ms; giving up leadership`);
          await callbacks.onStopped();
        }
        await this.sleep(this.retryPeriod);
      }
      if (this.leading) {
        this.leading = false;
        await this.release();
        await callbacks.onStopped();
      }
    })();
    return this.loop;
  }

  /**
   * Gives leadership up while the elector keeps running (the holder could not act on it): the
   * Lease is released and this candidate stands aside for one lease duration so another takes it.
   */
  async resign(why: string): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    this.standAsideUntil = this.now() + this.leaseDuration;
    this.opts.log?.warn(`lease election: ${this.opts.identity} resigns: ${why}`);
    await this.release();
    await this.callbacks?.onStopped();
  }

  /** Gives the Lease up so a standby takes over at once instead of after leaseDuration. */
  private async release(): Promise<void> {
    try {
      const existing = await this.api.read();
      if (existing === undefined || existing.record.holderIdentity !== this.opts.identity) return;
      await this.api.update({ ...existing.record, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(this.now()) }, existing.version);
    } catch (err) {
      this.opts.log?.warn(`lease election: could not release the lease: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }
}
