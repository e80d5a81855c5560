// The operator against a real kube-apiserver + etcd on loopback (see envtest.ts). No kubelet or
// scheduler runs, so the tests play the Deployment controller's part by patching Deployment
// status, which is exactly what the operator reads.
import { expect } from 'chai';
import { buildCrds } from '../../operator/src/api/crd.js';
import { HttpKubeClient, KubeApiError, RESOURCES, type ObjectLike } from '../../operator/src/k8s/client.js';
import { runOperator, type OperatorHandle } from '../../operator/src/operator.js';
import { TEMPLATE_HASH_ANNOTATION } from '../../operator/src/model/names.js';
import { silentLogger } from '../../operator/src/k8s/informer.js';
import { adminClient, envtestAvailable, envtestBinDir, startEnvTest, waitFor, type EnvTest } from './envtest.js';
import { FakeKafka } from './fakes.js';

type Obj = ObjectLike & { metadata: { name: string; namespace?: string; generation?: number; uid?: string; resourceVersion?: string; annotations?: Record<string, string>; ownerReferences?: { kind: string; name: string; controller?: boolean }[]; finalizers?: string[] } };
type Cond = { type: string; status: string; reason: string; message: string; observedGeneration?: number };
type Dep = Obj & { spec: { replicas?: number; template: { metadata: { annotations: Record<string, string> }; spec: { affinity?: unknown; terminationGracePeriodSeconds?: number; containers: { args: string[] }[] } } } };

const NS = 'operator-test';

describe('operator against a real kube-apiserver', function () {
  this.timeout(180_000);
  let env: EnvTest | undefined;
  let client: HttpKubeClient;
  let op: OperatorHandle | undefined;
  const kafka = new FakeKafka();

  before(async function () {
    if (!envtestAvailable()) {
      console.warn(`    skipped: no etcd/kube-apiserver in ${envtestBinDir()}; run hack/envtest-build.sh`);
      this.skip();
    }
    env = await startEnvTest({ controllerManager: true });
    client = await adminClient(env, NS);
  });

  after(async () => {
    await op?.stop();
    await env?.stop();
  });

  const get = async <T = Obj>(res: (typeof RESOURCES)[keyof typeof RESOURCES], name: string, ns = NS) => client.get(res, ns, name) as Promise<T | undefined>;
  const conds = (o: Obj | undefined): Cond[] => ((o as { status?: { conditions?: Cond[] } } | undefined)?.status?.conditions ?? []);
  const cond = (o: Obj | undefined, type: string) => conds(o).find((c) => c.type === type);

  /** Every version of one object from now on, straight from a watch (nothing coalesced). */
  async function recordVersions(res: (typeof RESOURCES)[keyof typeof RESOURCES], name: string): Promise<{ seen: Obj[]; stop: () => Promise<void> }> {
    const { resourceVersion } = await client.list(res, NS);
    const ac = new AbortController();
    const seen: Obj[] = [];
    const done = client.watch<Obj>(res, NS, resourceVersion, (e) => {
      if (e.object.metadata.name === name) seen.push(e.object);
    }, ac.signal).catch(() => undefined);
    return { seen, stop: async () => { ac.abort(); await done; } };
  }

  async function markDeploymentReady(name: string, ns = NS): Promise<void> {
    const d = (await get<Dep>(RESOURCES.Deployment, name, ns))!;
    const r = d.spec.replicas ?? 1;
    await client.mergePatch(RESOURCES.Deployment, ns, name, { status: { observedGeneration: d.metadata.generation, replicas: r, updatedReplicas: r, readyReplicas: r, availableReplicas: r } }, 'status');
  }

  it('installs the generated CRDs and the API server keeps every schema field (no GitOps drift)', async () => {
    for (const { crd } of buildCrds()) {
      await client.create(crd as ObjectLike);
      const name = (crd.metadata as { name: string }).name;
      await waitFor(`CRD ${name} Established`, async () => {
        const live = await get<Obj & { status?: { conditions?: Cond[] } }>(RESOURCES.CustomResourceDefinition, name, undefined);
        return conds(live).some((c) => c.type === 'Established' && c.status === 'True');
      });
      const live = (await get<Obj & { spec: { versions: unknown[]; names: unknown } }>(RESOURCES.CustomResourceDefinition, name, undefined))!;
      const want = crd.spec as { versions: unknown[]; names: unknown };
      expect(live.spec.versions, `${name}: the API server changed the versions block`).to.deep.equal(want.versions);
      expect(live.spec.names).to.deep.include(want.names as object);
    }
  });

  it('rejects invalid resources with the schema messages', async () => {
    const bad = async (obj: ObjectLike): Promise<string> => {
      try {
        await client.create(obj);
      } catch (err) {
        expect(err).to.be.instanceOf(KubeApiError);
        expect((err as KubeApiError).statusCode).to.equal(422);
        return (err as Error).message;
      }
      throw new Error(`${obj.kind} ${obj.metadata?.name} was accepted`);
    };
    const base = { apiVersion: 'automq.io/v1alpha1', kind: 'AutoMQCluster', metadata: { name: 'bad', namespace: NS } };
    expect(await bad({ ...base, spec: { image: 'x', zones: [{ name: 'a' }], objectStorage: { credentials: { podIdentity: {} } } } })).to.match(/spec\.objectStorage\.bucket: Required value/);
    expect(await bad({ ...base, spec: { image: 'x', zones: [{ name: 'a' }], objectStorage: { bucket: 'Not_A_Bucket', credentials: { podIdentity: {} } } } })).to.match(/spec\.objectStorage\.bucket/);
    expect(await bad({ ...base, spec: { image: 'x', zones: [{ name: 'a' }], objectStorage: { bucket: 'bkt', credentials: { podIdentity: {}, secretRef: { name: 's' } } } } })).to.contain('set exactly one of');
    expect(await bad({ ...base, spec: { image: 'x', zones: [{ name: 'bootstrap' }], objectStorage: { bucket: 'bkt', credentials: { podIdentity: {} } } } })).to.contain('reserved');
    // Zone a-external's Service (<c>-a-external) would be zone a's external Service.
    expect(await bad({ ...base, spec: { image: 'x', zones: [{ name: 'a' }, { name: 'a-external' }], objectStorage: { bucket: 'bkt', credentials: { podIdentity: {} } } } })).to.contain('must not end in -external');

    await client.create({ apiVersion: 'automq.io/v1alpha1', kind: 'TableTopic', metadata: { name: 'shrink', namespace: NS }, spec: { clusterRef: { name: 'nope' }, partitions: 3, deletionPolicy: 'Retain' } });
    try {
      await client.mergePatch(RESOURCES.TableTopic, NS, 'shrink', { spec: { partitions: 2 } });
      expect.fail('partition shrink was accepted');
    } catch (err) {
      expect((err as Error).message).to.contain('spec.partitions cannot be decreased');
    }
    try {
      await client.mergePatch(RESOURCES.TableTopic, NS, 'shrink', { spec: { clusterRef: { name: 'other' } } });
      expect.fail('clusterRef change was accepted');
    } catch (err) {
      expect((err as Error).message).to.contain('spec.clusterRef is immutable');
    }
    await client.delete(RESOURCES.TableTopic, NS, 'shrink');
  });

  it('runs the operator: children with owner references and zone pinning, status conditions, Ready after the Deployments are', async () => {
    op = await runOperator(
      // A renew deadline longer than the API server restart below: a leader that cannot renew in
      // time steps down and exits by design, and this replica must stay up to show that its
      // informers survive the restart.
      { kubeconfig: env!.kubeconfigPath, namespace: NS, healthPort: 0, leaseNamespace: NS, identity: 'op-a', progressPollMs: 200, retryPeriodMs: 200, leaseDurationMs: 90_000, renewDeadlineMs: 80_000, scrapeBrokerLoad: false, resyncIntervalMs: 60_000 },
      { adminFactory: kafka.factory, logger: silentLogger },
    );
    await waitFor('operator leadership', () => op!.isLeader(), 20_000);
    kafka.controller = 2;
    const versions = await recordVersions(RESOURCES.AutoMQCluster, 'prod');
    await client.create({
      apiVersion: 'automq.io/v1alpha1',
      kind: 'AutoMQCluster',
      metadata: { name: 'prod', namespace: NS, labels: { 'app.kubernetes.io/instance': 'argo', 'argocd.argoproj.io/instance': 'argo' } },
      spec: {
        image: 'automq:test',
        replicas: 4,
        zones: [{ name: 'za' }, { name: 'zb' }, { name: 'zc' }],
        objectStorage: { bucket: 'bkt', endpoint: 'http://minio:9000', pathStyle: true, credentials: { secretRef: { name: 's3' } } },
      },
    });
    for (const z of ['za', 'zb', 'zc']) await waitFor(`Deployment prod-broker-${z}`, async () => (await get(RESOURCES.Deployment, `prod-broker-${z}`)) !== undefined, 20_000);
    const cr = (await get(RESOURCES.AutoMQCluster, 'prod'))!;
    const a = (await get<Dep>(RESOURCES.Deployment, 'prod-broker-za'))!;
    expect(a.spec.replicas).to.equal(2);
    expect(a.metadata.ownerReferences).to.deep.equal([{ apiVersion: 'automq.io/v1alpha1', kind: 'AutoMQCluster', name: 'prod', uid: cr.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    expect(JSON.stringify(a.spec.template.spec.affinity)).to.contain('"values":["za"]');
    const args = a.spec.template.spec.containers[0]!.args;
    expect(args[args.indexOf('--rack') + 1]).to.equal('za');
    // Long enough for the broker's controlled shutdown (30 s by default) and its final WAL flush.
    expect(a.spec.template.spec.terminationGracePeriodSeconds).to.equal(120);
    expect(JSON.stringify(a.metadata)).not.to.contain('argo');
    for (const [res, name] of [
      [RESOURCES.Service, 'prod-bootstrap'], [RESOURCES.Service, 'prod-brokers'], [RESOURCES.Service, 'prod-za'], [RESOURCES.Service, 'prod-zc'],
      [RESOURCES.ConfigMap, 'prod-config'], [RESOURCES.ServiceAccount, 'prod-broker'], [RESOURCES.Role, 'prod-broker'], [RESOURCES.RoleBinding, 'prod-broker'], [RESOURCES.PodDisruptionBudget, 'prod-broker'],
    ] as const) {
      const o = await get(res, name);
      expect(o, `${res.kind} ${name}`).not.to.equal(undefined);
      expect(o!.metadata.ownerReferences?.[0]?.name, `${res.kind} ${name} owner`).to.equal('prod');
    }
    await waitFor('status with BrokersNotReady', async () => cond(await get(RESOURCES.AutoMQCluster, 'prod'), 'Ready')?.reason === 'BrokersNotReady', 20_000);
    const st = (await get<Obj & { status: { observedGeneration: number; selector: string; listeners: { bootstrapServers: string }[] } }>(RESOURCES.AutoMQCluster, 'prod'))!;
    expect(st.status.observedGeneration).to.equal(st.metadata.generation);
    expect(st.status.selector).to.equal('automq.io/cluster=prod,app.kubernetes.io/component=broker');
    expect((st.status as unknown as { zoneNames: string }).zoneNames).to.equal('za,zb,zc');
    expect(st.status.listeners[0]!.bootstrapServers).to.equal(`prod-bootstrap.${NS}.svc:9092`);

    for (const z of ['za', 'zb', 'zc']) await markDeploymentReady(`prod-broker-${z}`);
    await waitFor('Ready=True', async () => cond(await get(RESOURCES.AutoMQCluster, 'prod'), 'Ready')?.status === 'True', 20_000);
    const ready = (await get(RESOURCES.AutoMQCluster, 'prod'))!;
    expect(cond(ready, 'Ready')).to.deep.include({ reason: 'AllBrokersReady', observedGeneration: ready.metadata.generation });
    expect(cond(ready, 'Degraded')?.status).to.equal('False');
    expect(cond(ready, 'Progressing')?.status).to.equal('False');

    // With brokers ready, the active controller comes from the Kafka admin API (DescribeCluster
    // through the bootstrap Service).
    await waitFor('status.activeController', async () => ((await get(RESOURCES.AutoMQCluster, 'prod')) as { status?: { activeController?: number } } | undefined)?.status?.activeController === 2, 20_000);
    expect(kafka.calls).to.include(`describeCluster@prod-bootstrap.${NS}.svc:9092`);
    const activeController = async () => ((await get(RESOURCES.AutoMQCluster, 'prod')) as { status?: { activeController?: number } } | undefined)?.status?.activeController;
    const poke = (n: number) => client.mergePatch(RESOURCES.AutoMQCluster, NS, 'prod', { metadata: { annotations: { 'test.automq.io/poke': String(n) } } });
    kafka.controller = 1;
    await poke(1);
    await waitFor('activeController follows a controller move', async () => (await activeController()) === 1, 20_000);
    // An unreachable Kafka API leaves the controller unknown; it is not a reconcile failure.
    kafka.unreachable = true;
    try {
      await poke(2);
      await waitFor('activeController unset while Kafka is unreachable', async () => (await activeController()) === undefined, 20_000);
      expect(cond(await get(RESOURCES.AutoMQCluster, 'prod'), 'Ready')?.status).to.equal('True');
    } finally {
      kafka.unreachable = false;
    }
    await poke(3);
    await waitFor('activeController back', async () => (await activeController()) === 1, 20_000);

    // The very first status the operator wrote already had all three conditions, as Unknown.
    await versions.stop();
    const first = versions.seen.find((o) => conds(o).length > 0);
    expect(first, 'a status version with conditions').not.to.equal(undefined);
    expect(conds(first).map((c) => [c.type, c.status, c.reason]).sort()).to.deep.equal([
      ['Degraded', 'Unknown', 'Reconciling'], ['Progressing', 'Unknown', 'Reconciling'], ['Ready', 'Unknown', 'Reconciling'],
    ]);
    expect(conds(first).every((c) => c.observedGeneration === first!.metadata.generation)).to.equal(true);
    expect((first as { status?: { observedGeneration?: number } }).status?.observedGeneration, 'not reconciled yet').to.equal(undefined);
  });

  it('serves /scale so HPA and KEDA can scale the cluster', async () => {
    const raw = await client.get<Obj & { spec: { replicas: number }; status: { selector: string; replicas: number } }>(RESOURCES.AutoMQCluster, NS, 'prod', 'scale');
    expect(raw?.spec.replicas).to.equal(4);
    expect(raw?.status.selector).to.equal('automq.io/cluster=prod,app.kubernetes.io/component=broker');
  });

  it('rolls a config change one zone at a time', async () => {
    const before = new Map<string, string>();
    for (const z of ['za', 'zb', 'zc']) before.set(z, (await get<Dep>(RESOURCES.Deployment, `prod-broker-${z}`))!.metadata.annotations![TEMPLATE_HASH_ANNOTATION]!);
    await client.mergePatch(RESOURCES.AutoMQCluster, NS, 'prod', { spec: { config: { 'num.io.threads': 16 } } });
    const hash = async (z: string) => (await get<Dep>(RESOURCES.Deployment, `prod-broker-${z}`))!.metadata.annotations![TEMPLATE_HASH_ANNOTATION];
    await waitFor('zone za rolled', async () => (await hash('za')) !== before.get('za'), 20_000);
    expect((await get<Obj & { data: Record<string, string> }>(RESOURCES.ConfigMap, 'prod-config'))!.data['broker.properties']).to.contain('num.io.threads=16');
    await waitFor('Progressing=True RollingUpdate', async () => cond(await get(RESOURCES.AutoMQCluster, 'prod'), 'Progressing')?.status === 'True', 20_000);
    expect(await hash('zb')).to.equal(before.get('zb'));
    expect(await hash('zc')).to.equal(before.get('zc'));
    await markDeploymentReady('prod-broker-za');
    await waitFor('zone zb rolled after za settled', async () => (await hash('zb')) !== before.get('zb'), 20_000);
    expect(await hash('zc')).to.equal(before.get('zc'));
    await markDeploymentReady('prod-broker-zb');
    await waitFor('zone zc rolled', async () => (await hash('zc')) !== before.get('zc'), 20_000);
    await markDeploymentReady('prod-broker-zc');
    await waitFor('Ready again', async () => {
      const c = await get(RESOURCES.AutoMQCluster, 'prod');
      return cond(c, 'Ready')?.status === 'True' && cond(c, 'Progressing')?.status === 'False';
    }, 20_000);
  });

  it('scales in one broker at a time, each only after the previous broker pod finished terminating', async () => {
    // No kubelet runs: the test plays the Deployment controller and the pods. Each broker is a Pod
    // object with a finalizer, so a deleted one stays terminating (as a broker in its controlled
    // shutdown does, moving its partitions away) until the test removes the finalizer.
    const DRAIN = 'test.automq.io/draining';
    const pod = (zone: string, i: number) => `prod-broker-${zone}-${i}`;
    const labels = (zone: string) => ({ 'automq.io/cluster': 'prod', 'app.kubernetes.io/component': 'broker', 'automq.io/zone': zone });
    const podNames: string[] = [];
    for (const [zone, n] of [['za', 2], ['zb', 1], ['zc', 1]] as const) {
      for (let i = 0; i < n; i++) {
        await client.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: pod(zone, i), namespace: NS, labels: labels(zone), finalizers: [DRAIN] }, spec: { containers: [{ name: 'broker', image: 'automq:test' }] } });
        podNames.push(pod(zone, i));
      }
    }
    const finishTermination = (name: string) => client.mergePatch(RESOURCES.Pod, NS, name, { metadata: { finalizers: null } });
    const progressing = async () => cond(await get(RESOURCES.AutoMQCluster, 'prod'), 'Progressing');
    try {
      await client.mergePatch(RESOURCES.AutoMQCluster, NS, 'prod', { spec: { replicas: 2 } });
      const reps = async () => Promise.all(['za', 'zb', 'zc'].map(async (z) => (await get<Dep>(RESOURCES.Deployment, `prod-broker-${z}`))!.spec.replicas));
      await waitFor('first broker removed', async () => (await reps()).join() === '1,1,1', 20_000);
      // nothing else moves until that zone settles
      await new Promise((r) => setTimeout(r, 600)); // lets a wrong second step show up if the planner allowed it
      expect((await reps()).join()).to.equal('1,1,1');

      // The ReplicaSet deletes one za pod and reports the zone done at once (status stops counting
      // a terminating pod): the operator must still wait for the pod itself.
      await client.delete(RESOURCES.Pod, NS, pod('za', 1));
      await markDeploymentReady('prod-broker-za');
      // A reconcile that saw the ready Deployment (observe runs after the deployments step, so by
      // now a wrong second scale-in would have been applied).
      const zoneReady = async (z: string) => ((await get(RESOURCES.AutoMQCluster, 'prod')) as { status?: { zones?: { name: string; readyReplicas: number }[] } } | undefined)?.status?.zones?.find((x) => x.name === z)?.readyReplicas;
      await waitFor('a reconcile that saw zone za ready at 1', async () => (await zoneReady('za')) === 1, 20_000);
      expect((await reps()).join(), 'a second broker removed while the first still drains').to.equal('1,1,1');
      await waitFor('Progressing names the terminating broker', async () => (await progressing())?.message.includes('1 terminating broker pod(s)') ?? false, 20_000);
      expect(cond(await get(RESOURCES.AutoMQCluster, 'prod'), 'Ready')?.status).to.equal('False');

      await finishTermination(pod('za', 1));
      await waitFor('second broker removed once the first pod is gone', async () => (await reps()).join() === '1,1,0', 20_000);

      await client.delete(RESOURCES.Pod, NS, pod('zc', 0));
      await markDeploymentReady('prod-broker-zc');
      await waitFor('Progressing names the terminating zc broker', async () => (await progressing())?.message.includes('terminating broker pod') ?? false, 20_000);
      expect(cond(await get(RESOURCES.AutoMQCluster, 'prod'), 'Ready')?.status, 'Ready while a broker still drains').to.equal('False');
      await finishTermination(pod('zc', 0));
      await waitFor('Ready at 2 brokers', async () => cond(await get(RESOURCES.AutoMQCluster, 'prod'), 'Ready')?.status === 'True', 20_000);
    } finally {
      for (const name of podNames) {
        await finishTermination(name).catch(() => undefined);
        await client.delete(RESOURCES.Pod, NS, name).catch(() => undefined);
      }
    }
  });

  it('refuses a broker grace period shorter than the controlled shutdown plus the WAL flush, saying so', async () => {
    await client.create({
      apiVersion: 'automq.io/v1alpha1',
      kind: 'AutoMQCluster',
      metadata: { name: 'hasty', namespace: NS },
      spec: { image: 'automq:test', replicas: 1, zones: [{ name: 'za' }], terminationGracePeriodSeconds: 30, objectStorage: { bucket: 'bkt', credentials: { podIdentity: {} } } },
    });
    try {
      await waitFor('Degraded with the grace period message', async () => cond(await get(RESOURCES.AutoMQCluster, 'hasty'), 'Degraded')?.message.includes('terminationGracePeriodSeconds (30) must be at least 60') ?? false, 20_000);
      expect(cond(await get(RESOURCES.AutoMQCluster, 'hasty'), 'Ready')?.reason).to.equal('ReconcileFailed');
      expect(await get(RESOURCES.Deployment, 'hasty-broker-za'), 'no brokers that would be killed mid-shutdown').to.equal(undefined);
    } finally {
      await client.delete(RESOURCES.AutoMQCluster, NS, 'hasty');
      await waitFor('hasty gone', async () => (await get(RESOURCES.AutoMQCluster, 'hasty')) === undefined, 20_000);
    }
  });

  it('leaves children alone while the pause-reconciliation annotation is set', async () => {
    await client.mergePatch(RESOURCES.AutoMQCluster, NS, 'prod', { metadata: { annotations: { 'automq.io/pause-reconciliation': 'true' } } });
    await waitFor('Progressing=False ReconciliationPaused', async () => cond(await get(RESOURCES.AutoMQCluster, 'prod'), 'Progressing')?.reason === 'ReconciliationPaused', 20_000);
    await client.mergePatch(RESOURCES.AutoMQCluster, NS, 'prod', { spec: { replicas: 5 } });
    await new Promise((r) => setTimeout(r, 600)); // a reconcile that ignored the pause would scale out within this window
    expect((await get<Dep>(RESOURCES.Deployment, 'prod-broker-za'))!.spec.replicas).to.equal(1);
    await client.mergePatch(RESOURCES.AutoMQCluster, NS, 'prod', { metadata: { annotations: { 'automq.io/pause-reconciliation': null } }, spec: { replicas: 2 } });
    await waitFor('reconciling again after unpause', async () => cond(await get(RESOURCES.AutoMQCluster, 'prod'), 'Progressing')?.reason !== 'ReconciliationPaused', 20_000);
  });

  it('creates, grows, reconfigures and deletes a TableTopic through the admin API', async () => {
    await client.create({ apiVersion: 'automq.io/v1alpha1', kind: 'TableTopic', metadata: { name: 'orders', namespace: NS }, spec: { clusterRef: { name: 'prod' }, partitions: 3, config: { 'retention.ms': 60000 } } });
    await waitFor('topic orders created', () => kafka.topics.get('orders')?.partitions === 3, 20_000);
    expect(kafka.topics.get('orders')!.configs).to.deep.equal({ 'retention.ms': '60000' });
    expect(kafka.calls.some((c) => c.includes(`prod-bootstrap.${NS}.svc:9092`))).to.equal(true);
    await waitFor('TableTopic Ready', async () => cond(await get(RESOURCES.TableTopic, 'orders'), 'Ready')?.status === 'True', 20_000);
    const tt = (await get<Obj & { status: { topicName: string; partitions: number } }>(RESOURCES.TableTopic, 'orders'))!;
    expect(tt.metadata.finalizers).to.deep.equal(['automq.io/topic-deletion']);
    expect(tt.status.topicName).to.equal('orders');

    await client.mergePatch(RESOURCES.TableTopic, NS, 'orders', { spec: { partitions: 6, config: { 'retention.ms': null, 'cleanup.policy': 'compact' } } });
    await waitFor('partitions grown and configs replaced', () => kafka.topics.get('orders')?.partitions === 6 && kafka.topics.get('orders')?.configs['cleanup.policy'] === 'compact', 20_000);
    expect(kafka.topics.get('orders')!.configs['retention.ms']).to.equal(undefined);

    // a topic that already has more partitions than the CR asks for: a clear error, no change
    kafka.topics.set('legacy', { partitions: 8, configs: {} });
    await client.create({ apiVersion: 'automq.io/v1alpha1', kind: 'TableTopic', metadata: { name: 'legacy', namespace: NS }, spec: { clusterRef: { name: 'prod' }, partitions: 4, deletionPolicy: 'Retain' } });
    await waitFor('PartitionsDecreased', async () => cond(await get(RESOURCES.TableTopic, 'legacy'), 'Ready')?.reason === 'PartitionsDecreased', 20_000);
    expect(cond(await get(RESOURCES.TableTopic, 'legacy'), 'Ready')!.message).to.contain('partitions cannot be decreased');
    expect(kafka.topics.get('legacy')!.partitions).to.equal(8);

    await client.delete(RESOURCES.TableTopic, NS, 'orders');
    await waitFor('TableTopic orders gone', async () => (await get(RESOURCES.TableTopic, 'orders')) === undefined, 20_000);
    expect(kafka.topics.has('orders')).to.equal(false);
    await client.delete(RESOURCES.TableTopic, NS, 'legacy');
    await waitFor('TableTopic legacy gone', async () => (await get(RESOURCES.TableTopic, 'legacy')) === undefined, 20_000);
    expect(kafka.topics.has('legacy'), 'Retain keeps the topic').to.equal(true);
  });

  it('finishes TableTopic deletion when its cluster is gone', async () => {
    const versions = await recordVersions(RESOURCES.TableTopic, 'orphan');
    await client.create({ apiVersion: 'automq.io/v1alpha1', kind: 'TableTopic', metadata: { name: 'orphan', namespace: NS }, spec: { clusterRef: { name: 'ghost' }, partitions: 1 } });
    await waitFor('finalizer added', async () => ((await get(RESOURCES.TableTopic, 'orphan'))?.metadata.finalizers ?? []).length === 1, 20_000);
    await waitFor('ClusterNotFound', async () => cond(await get(RESOURCES.TableTopic, 'orphan'), 'Ready')?.reason === 'ClusterNotFound', 20_000);
    await versions.stop();
    const first = versions.seen.find((o) => conds(o).length > 0);
    expect(conds(first).map((c) => [c.type, c.status, c.reason]).sort(), 'first TableTopic status').to.deep.equal([['Degraded', 'Unknown', 'Reconciling'], ['Ready', 'Unknown', 'Reconciling']]);
    await client.delete(RESOURCES.TableTopic, NS, 'orphan');
    await waitFor('TableTopic orphan gone', async () => (await get(RESOURCES.TableTopic, 'orphan')) === undefined, 20_000);
  });

  it('survives watch disconnects and an API server restart', async () => {
    await env!.restartApiServer();
    expect(op!.isLeader(), 'the leader kept its lease through the restart').to.equal(true);
    await client.mergePatch(RESOURCES.AutoMQCluster, NS, 'prod', { spec: { replicas: 3 } });
    await waitFor('scale out seen after the restart', async () => (await get<Dep>(RESOURCES.Deployment, 'prod-broker-zb'))?.spec.replicas === 1, 60_000, 200);
  });

  it('elects one leader among two replicas and fails over', async () => {
    const second = await runOperator(
      { kubeconfig: env!.kubeconfigPath, namespace: NS, healthPort: 0, leaseNamespace: NS, identity: 'op-b', progressPollMs: 200, retryPeriodMs: 200, leaseDurationMs: 3000, renewDeadlineMs: 2000, scrapeBrokerLoad: false },
      { adminFactory: kafka.factory, logger: silentLogger },
    );
    try {
      await new Promise((r) => setTimeout(r, 1000)); // several retry periods for the standby to (wrongly) take over
      expect([op!.isLeader(), second.isLeader()]).to.deep.equal([true, false]);
      const lease = await get<Obj & { spec: { holderIdentity: string } }>(RESOURCES.Lease, 'automq-operator');
      expect(lease!.spec.holderIdentity).to.equal('op-a');
      await op!.stop();
      await waitFor('standby takes over', () => second.isLeader(), 20_000);
      // the new leader reconciles: delete a child and see it come back
      await client.delete(RESOURCES.ConfigMap, NS, 'prod-config');
      await waitFor('ConfigMap recreated by the new leader', async () => (await get(RESOURCES.ConfigMap, 'prod-config')) !== undefined, 20_000);
    } finally {
      op = second;
    }
  });

  it('hands Deployment replicas over to an autoscaler without resetting them', async () => {
    await client.create({
      apiVersion: 'automq.io/v1alpha1',
      kind: 'AutoMQCluster',
      metadata: { name: 'hpa', namespace: NS },
      spec: { image: 'automq:test', replicas: 3, zones: [{ name: 'za' }], objectStorage: { bucket: 'bkt', credentials: { podIdentity: {} } } },
    });
    type Managed = Dep & { metadata: { managedFields?: { manager: string; operation: string; fieldsV1?: { 'f:spec'?: Record<string, unknown> } }[] } };
    const dep = async () => get<Managed>(RESOURCES.Deployment, 'hpa-broker-za');
    const operatorOwnsReplicas = (d: Managed | undefined) => (d?.metadata.managedFields ?? []).some((m) => m.manager === 'automq-operator' && m.operation === 'Apply' && m.fieldsV1?.['f:spec']?.['f:replicas'] !== undefined);
    try {
      await waitFor('Deployment hpa-broker-za with 3 replicas', async () => (await dep())?.spec.replicas === 3, 20_000);
      expect(operatorOwnsReplicas(await dep())).to.equal(true);
      await markDeploymentReady('hpa-broker-za');
      await waitFor('hpa Ready', async () => cond(await get(RESOURCES.AutoMQCluster, 'hpa'), 'Ready')?.status === 'True', 20_000);

      await client.mergePatch(RESOURCES.AutoMQCluster, NS, 'hpa', { spec: { externalScaling: true } });
      await waitFor('the operator stops applying replicas', async () => !operatorOwnsReplicas(await dep()), 20_000);
      // Dropping a field from a server-side apply that solely owned it would reset it to the default (1).
      expect((await dep())!.spec.replicas).to.equal(3);
      // The autoscaler's writes stick across reconciles.
      await client.mergePatch(RESOURCES.Deployment, NS, 'hpa-broker-za', { spec: { replicas: 5 } });
      // The Deployment change triggers a reconcile, whose status reports what its apply left.
      await waitFor('a reconcile that saw the autoscaler\'s 5 replicas', async () => ((await get(RESOURCES.AutoMQCluster, 'hpa')) as { status?: { zones?: { replicas: number }[] } } | undefined)?.status?.zones?.[0]?.replicas === 5, 20_000);
      expect((await dep())!.spec.replicas).to.equal(5);
    } finally {
      await client.delete(RESOURCES.AutoMQCluster, NS, 'hpa');
      await client.delete(RESOURCES.Deployment, NS, 'hpa-broker-za'); // no GC needed for the next test's count
      await waitFor('hpa gone', async () => (await get(RESOURCES.AutoMQCluster, 'hpa')) === undefined, 20_000);
    }
  });

  it('deleting the cluster garbage-collects its children', async function () {
    if (!env!.hasGarbageCollector) this.skip();
    await client.delete(RESOURCES.AutoMQCluster, NS, 'prod');
    await waitFor('children garbage-collected', async () => (await client.list(RESOURCES.Deployment, NS)).items.length === 0 && (await get(RESOURCES.ConfigMap, 'prod-config')) === undefined, 60_000, 250);
  });
});
