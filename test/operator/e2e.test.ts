// End to end: the operator, a real kube-apiserver, and a real broker process standing in for the
// cluster's pods (the operator reaches it through its bootstrap/metrics overrides). A TableTopic
// CR creates a real topic, and the cluster's status shows the broker's real load.
import { spawn, type ChildProcess } from 'node:child_process';
import { Metadata } from '../../broker/src/protocol/messages/03_metadata.js';
import { WireClient } from '../helpers/wire-client.js';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { expect } from 'chai';
import kafkajs from 'kafkajs';
import { HttpKubeClient, RESOURCES, type ObjectLike } from '../../operator/src/k8s/client.js';
import { silentLogger } from '../../operator/src/k8s/informer.js';
import { runOperator, type OperatorHandle } from '../../operator/src/operator.js';
import { adminClient, envtestAvailable, freePort, startEnvTest, waitFor, type EnvTest } from './envtest.js';

const { Kafka, logLevel } = kafkajs;
const NS = 'e2e';
const DELETION_TIMEOUT_MS = 4000;
const BROKER_MAIN = path.join(process.cwd(), 'dist', 'broker', 'src', 'cli', 'main.js');

type Status = { topicId?: string; activeController?: number; conditions?: { type: string; status: string; reason: string }[]; brokers?: { pod: string; partitions?: number; bytesInPerSec?: number }[]; partitions?: number };

describe('operator end to end with a real broker process', function () {
  this.timeout(180_000);
  let env: EnvTest | undefined;
  let client: HttpKubeClient;
  let op: OperatorHandle | undefined;
  let broker: ChildProcess | undefined;
  let dataDir = '';
  let kafkaPort = 0;
  let metricsPort = 0;
  let deadPort = 0;

  before(async function () {
    if (!envtestAvailable() || !existsSync(BROKER_MAIN)) {
      console.warn('    skipped: needs hack/envtest-build.sh and a built broker');
      this.skip();
    }
    env = await startEnvTest();
    client = await adminClient(env, NS, { crds: true });

    dataDir = await mkdtemp(path.join(os.tmpdir(), 'automq-e2e-broker-'));
    [kafkaPort, metricsPort] = [await freePort(), await freePort()];
    broker = spawn(process.execPath, [BROKER_MAIN, 'standalone', '--data-dir', dataDir, '--listen', `127.0.0.1:${kafkaPort}`, '--metrics-port', String(metricsPort), '--rack', 'local', '--node-id', '7', '--log-level', 'warn'], { stdio: 'ignore' });
    await waitFor('broker listening', () => new Promise<boolean>((resolve) => {
      const s = net.connect(kafkaPort, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    }), 30_000);

    const key = `${NS}/demo`;
    // A cluster that exists but never answers: nothing listens on this port.
    deadPort = await freePort();
    op = await runOperator(
      {
        kubeconfig: env.kubeconfigPath,
        namespace: NS,
        healthPort: 0,
        leaderElection: false,
        progressPollMs: 300,
        kafkaBootstrapOverride: { [key]: [`127.0.0.1:${kafkaPort}`], [`${NS}/unreachable`]: [`127.0.0.1:${deadPort}`] },
        topicDeletionTimeoutMs: DELETION_TIMEOUT_MS,
        topicRetryMs: 500,
        brokerMetricsOverride: { [key]: [{ id: 'broker-0', zone: 'local', url: `http://127.0.0.1:${metricsPort}/metrics` }] },
      },
      { logger: silentLogger },
    );
  });

  after(async () => {
    await op?.stop();
    if (broker && broker.exitCode === null) {
      const exited = new Promise((r) => broker!.once('exit', r));
      broker.kill('SIGTERM');
      const t = setTimeout(() => broker!.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    await env?.stop();
  });

  it('a TableTopic CR creates, grows and deletes a real topic, and the cluster status shows real broker load', async () => {
    await client.create({
      apiVersion: 'automq.io/v1alpha1',
      kind: 'AutoMQCluster',
      metadata: { name: 'demo', namespace: NS },
      spec: { image: 'automq:e2e', replicas: 1, zones: [{ name: 'local', nodeSelector: { 'kubernetes.io/os': 'linux' } }], objectStorage: { bucket: 'e2e', credentials: { podIdentity: {} } } },
    });
    await client.create({ apiVersion: 'automq.io/v1alpha1', kind: 'TableTopic', metadata: { name: 'orders', namespace: NS }, spec: { clusterRef: { name: 'demo' }, partitions: 3, config: { 'retention.ms': 3600000 } } });
    const topicStatus = async () => ((await client.get(RESOURCES.TableTopic, NS, 'orders')) as { status?: Status } | undefined)?.status;
    await waitFor('TableTopic Ready', async () => (await topicStatus())?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false, 60_000, 200);

    const kafka = new Kafka({ clientId: 'e2e-check', brokers: [`127.0.0.1:${kafkaPort}`], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const producer = kafka.producer();
    await producer.connect();
    try {
      const md = await admin.fetchTopicMetadata({ topics: ['orders'] });
      expect(md.topics[0]!.partitions).to.have.length(3);
      // The topic id in the CR status is the broker's, in Kafka's display form (what kafka-topics prints).
      const wire = await WireClient.connect(kafkaPort);
      const meta = await wire.request(Metadata, 12, { topics: [{ name: 'orders' }], allowAutoTopicCreation: false });
      wire.close();
      expect((await topicStatus())?.topicId).to.equal(Buffer.from(meta.topics[0]!.topicId, 'hex').toString('base64url'));

      await client.mergePatch(RESOURCES.TableTopic, NS, 'orders', { spec: { partitions: 5 } });
      await waitFor('topic grown to 5 partitions in the broker', async () => (await admin.fetchTopicMetadata({ topics: ['orders'] })).topics[0]!.partitions.length === 5, 60_000, 200);

      const clusterStatus = async () => ((await client.get(RESOURCES.AutoMQCluster, NS, 'demo')) as { status?: Status } | undefined)?.status;
      await waitFor('broker load with 5 partitions in the cluster status', async () => (await clusterStatus())?.brokers?.[0]?.partitions === 5, 60_000, 200);
      // Produce while waiting for a non-zero rate: the rate comes from two scrapes of real counters.
      let sent = 0;
      await waitFor('bytesInPerSec > 0 in the cluster status', async () => {
        if (sent < 400) {
          await producer.send({ topic: 'orders', messages: [{ value: Buffer.alloc(1024, sent % 256) }] });
          sent++;
        }
        return ((await clusterStatus())?.brokers?.[0]?.bytesInPerSec ?? 0) > 0;
      }, 60_000, 100);
      expect((await clusterStatus())!.brokers![0]!.pod).to.equal('broker-0');
      // A one-broker cluster's active controller is the broker itself (its --node-id).
      await waitFor('activeController 7 in the cluster status', async () => (await clusterStatus())?.activeController === 7, 60_000, 200);

      await client.delete(RESOURCES.TableTopic, NS, 'orders');
      await waitFor('TableTopic gone', async () => (await client.get(RESOURCES.TableTopic, NS, 'orders')) === undefined, 60_000, 200);
      expect(await admin.listTopics()).not.to.include('orders');
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  });

  it('a TableTopic whose cluster exists but does not answer is released after the deletion timeout, saying the topic may remain', async () => {
    await client.create({
      apiVersion: 'automq.io/v1alpha1',
      kind: 'AutoMQCluster',
      metadata: { name: 'unreachable', namespace: NS },
      spec: { image: 'automq:e2e', replicas: 1, zones: [{ name: 'local', nodeSelector: { 'kubernetes.io/os': 'linux' } }], objectStorage: { bucket: 'e2e', credentials: { podIdentity: {} } } },
    });
    await client.create({ apiVersion: 'automq.io/v1alpha1', kind: 'TableTopic', metadata: { name: 'stuck', namespace: NS }, spec: { clusterRef: { name: 'unreachable' }, partitions: 1 } });
    type TT = ObjectLike & { metadata: { finalizers?: string[]; uid?: string }; status?: { conditions?: { type: string; reason: string; message: string }[] } };
    const tt = async () => (await client.get(RESOURCES.TableTopic, NS, 'stuck')) as TT | undefined;
    const ready = (o: TT | undefined) => o?.status?.conditions?.find((c) => c.type === 'Ready');
    await waitFor('the finalizer on TableTopic stuck', async () => ((await tt())?.metadata.finalizers ?? []).includes('automq.io/topic-deletion'), 30_000, 100);
    await waitFor('KafkaAdminError while the cluster does not answer', async () => ready(await tt())?.reason === 'KafkaAdminError', 60_000, 100);
    const uid = (await tt())!.metadata.uid;

    const deletedAt = Date.now();
    await client.delete(RESOURCES.TableTopic, NS, 'stuck');
    await waitFor('TopicDeletionFailed while retrying', async () => ready(await tt())?.reason === 'TopicDeletionFailed', 30_000, 100);
    const retrying = ready(await tt())!;
    expect(retrying.message).to.contain('cannot reach the cluster');
    expect(retrying.message).to.contain('the topic may remain in the cluster');
    // Bounded: released once the timeout has passed (plus a retry interval and a reconcile), not before.
    await waitFor('TableTopic stuck released', async () => (await tt()) === undefined, DELETION_TIMEOUT_MS + 20_000, 100);
    const elapsed = Date.now() - deletedAt;
    expect(elapsed, 'released before the deletion timeout').to.be.at.least(DELETION_TIMEOUT_MS - 1000);

    type Ev = ObjectLike & { reason: string; type: string; message: string; involvedObject: { uid?: string; name: string } };
    let abandoned: Ev | undefined;
    await waitFor('Warning Event TopicDeletionAbandoned', async () => {
      abandoned = ((await client.list<Ev>(RESOURCES.Event, NS)).items).find((e) => e.reason === 'TopicDeletionAbandoned' && e.involvedObject.uid === uid);
      return abandoned !== undefined;
    }, 10_000, 100);
    expect(abandoned!.type).to.equal('Warning');
    expect(abandoned!.message).to.contain('gave up deleting topic stuck in cluster unreachable');
    expect(abandoned!.message).to.contain('the topic may remain in the cluster');
  });
});
