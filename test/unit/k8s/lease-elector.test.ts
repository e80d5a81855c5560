// The Lease election shared by the operator and the brokers, against an in-memory Lease with the
// API server's optimistic concurrency (resourceVersion): expiry by the candidate's own clock,
// races, release, resign.
import { expect } from 'chai';
import { LeaseConflictError, LeaseElector } from '../../../broker/src/k8s/lease-elector.js';
import type { LeaseApi, LeaseRecord } from '../../../broker/src/k8s/lease-elector.js';

class MemoryLease implements LeaseApi {
  record: LeaseRecord | undefined;
  version = 0;
  writes = 0;
  async read(): Promise<{ record: LeaseRecord; version: string } | undefined> {
    await Promise.resolve();
    return this.record === undefined ? undefined : { record: { ...this.record }, version: String(this.version) };
  }
  async create(record: LeaseRecord): Promise<void> {
    await Promise.resolve();
    if (this.record !== undefined) throw new LeaseConflictError('exists');
    this.record = { ...record };
    this.version++;
    this.writes++;
  }
  async update(record: LeaseRecord, version: string): Promise<void> {
    await Promise.resolve();
    if (String(this.version) !== version) throw new LeaseConflictError('stale');
    this.record = { ...record };
    this.version++;
    this.writes++;
  }
}

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('Lease election (k8s/lease-elector)', () => {
  it('expiry counts on the candidate\'s own clock from when it first saw the current version', async () => {
    const lease = new MemoryLease();
    let now = 1_000_000;
    const mk = (identity: string, skewMs = 0) => new LeaseElector(lease, { identity, leaseDurationMs: 15_000, renewDeadlineMs: 10_000, now: () => now + skewMs });
    const a = mk('a');
    const b = mk('b');
    expect(await a.tryAcquireOrRenew(), 'a creates the Lease').to.equal(true);
    expect(await b.tryAcquireOrRenew(), 'b sees it held').to.equal(false);
    now += 10_000;
    expect(await a.tryAcquireOrRenew(), 'a renews').to.equal(true);
    now += 14_000;
    expect(await b.tryAcquireOrRenew(), 'b first sees the renewal now').to.equal(false);
    now += 14_000;
    expect(await b.tryAcquireOrRenew(), '14 s after b saw the last change: still held').to.equal(false);
    // A candidate whose clock runs an hour ahead does not take the Lease early either: the
    // holder's renewTime is never compared with the candidate's clock.
    const skewed = mk('c', 3_600_000);
    expect(await skewed.tryAcquireOrRenew(), 'a skewed clock does not expire the Lease').to.equal(false);
    now += 2_000;
    expect(await b.tryAcquireOrRenew(), '16 s unchanged: b takes it').to.equal(true);
    expect(lease.record).to.deep.include({ holderIdentity: 'b', leaseTransitions: 1, leaseDurationSeconds: 15 });
    expect(b.transitions).to.equal(1);
    expect(await a.tryAcquireOrRenew(), 'a sees b hold it').to.equal(false);
  });

  it('two candidates racing on the same version: exactly one wins', async () => {
    for (let round = 0; round < 20; round++) {
      const lease = new MemoryLease();
      lease.record = { holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 3 };
      const x = new LeaseElector(lease, { identity: 'x' });
      const y = new LeaseElector(lease, { identity: 'y' });
      const r = await Promise.all([x.tryAcquireOrRenew(), y.tryAcquireOrRenew()]);
      expect(r.filter(Boolean), `round ${round}: winners ${JSON.stringify(r)}`).to.have.length(1);
      expect(lease.record?.holderIdentity).to.equal(r[0] ? 'x' : 'y');
      expect(lease.record?.leaseTransitions).to.equal(4);
    }
  });

  it('resign hands the Lease to a standby at once and stands aside; stop releases it', async () => {
    const lease = new MemoryLease();
    const opts = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 20 };
    const events: string[] = [];
    const a = new LeaseElector(lease, { identity: 'a', ...opts });
    const b = new LeaseElector(lease, { identity: 'b', ...opts });
    const runA = a.run({ onStarted: () => void events.push('a+'), onStopped: () => void events.push('a-') });
    await until('a leads', () => a.isLeader);
    const runB = b.run({ onStarted: () => void events.push('b+'), onStopped: () => void events.push('b-') });
    // b polls a held Lease: it must not take it while a renews.
    const writesBefore = lease.writes;
    await until('a renews a few times', () => lease.writes >= writesBefore + 5);
    expect(b.isLeader, 'b while a renews').to.equal(false);
    await a.resign('test');
    expect(a.isLeader).to.equal(false);
    await until('b takes the released Lease', () => b.isLeader, 2000);
    expect(lease.record?.holderIdentity).to.equal('b');
    await b.stop();
    await runB;
    expect(lease.record?.holderIdentity, 'b released the Lease on stop').to.equal('');
    // a stood aside for one lease duration since resigning, then takes the released Lease.
    await until('a leads again after standing aside', () => a.isLeader, 5000);
    await a.stop();
    await runA;
    expect(events).to.deep.equal(['a+', 'a-', 'b+', 'b-', 'a+', 'a-']);
  });

  it('a holder that cannot renew within the renew deadline reports the loss', async () => {
    const lease = new MemoryLease();
    let failing = false;
    const flaky: LeaseApi = {
      read: () => (failing ? Promise.reject(new Error('API server down')) : lease.read()),
      create: (r) => lease.create(r),
      update: (r, v) => lease.update(r, v),
    };
    const warnings: string[] = [];
    const a = new LeaseElector(flaky, { identity: 'a', leaseDurationMs: 1000, renewDeadlineMs: 300, retryPeriodMs: 20, log: { info: () => {}, warn: (m) => warnings.push(m) } });
    let stopped = 0;
    const run = a.run({ onStarted: () => {}, onStopped: () => void stopped++ });
    await until('a leads', () => a.isLeader);
    failing = true;
    await until('a gives up', () => !a.isLeader, 3000);
    expect(stopped).to.equal(1);
    expect(warnings.some((w) => w.includes('could not renew'))).to.equal(true);
    failing = false;
    await a.stop();
    await run;
  });

  it('refuses timings where the holder would act past the point others may take over', () => {
    expect(() => new LeaseElector(new MemoryLease(), { identity: 'a', leaseDurationMs: 2000, renewDeadlineMs: 2000 })).to.throw(/renew deadline/);
    expect(() => new LeaseElector(new MemoryLease(), { identity: 'a', leaseDurationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 3000 })).to.throw(/retry period/);
  });
});
