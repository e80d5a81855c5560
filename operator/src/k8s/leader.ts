// Leader election through a coordination.k8s.io Lease, with client-go's semantics: a candidate
// takes the Lease when it is free or its holder has not renewed within leaseDuration; the holder
// renews every retryPeriod and steps down if it cannot renew within renewDeadline. Updates use
// the Lease's resourceVersion, so two candidates never both win the same term.
import type { KubeClient, ObjectLike } from './client.js';
import { isConflict, RESOURCES } from './client.js';
import type { Logger } from './informer.js';
import { silentLogger } from './informer.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger?: Logger;
  now?: () => Date;
}

interface Lease extends ObjectLike {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

function microTime(d: Date): string {
  return d.toISOString().replace(/Z$/, '000Z');
}

export class LeaderElector {
  private stopped = false;
  private leading = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: LeaderElectionOptions,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  private get leaseDuration() {
    return this.opts.leaseDurationMs ?? 15_000;
  }
  private get renewDeadline() {
    return this.opts.renewDeadlineMs ?? 10_000;
  }
  private get retryPeriod() {
    return this.opts.retryPeriodMs ?? 2_000;
  }
  private get log() {
    return this.opts.logger ?? silentLogger;
  }
  private now(): Date {
    return this.opts.now?.() ?? new Date();
  }

  /** Tries once to acquire or renew. Returns true when this candidate holds the Lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    const now = this.now();
    const existing = await this.client.get<Lease>(RESOURCES.Lease, namespace, name);
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.leaseDuration / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    try {
      if (!existing) {
        await this.client.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec });
        return true;
      }
      const cur = existing.spec ?? {};
      const renewed = cur.renewTime ? Date.parse(cur.renewTime) : 0;
      const duration = (cur.leaseDurationSeconds ?? 0) * 1000;
      const heldByOther = cur.holderIdentity && cur.holderIdentity !== identity && renewed + duration > now.getTime();
      if (heldByOther) return false;
      const sameHolder = cur.holderIdentity === identity;
      await this.client.replace({
        ...existing,
        spec: {
          ...spec,
          acquireTime: sameHolder && cur.acquireTime ? cur.acquireTime : spec.acquireTime,
          leaseTransitions: (cur.leaseTransitions ?? 0) + (sameHolder ? 0 : 1),
        },
      });
      return true;
    } catch (err) {
      if (isConflict(err)) return false; // someone else wrote the Lease first
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
   * Campaigns until stopped. onStarted runs when leadership is gained; onStopped when it is lost
   * (the caller should stop controllers; a process that lost its lease usually exits).
   */
  run(callbacks: { onStarted: () => void | Promise<void>; onStopped: () => void | Promise<void> }): Promise<void> {
    this.loop ??= (async () => {
      let lastRenew = 0;
      while (!this.stopped) {
        let ok = false;
        try {
          ok = await this.tryAcquireOrRenew();
        } catch (err) {
          this.log.warn(`leader election: ${err instanceof Error ? err.message : String(err)}`);
        }
        if (this.stopped) break;
        const t = Date.now();
        if (ok) {
          lastRenew = t;
          if (!this.leading) {
            this.leading = true;
            this.log.info(`leader election: ${this.opts.identity} became the leader`);
            await callbacks.onStarted();
          }
        } else if (this.leading && t - lastRenew > this.renewDeadline) {
          this.leading = false;
          this.log.warn(`leader election: ${this.opts.identity} lost the lease`);
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

  /** Gives the Lease up so a standby takes over at once instead of after leaseDuration. */
  private async release(): Promise<void> {
    try {
      const existing = await this.client.get<Lease>(RESOURCES.Lease, this.opts.namespace, this.opts.name);
      if (existing?.spec?.holderIdentity !== this.opts.identity) return;
      await this.client.replace({ ...existing, spec: { ...existing.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(this.now()) } });
    } catch (err) {
      this.log.warn(`leader election: could not release the lease: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }
}
