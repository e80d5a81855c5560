// Controller runtime pieces with an in-memory API: work queue, informer relist/restart, Lease election.
import { expect } from 'chai';
import { KubeApiError, RESOURCES, type KubeClient, type ListResult, type ObjectLike, type Resource, type WatchEvent } from '../../../operator/src/k8s/client.js';
import { Informer } from '../../../operator/src/k8s/informer.js';
import { LeaseElector } from '../../../broker/src/k8s/lease-elector.js';
import { kubeClientLeaseApi } from '../../../operator/src/k8s/lease.js';
import { TerminalError, WorkQueue } from '../../../operator/src/k8s/workqueue.js';
import type { TopicAdmin } from '../../../operator/src/kafka/admin.js';
import { AdminPool } from '../../../operator/src/kafka/pool.js';

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('operator work queue', () => {
  it('de-duplicates keys and never runs one key concurrently; a re-add while running runs once more', async () => {
    const runs: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let active = 0;
    let maxActive = 0;
    const q = new WorkQueue(async (k) => {
      active++;
      maxActive = Math.max(maxActive, active);
      runs.push(k);
      if (runs.length === 1) await gate;
      active--;
    }, { workers: 4 });
    q.add('a');
    q.start();
    await until('first run', () => runs.length === 1);
    q.add('a');
    q.add('a');
    q.add('a');
    release();
    await until('second run', () => runs.length === 2);
    await new Promise((r) => setTimeout(r, 30)); // a third run would show up here
    await q.stop();
    expect(runs).to.deep.equal(['a', 'a']);
    expect(maxActive).to.equal(1);
  });

  it('retries failures with exponential backoff and stops retrying on TerminalError', async () => {
    const times: number[] = [];
    const errors: number[] = [];
    const q = new WorkQueue(async () => {
      times.push(Date.now());
      if (times.length < 3) throw new Error('transient');
      if (times.length === 3) throw new TerminalError('bad spec');
    }, { workers: 1, backoff: { baseMs: 20, maxMs: 1000 }, onError: (_k, _e, attempt) => errors.push(attempt) });
    expect([q.backoffFor(1), q.backoffFor(2), q.backoffFor(3), q.backoffFor(30)]).to.deep.equal([20, 40, 80, 1000]);
    q.start();
    q.add('k');
    await until('three attempts', () => times.length === 3);
    await new Promise((r) => setTimeout(r, 100));
    expect(times).to.have.length(3);
    expect(errors).to.deep.equal([1, 2, 3]);
    expect(times[1]! - times[0]!).to.be.at.least(15);
    expect(times[2]! - times[1]!).to.be.at.least(35);
    expect(q.delayedKeys).to.deep.equal([]);
    await q.stop();
  });

  it('addAfter keeps the earliest schedule, and add() runs a delayed key at once', async () => {
    const runs: string[] = [];
    const q = new WorkQueue(async (k) => void runs.push(k), { workers: 1 });
    q.start();
    q.addAfter('x', 60_000);
    q.addAfter('x', 120_000);
    expect(q.delayedKeys).to.deep.equal(['x']);
    q.add('x');
    await until('x ran', () => runs.length === 1);
    expect(q.delayedKeys).to.deep.equal([]);
    await q.stop();
  });
});

type Obj = ObjectLike & { metadata: { name: string; namespace: string; resourceVersion: string } };

class ScriptedKube implements Partial<KubeClient> {
  lists: ListResult<Obj>[] = [];
  watches: ((emit: (e: WatchEvent<Obj>) => void) => Promise<void>)[] = [];
  listCalls = 0;
  watchRVs: string[] = [];

  async list<T extends ObjectLike>(): Promise<ListResult<T>> {
    const l = this.lists[Math.min(this.listCalls, this.lists.length - 1)]!;
    this.listCalls++;
    return l as unknown as ListResult<T>;
  }

  async watch<T extends ObjectLike>(_r: Resource, _ns: string | undefined, rv: string, onEvent: (e: WatchEvent<T>) => void, signal: AbortSignal): Promise<void> {
    this.watchRVs.push(rv);
    const script = this.watches.shift();
    if (script) return script(onEvent as unknown as (e: WatchEvent<Obj>) => void);
    // no more scripts: hold the watch open until aborted
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
  }
}

const obj = (name: string, rv: string): Obj => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns', resourceVersion: rv } });

describe('operator informer', () => {
  it('resumes the watch from the last resourceVersion, relists on 410 Gone and restarts after other errors', async () => {
    const kube = new ScriptedKube();
    kube.lists = [
      { items: [obj('a', '1'), obj('b', '2')], resourceVersion: '2' },
      { items: [obj('a', '5'), obj('c', '6')], resourceVersion: '6' },
      { items: [obj('a', '5'), obj('c', '6')], resourceVersion: '7' },
    ];
    kube.watches = [
      async (emit) => emit({ type: 'MODIFIED', object: obj('a', '3') }), // server ends the watch normally
      async () => {
        throw new KubeApiError(410, 'Expired', 'too old resource version');
      },
      async () => {
        throw new Error('ECONNRESET');
      },
    ];
    const changes: string[] = [];
    const inf = new Informer<Obj>(kube as unknown as KubeClient, RESOURCES.ConfigMap, { onChange: (o, kind) => changes.push(`${kind}:${o.metadata.name}@${o.metadata.resourceVersion}`), backoff: { baseMs: 5, maxMs: 10 } });
    await inf.start();
    await until('relisted after the error', () => kube.listCalls === 3 && kube.watchRVs.length === 4);
    expect(kube.watchRVs).to.deep.equal(['2', '3', '6', '7']);
    expect(inf.stats.relistsOnGone).to.equal(1);
    expect(inf.stats.restartsOnError).to.equal(1);
    expect(changes).to.deep.equal(['add:a@1', 'add:b@2', 'update:a@3', 'update:a@5', 'add:c@6', 'delete:b@2']);
    expect(inf.list().map((o) => o.metadata.name).sort()).to.deep.equal(['a', 'c']);
    expect(inf.hasSynced).to.equal(true);
    await inf.stop();
  });
});

class LeaseStore implements Partial<KubeClient> {
  lease: (ObjectLike & { metadata: { resourceVersion: string; name: string; namespace: string } }) | undefined;
  private rv = 0;

  async get<T extends ObjectLike>(): Promise<T | undefined> {
    return this.lease ? (structuredClone(this.lease) as unknown as T) : undefined;
  }
  async create<T extends ObjectLike>(o: ObjectLike): Promise<T> {
    if (this.lease) throw new KubeApiError(409, 'AlreadyExists', 'exists');
    this.lease = { ...structuredClone(o), metadata: { ...(o.metadata as { name: string; namespace: string }), resourceVersion: String(++this.rv) } };
    return this.lease as unknown as T;
  }
  async replace<T extends ObjectLike>(o: ObjectLike): Promise<T> {
    if (o.metadata?.resourceVersion !== this.lease?.metadata.resourceVersion) throw new KubeApiError(409, 'Conflict', 'stale resourceVersion');
    this.lease = { ...structuredClone(o), metadata: { ...(o.metadata as { name: string; namespace: string }), resourceVersion: String(++this.rv) } };
    return this.lease as unknown as T;
  }
}

describe('operator leader election', () => {
  it('through the operator\'s REST client: one candidate wins, 409 loses the round, expiry hands the Lease over', async () => {
    const store = new LeaseStore();
    let now = Date.parse('2025-01-01T00:00:00Z');
    const mk = (identity: string) => new LeaseElector(kubeClientLeaseApi(store as unknown as KubeClient, 'ns', 'op'), { identity, leaseDurationMs: 15_000, now: () => now });
    const a = mk('a');
    const b = mk('b');
    expect(await a.tryAcquireOrRenew()).to.equal(true);
    expect(await b.tryAcquireOrRenew()).to.equal(false);
    expect(store.lease?.metadata).to.deep.include({ name: 'op', namespace: 'ns' });
    now += 16_000;
    expect(await b.tryAcquireOrRenew()).to.equal(true); // unchanged for a whole lease duration
    const spec = (store.lease as unknown as { spec: { holderIdentity: string; leaseTransitions: number } }).spec;
    expect(spec).to.deep.include({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(await a.tryAcquireOrRenew()).to.equal(false);

    // two candidates racing on the same read: the second write is rejected by resourceVersion
    const stale = await store.get();
    await b.tryAcquireOrRenew();
    let conflict = false;
    await store.replace({ ...(stale as ObjectLike) }).catch(() => (conflict = true));
    expect(conflict).to.equal(true);
  });
});

describe('operator Kafka admin pool', () => {
  it('drop() forgets a client at once even when closing it never finishes, and the next get() makes a new one', async () => {
    let made = 0;
    let closes = 0;
    const pool = new AdminPool(() => {
      made++;
      return {
        close: () => {
          closes++;
          return new Promise<void>(() => {}); // a client stuck on a dead broker's in-flight request
        },
      } as unknown as TopicAdmin;
    });
    const first = pool.get(['b:9092']);
    expect(pool.get(['b:9092'])).to.equal(first);
    const started = Date.now();
    await pool.drop(['b:9092']);
    expect(Date.now() - started, 'drop waited for the hung close').to.be.lessThan(1000);
    expect(closes).to.equal(1);
    expect(pool.get(['b:9092'])).not.to.equal(first);
    expect(made).to.equal(2);
  });
});
