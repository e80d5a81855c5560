// End to end with a real broker CLUSTER: the operator, a real kube-apiserver, and three real
// `automq broker` processes on one MinIO bucket prefix (test/helpers/cluster.ts) standing in for
// the pods of a three-zone AutoMQCluster. No kubelet runs, so the operator reaches the brokers
// through its address overrides (bootstrap list, and per pod its metrics URL and the address it
// advertises), and the test plays the Deployment controller by marking the Deployments ready.
//
// Shows: a TableTopic creates a real topic whose partitions are led by all three brokers; the
// cluster status names the active controller and each pod's controller-assigned node id and load;
// after the controller broker is killed (-9), status.activeController moves to another live node
// within a bounded wait.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import kafkajs from 'kafkajs';
import { HttpKubeClient, RESOURCES, type ObjectLike } from '../../operator/src/k8s/client.js';
import { silentLogger, type Logger } from '../../operator/src/k8s/informer.js';
import { runOperator, type OperatorHandle } from '../../operator/src/operator.js';
import { Cluster, FAST_CLUSTER_CONFIG, MINIO_START_TIMEOUT_MS, type ClusterMember } from '../helpers/cluster.js';
import { adminClient, envtestAvailable, startEnvTest, waitFor, type EnvTest } from './envtest.js';

const { Kafka, logLevel } = kafkajs;
const NS = 'e2e-cluster';
const NAME = 'trio';
const BROKER_MAIN = path.join(process.cwd(), 'dist', 'broker', 'src', 'cli', 'main.js');
/** Poll period of the operator while something is unsure (a broker silent, the controller unknown). */
const POLL_MS = 300;
/** FAST_CLUSTER_CONFIG replaces a dead controller after 3 s; the rest is polling and reconnects.
 *  Well under brokerLoadIntervalMs below: the periodic refresh cannot be what finds the new one. */
const FAILOVER_BOUND_MS = 15_000;

/** OPERATOR_TEST_LOG=1 prints the operator's warnings and debug lines (failed reconciles, unknown controller). */
const OPERATOR_LOG = process.env['OPERATOR_TEST_LOG'] === '1';
const printingLogger: Logger = {
  info: () => {},
  debug: (m) => console.log('operator debug', new Date().toISOString(), m),
  warn: (m) => console.log('operator warn', new Date().toISOString(), m),
  error: (m) => console.log('operator error', new Date().toISOString(), m),
};

type BrokerStatus = { pod: string; zone: string; nodeId?: number; partitions?: number; bytesInPerSec?: number };
type Status = { activeController?: number; brokers?: BrokerStatus[]; conditions?: { type: string; status: string; reason: string; message: string }[] };

describe('operator end to end with a real three-broker cluster', function () {
  this.timeout(240_000);
  let env: EnvTest | undefined;
  let client: HttpKubeClient;
  let op: OperatorHandle | undefined;
  let cluster: Cluster | undefined;

  /** The pod name a member stands in for: the operator's Deployment of its zone, plus its slot. */
  const podOf = (m: ClusterMember) => `${NAME}-broker-${m.rack}-${m.slot}`;
  let pokes = 0;
  /** An edit of the CR makes the operator reconcile (and scrape) now instead of at its next refresh. */
  const poke = () => client.mergePatch(RESOURCES.AutoMQCluster, NS, NAME, { metadata: { annotations: { 'test.automq.io/poke': String(++pokes) } } });
  /** What the Deployment controller writes when the zone's one pod becomes ready or stops being so. */
  const setZoneReady = async (zone: string, ready: boolean) => {
    const dep = `${NAME}-broker-${zone}`;
    const d = (await client.get(RESOURCES.Deployment, NS, dep)) as ObjectLike & { metadata: { generation: number } };
    const n = ready ? 1 : 0;
    await client.mergePatch(RESOURCES.Deployment, NS, dep, { status: { observedGeneration: d.metadata.generation, replicas: 1, updatedReplicas: 1, readyReplicas: n, availableReplicas: n, unavailableReplicas: 1 - n } }, 'status');
  };
  const clusterStatus = async () => ((await client.get(RESOURCES.AutoMQCluster, NS, NAME)) as { status?: Status } | undefined)?.status;

  before(async function () {
    this.timeout(MINIO_START_TIMEOUT_MS + 240_000);
    if (!envtestAvailable() || !existsSync(BROKER_MAIN)) {
      console.warn('    skipped: needs hack/envtest-build.sh and a built broker');
      this.skip();
    }
    env = await startEnvTest();
    client = await adminClient(env, NS, { crds: true });

    cluster = await Cluster.start({ name: 'operator-e2e', brokers: 3, config: FAST_CLUSTER_CONFIG });
    const key = `${NS}/${NAME}`;
    op = await runOperator(
      {
        kubeconfig: env.kubeconfigPath,
        namespace: NS,
        healthPort: 0,
        leaderElection: false,
        progressPollMs: POLL_MS,
        // A settled cluster is refreshed only this often, so anything faster in the failover test
        // comes from the Deployment change waking the operator, which then polls while a broker is
        // silent or the controller unknown.
        brokerLoadIntervalMs: 60_000,
        kafkaBootstrapOverride: { [key]: cluster.members.map((m) => m.bootstrap) },
        brokerMetricsOverride: {
          [key]: cluster.members.map((m) => ({ id: podOf(m), zone: m.rack, url: `http://127.0.0.1:${m.metricsPort}/metrics`, kafka: m.bootstrap })),
        },
      },
      { logger: OPERATOR_LOG ? printingLogger : silentLogger },
    );
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && cluster) console.log(cluster.report());
  });

  after(async () => {
    await op?.stop();
    await cluster?.stop();
    await env?.stop();
  });

  it('a TableTopic spreads over the brokers; the status shows the active controller and each pod with its node id and load', async () => {
    const c = cluster!;
    await client.create({
      apiVersion: 'automq.io/v1alpha1',
      kind: 'AutoMQCluster',
      metadata: { name: NAME, namespace: NS },
      spec: {
        image: 'automq:e2e',
        replicas: 3,
        zones: ['zone-a', 'zone-b', 'zone-c'].map((name) => ({ name, nodeSelector: { 'kubernetes.io/os': 'linux' } })),
        objectStorage: { bucket: 'e2e', credentials: { podIdentity: {} } },
      },
    });
    // The three processes are the pods: mark each zone's Deployment as rolled out and ready.
    for (const zone of ['zone-a', 'zone-b', 'zone-c']) {
      await waitFor(`Deployment ${NAME}-broker-${zone}`, async () => (await client.get(RESOURCES.Deployment, NS, `${NAME}-broker-${zone}`)) !== undefined, 30_000, 100);
      await setZoneReady(zone, true);
    }
    await waitFor('AutoMQCluster Ready', async () => (await clusterStatus())?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ?? false, 60_000, 200);

    await client.create({ apiVersion: 'automq.io/v1alpha1', kind: 'TableTopic', metadata: { name: 'orders', namespace: NS }, spec: { clusterRef: { name: NAME }, partitions: 6 } });
    await waitFor('TableTopic Ready', async () => {
      const st = ((await client.get(RESOURCES.TableTopic, NS, 'orders')) as { status?: Status } | undefined)?.status;
      return st?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ?? false;
    }, 60_000, 200);
    // Every broker agrees on 6 partitions with live leaders, and each of the three leads some.
    const leaders = await c.waitForLeaders('orders', 6, 60_000);
    const ledBy = new Map<number, number>();
    for (const p of leaders) ledBy.set(p.leader, (ledBy.get(p.leader) ?? 0) + 1);
    expect([...ledBy.keys()].sort(), `leaders of orders: ${JSON.stringify(leaders)}`).to.have.members(c.members.map((m) => m.nodeId!));

    const ctl = await c.controller();
    await waitFor(`status.activeController ${ctl.nodeId}`, async () => (await clusterStatus())?.activeController === ctl.nodeId, 30_000, 200);

    // One entry per pod, each with the node id the controller allocated to that process (from its
    // "broker ready" log line) and the partitions it leads now (its metrics endpoint).
    const want = c.members.map((m) => ({ pod: podOf(m), zone: m.rack, nodeId: m.nodeId!, partitions: ledBy.get(m.nodeId!) ?? 0 })).sort((x, y) => x.pod.localeCompare(y.pod));
    let seen = '';
    await waitFor('status.brokers with node ids and partition counts', async () => {
      await poke(); // the new topic's leaders are not a cluster change the operator watches
      const got = ((await clusterStatus())?.brokers ?? []).map((b) => ({ pod: b.pod, zone: b.zone, nodeId: b.nodeId, partitions: b.partitions })).sort((x, y) => x.pod.localeCompare(y.pod));
      seen = JSON.stringify(got);
      return seen === JSON.stringify(want);
    }, 60_000, 500).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\nwant ${JSON.stringify(want)}\nlast ${seen}`);
    });

    // Load: produce through the cluster until some broker's bytes-in rate shows in the status.
    const kafka = new Kafka({ clientId: 'e2e-cluster', brokers: c.members.map((m) => m.bootstrap), logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    try {
      let sent = 0;
      await waitFor('bytesInPerSec > 0 for some broker', async () => {
        if (sent < 300) {
          await producer.send({ topic: 'orders', messages: Array.from({ length: 6 }, (_, i) => ({ partition: i, value: Buffer.alloc(512, sent % 256) })) });
          sent++;
          // A rate needs two scrapes with traffic between them: an edit of the CR is a reconcile.
          if (sent % 5 === 0) await poke();
        }
        return ((await clusterStatus())?.brokers ?? []).some((b) => (b.bytesInPerSec ?? 0) > 0);
      }, 60_000, 100);
    } finally {
      await producer.disconnect();
    }
  });

  it('status.activeController moves to another live node within a bounded wait after the controller broker is killed', async () => {
    const c = cluster!;
    const old = await c.controller();
    expect((await clusterStatus())?.activeController).to.equal(old.nodeId);
    const killedAt = Date.now();
    await c.kill9(old);
    // In Kubernetes the dead container fails its readiness probe and the Deployment controller
    // updates the zone's Deployment: that event is what wakes the operator up (its periodic
    // refresh is 60 s here), after which it polls while a broker is silent or the controller unknown.
    await setZoneReady(old.rack, false);
    const survivors = c.members.filter((m) => m !== old).map((m) => m.nodeId!);
    await waitFor(`status.activeController to move from node ${old.nodeId} to one of ${survivors.join(', ')}`, async () => {
      const a = (await clusterStatus())?.activeController;
      return a !== undefined && survivors.includes(a);
    }, FAILOVER_BOUND_MS, 100);
    const movedMs = Date.now() - killedAt;
    // The status names the controller the brokers themselves agree on.
    const next = await c.controller({ not: old.nodeId! });
    expect((await clusterStatus())?.activeController).to.equal(next.nodeId);
    // The killed pod drops out of the load summary; the others keep their node ids.
    await waitFor('status.brokers without the killed pod', async () => {
      const bs = (await clusterStatus())?.brokers ?? [];
      return bs.length === 2 && !bs.some((b) => b.pod === podOf(old)) && bs.every((b) => b.nodeId !== undefined && survivors.includes(b.nodeId));
    }, 30_000, 200);
    console.log(`      status.activeController moved ${old.nodeId} -> ${next.nodeId} ${movedMs} ms after kill -9`);
    c.assertNoUnexpectedExit();
  });
});
