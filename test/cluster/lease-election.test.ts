// Issue 5, design: "Election: a Kubernetes coordination.k8s.io/v1 Lease when running in Kubernetes
// (config switch)". Three real `automq broker` processes on one MinIO prefix elect their controller
// through a Lease in a real kube-apiserver + etcd, authenticated as the brokers' ServiceAccount with
// exactly the Role the operator renders for them (and the broker config the operator renders).
//
// Shows: the Lease holder is the controller the brokers name; kill -9 of the controller hands the
// Lease and the controller role to another broker (leaseTransitions grows) and the cluster serves
// again; a paused (SIGSTOP) controller loses the Lease and, after SIGCONT, stops acting as
// controller; SIGTERM releases the Lease on the way out; with the API server down the controller
// steps down while produce keeps working, and a controller is elected again once it is back; a
// broker whose ServiceAccount may not read Leases refuses to start with the reason.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { automqClusterSchema } from '../../operator/src/api/automqcluster.js';
import { HttpKubeClient, RESOURCES, type ObjectLike } from '../../operator/src/k8s/client.js';
import { brokerConfig } from '../../operator/src/model/broker-config.js';
import { desiredChildren } from '../../operator/src/model/cluster.js';
import { Cluster, FAST_CLUSTER_CONFIG, MINIO_START_TIMEOUT_MS, type ClusterMember } from '../helpers/cluster.js';
import { uniqueName } from '../helpers/group-scenario.js';
import { Proc } from '../helpers/proc.js';
import { waitFor } from '../helpers/wait.js';
import { adminClient, envtestAvailable, startEnvTest, type EnvTest } from '../operator/envtest.js';

const NS = 'lease-election';
const BROKER_MAIN = path.join(process.cwd(), 'dist', 'broker', 'src', 'cli', 'main.js');

/** How long the API server stays down after the controller stepped down: > broker.session.timeout.ms (FAST 4 s). */
const OUTAGE_AFTER_STEP_DOWN_MS = Number(FAST_CLUSTER_CONFIG['broker.session.timeout.ms']) + 2000;

type LeaseSpec = { holderIdentity?: string; leaseTransitions?: number; leaseDurationSeconds?: number };

describe('cluster: controller elected through a Kubernetes Lease (real kube-apiserver)', function () {
  this.timeout(300_000);
  let env: EnvTest | undefined;
  let admin: HttpKubeClient;
  let cluster: Cluster | undefined;
  let leaseName = '';
  let brokerKubeconfig = '';
  let deniedKubeconfig = '';

  const lease = async (): Promise<LeaseSpec | undefined> => ((await admin.get(RESOURCES.Lease, NS, leaseName)) as { spec?: LeaseSpec } | undefined)?.spec;
  const holderOf = (spec: LeaseSpec | undefined): string => (spec?.holderIdentity ?? '').split('/')[0] ?? '';
  /** Members that logged "controller active" more often than `before` counted. */
  const activeCounts = (c: Cluster) => new Map(c.members.map((b) => [b, b.find('controller active').length]));

  /** A kubeconfig like the admin's but authenticated as `sa` (a bound ServiceAccount token, as in a pod). */
  async function kubeconfigFor(sa: string, file: string): Promise<string> {
    const kc = new KubeConfig();
    kc.loadFromFile(env!.kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    const tr = await core.createNamespacedServiceAccountToken({
      name: sa,
      namespace: NS,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [], expirationSeconds: 3600 } },
    });
    const token = tr.status?.token;
    if (token === undefined) throw new Error(`no token issued for ServiceAccount ${NS}/${sa}`);
    const cfg = JSON.parse(await readFile(env!.kubeconfigPath, 'utf8')) as { users: { name: string; user: { token: string } }[] };
    cfg.users = [{ name: 'admin', user: { token } }];
    const out = path.join(env!.dir, file);
    await writeFile(out, JSON.stringify(cfg));
    return out;
  }

  before(async function () {
    this.timeout(MINIO_START_TIMEOUT_MS + 240_000);
    if (!envtestAvailable() || !existsSync(BROKER_MAIN)) {
      console.warn('    skipped: needs hack/envtest-build.sh and a built broker');
      this.skip();
    }
    env = await startEnvTest();
    admin = await adminClient(env, NS);

    // What the operator renders for a cluster: the brokers' ServiceAccount, Role and RoleBinding
    // (owner references dropped: no AutoMQCluster object exists here) and the broker config.
    const cr = automqClusterSchema.parse({
      apiVersion: 'automq.io/v1alpha1',
      kind: 'AutoMQCluster',
      metadata: { name: 'leasy', namespace: NS, uid: randomUUID() },
      spec: { image: 'automq:test', zones: [{ name: 'a' }], objectStorage: { bucket: 'bkt', credentials: { podIdentity: {} } } },
    });
    const children = desiredChildren(cr);
    for (const o of [children.serviceAccount, children.role, children.roleBinding]) {
      const { ownerReferences: _, ...metadata } = o.metadata as Record<string, unknown>;
      await admin.create({ ...o, metadata } as ObjectLike);
    }
    const sa = (children.serviceAccount.metadata as { name: string }).name;
    brokerKubeconfig = await kubeconfigFor(sa, 'broker-kubeconfig');
    await admin.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'no-role', namespace: NS } });
    deniedKubeconfig = await kubeconfigFor('no-role', 'denied-kubeconfig');

    const rendered = Object.fromEntries(brokerConfig(cr.spec));
    expect(rendered['controller.election'], 'the election the operator renders').to.equal('kubernetes-lease');
    cluster = await Cluster.start({
      name: 'lease',
      brokers: 3,
      config: { ...rendered, ...FAST_CLUSTER_CONFIG },
      // As in a pod: the namespace from the downward API, the API server from the kubeconfig.
      env: { KUBECONFIG: brokerKubeconfig, POD_NAMESPACE: NS },
    });
    leaseName = `automq-${cluster.clusterId}-controller`;
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed' && cluster) console.log(cluster.report(Number(process.env['CLUSTER_REPORT_LINES'] ?? 25)));
  });
  after(async () => {
    await cluster?.stop();
    await env?.stop();
  });

  it('the Lease holder is the controller every broker names', async () => {
    const c = cluster!;
    const ctl = await c.controller();
    const spec = await lease();
    expect(spec, `Lease ${NS}/${leaseName}`).to.not.equal(undefined);
    expect(holderOf(spec), 'Lease holder (advertised address)').to.equal(ctl.bootstrap);
    expect(spec!.leaseDurationSeconds, 'lease duration = controller.session.timeout.ms').to.equal(3);
    for (const b of c.members) expect(b.find('electing the controller through a Kubernetes Lease').length, `${b.label} uses the Lease`).to.equal(1);
    c.assertNoUnexpectedExit();
  });

  it('kill -9 of the controller: another broker takes the Lease and the controller role; the cluster serves again', async () => {
    const c = cluster!;
    const old = await c.controller();
    const before = await lease();
    const counts = activeCounts(c);
    const t0 = Date.now();
    await c.kill9(old);
    let successor: ClusterMember | undefined;
    await waitFor(
      () => {
        successor = c.members.find((b) => b !== old && b.find('controller active').length > counts.get(b)!);
        return successor !== undefined;
      },
      60_000,
      () => `another broker to log "controller active" after kill -9 of ${old.label}\n${c.report(15)}`,
      100,
    );
    const elected = Date.now() - t0;
    const after = await lease();
    expect(holderOf(after), 'the new Lease holder').to.equal(successor!.bootstrap);
    expect(after!.leaseTransitions, 'leaseTransitions').to.be.greaterThan(before!.leaseTransitions ?? 0);
    const topic = uniqueName('after-lease-failover');
    await c.createTopic(topic, 3);
    console.log(`      ${successor!.label} holds the Lease and is controller ${elected} ms after kill -9 of ${old.label} (transitions ${before!.leaseTransitions} -> ${after!.leaseTransitions})`);
    expect((await c.controller({ not: old.nodeId })).nodeId, 'the controller the brokers name').to.equal(successor!.nodeId);
    await c.restart(old);
    await c.waitForBrokers(3);
    c.assertNoUnexpectedExit();
  });

  it('a paused controller loses the Lease and is fenced; after SIGCONT it never acts as controller and exits 3', async () => {
    const c = cluster!;
    const old = await c.controller();
    const counts = activeCounts(c);
    c.pause(old);
    let successor: ClusterMember | undefined;
    try {
      await waitFor(
        () => {
          successor = c.members.find((b) => b !== old && b.find('controller active').length > counts.get(b)!);
          return successor !== undefined;
        },
        60_000,
        () => `another broker to become controller while ${old.label} is paused\n${c.report(15)}`,
        100,
      );
      expect(holderOf(await lease()), 'Lease holder while the old controller sleeps').to.equal(successor!.bootstrap);
      await c.createTopic(uniqueName('while-paused'), 2);
      // Silent longer than a session, its broker is fenced too (deterministic from here on).
      await waitFor(
        () => successor!.find('broker fenced').some((l) => l['nodeId'] === old.nodeId),
        60_000,
        () => `${successor!.label} to fence the paused ${old.label}\n${successor!.tail(20)}`,
        100,
      );
    } finally {
      if (old.paused) c.resume(old);
    }
    await waitFor(() => !old.running, 60_000, () => `${old.label} to exit after SIGCONT\n${old.tail(30)}`, 100);
    expect(old.proc!.exit, `exit of the deposed controller ${old.label}`).to.deep.equal({ code: 3, signal: null });
    expect(old.find('controller active').length, `"controller active" lines of ${old.label} (none after it woke)`).to.equal(counts.get(old));
    old.expectedExits.add(old.proc!);
    await c.restart(old);
    await c.waitForBrokers(3);
    expect(await c.controller(), 'the controller after the old one came back').to.equal(successor);
    expect(holderOf(await lease()), 'the Lease holder stays the new controller').to.equal(successor!.bootstrap);
    c.assertNoUnexpectedExit();
  });

  it('SIGTERM of the controller releases the Lease on the way out', async () => {
    const c = cluster!;
    const old = await c.controller();
    expect(holderOf(await lease())).to.equal(old.bootstrap);
    const exit = await c.terminate(old, 90_000);
    expect(exit, `exit of ${old.label} after SIGTERM`).to.deep.equal({ code: 0, signal: null });
    // Read at once: a Lease still held by the exited broker would stay so for its whole duration.
    const spec = await lease();
    expect(holderOf(spec), 'Lease holder right after the controller exited').to.not.equal(old.bootstrap);
    await waitFor(async () => holderOf(await lease()) !== '' && (await c.controller({ not: old.nodeId })).bootstrap === holderOf(await lease()), 60_000, () => `a new controller holding the Lease\n${c.report(15)}`, 200);
    await c.restart(old);
    await c.waitForBrokers(3);
    c.assertNoUnexpectedExit();
  });

  it('API server down: the controller steps down, the data path keeps serving; back up: a controller is elected again', async () => {
    const c = cluster!;
    const topic = uniqueName('api-outage');
    await c.createTopic(topic, 3);
    const leaders = await c.waitForLeaders(topic, 3);
    // Every partition open at its leader before the outage (opening a stream needs the controller).
    for (const p of leaders) {
      await waitFor(async () => (await c.produceProbe(c.byNodeId(p.leader), topic, p.partition)).errorCode === 0, 30_000, `${topic}-${p.partition} to accept produce at node ${p.leader}`, 100);
    }
    const old = await c.controller();
    const stepDowns = old.find('no longer the controller', true).length;
    const counts = activeCounts(c);
    await env!.stopApiServer();
    try {
      // It cannot renew the Lease, so it stops acting as controller (nobody else can take over).
      await waitFor(() => old.find('no longer the controller', true).length > stepDowns, 30_000, () => `${old.label} to step down without the API server\n${old.tail(20)}`, 100);
      const steppedDownAt = Date.now();
      // Brokers keep leading what they led: produce works everywhere without a controller.
      for (const p of leaders) {
        const r = await c.produceProbe(c.byNodeId(p.leader), topic, p.partition);
        expect(r.errorCode, `produce to ${topic}-${p.partition} at node ${p.leader} while the API server is down`).to.equal(0);
      }
      // The outage outlasts a broker session (FAST: 4 s) after the step-down: the scenario in which
      // a successor that took the old controller for dead would fence its (live) broker.
      const outageMs = OUTAGE_AFTER_STEP_DOWN_MS - (Date.now() - steppedDownAt);
      if (outageMs > 0) await new Promise((r) => setTimeout(r, outageMs));
    } finally {
      await env!.startApiServer();
    }
    let next: ClusterMember | undefined;
    await waitFor(
      () => {
        next = c.members.find((b) => b.find('controller active').length > counts.get(b)!);
        return next !== undefined;
      },
      60_000,
      () => `a controller to be elected once the API server is back\n${c.report(15)}`,
      100,
    );
    expect((await c.controller()).nodeId, 'the controller the brokers name').to.equal(next!.nodeId);
    expect(holderOf(await lease()), 'the Lease holder').to.equal(next!.bootstrap);
    console.log(`      after the outage ${next === old ? 'the same broker' : 'another broker'} (${next!.label}) took the Lease and the controller role`);
    await c.createTopic(uniqueName('after-outage'), 2);
    await c.waitForBrokers(3);
    // The old controller stepped down alive and recorded it: its broker keeps its session (it is
    // not taken for a dead controller and fenced).
    expect(next!.find('broker fenced').filter((l) => l['nodeId'] === old.nodeId), `fences of ${old.label} by the new controller`).to.deep.equal([]);
    expect(old.running, `${old.label} still running`).to.equal(true);
    c.assertNoUnexpectedExit();
  });

  it('a broker whose ServiceAccount may not read Leases refuses to start, saying why', async () => {
    const c = cluster!;
    const configFile = path.join(env!.dir, 'denied-broker.yaml');
    await writeFile(configFile, 'controller.election: kubernetes-lease\n');
    const proc = await Proc.start(
      process.execPath,
      [BROKER_MAIN, 'broker', '--object-store', c.objectStoreUrl, '--listen', '127.0.0.1:1', '--cluster-id', c.clusterId, '--config', configFile, '--data-dir', path.join(env!.dir, 'denied-data')],
      { env: { ...process.env, KUBECONFIG: deniedKubeconfig, POD_NAMESPACE: NS } },
    );
    const exit = await proc.waitExit(60_000);
    const out = proc.outputTail(20);
    expect(exit.code, `exit code; output:\n${out}`).to.equal(1);
    expect(out).to.match(/cannot read the controller Lease/);
    expect(out).to.match(/forbidden \(HTTP 403\).*leases/);
  });
});
