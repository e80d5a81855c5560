// The controllers with an in-memory API: what status they write when, without an API server.
import { expect } from 'chai';
import { ClusterController, type DeploymentObj, type ServiceObj } from '../../../operator/src/controllers/cluster.js';
import { noEvents } from '../../../operator/src/controllers/events.js';
import { TopicController } from '../../../operator/src/controllers/tabletopic.js';
import type { KubeClient, ObjectLike } from '../../../operator/src/k8s/client.js';
import { silentLogger, type Informer } from '../../../operator/src/k8s/informer.js';
import { TerminalError } from '../../../operator/src/k8s/workqueue.js';
import { AdminPool } from '../../../operator/src/kafka/pool.js';
import type { TopicAdmin } from '../../../operator/src/kafka/admin.js';

type Cond = { type: string; status: string; reason: string; observedGeneration?: number };
type StatusWrite = { status: { observedGeneration?: number; conditions?: Cond[] } };

function informer<T extends ObjectLike>(objs: T[]): Informer<T> {
  const key = (o: ObjectLike) => `${o.metadata?.namespace}/${o.metadata?.name}`;
  return { get: (k: string) => objs.find((o) => key(o) === k), list: () => objs } as unknown as Informer<T>;
}

/** Records status writes; every other call fails loudly, so a test sees what it did not expect. */
function recordingClient(): { client: KubeClient; statusWrites: StatusWrite[] } {
  const statusWrites: StatusWrite[] = [];
  const refuse = (what: string) => () => Promise.reject(new Error(`unexpected ${what}`));
  const client = {
    apply: async (obj: ObjectLike, opts: { subresource?: string }) => {
      if (opts.subresource !== 'status') throw new Error(`unexpected apply of ${obj.kind} ${obj.metadata?.name}`);
      statusWrites.push(structuredClone(obj) as unknown as StatusWrite);
      return obj;
    },
    get: refuse('get'), list: refuse('list'), watch: refuse('watch'), create: refuse('create'), replace: refuse('replace'), mergePatch: refuse('mergePatch'), delete: refuse('delete'),
  } as unknown as KubeClient;
  return { client, statusWrites };
}

const now = () => new Date('2026-01-01T00:00:00Z');

describe('operator controllers (in-memory API)', () => {
  it('an AutoMQCluster the schema rejects gets Ready=False/Degraded=True InvalidSpec with observedGeneration, and is not retried', async () => {
    const raw = { apiVersion: 'automq.io/v1alpha1', kind: 'AutoMQCluster', metadata: { name: 'bad', namespace: 'ns', uid: 'u', generation: 3 }, spec: { zones: [{ name: 'a' }] } };
    const { client, statusWrites } = recordingClient();
    const c = new ClusterController({ client, clusters: informer<ObjectLike>([raw]), deployments: informer<DeploymentObj>([]), services: informer<ServiceObj>([]), events: noEvents, logger: silentLogger, now });
    let err: unknown;
    await c.reconcile('ns/bad').catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(TerminalError);
    expect((err as Error).message).to.match(/spec\.image/);
    expect(statusWrites).to.have.length(1);
    const st = statusWrites[0]!.status;
    // Argo CD's health check waits for observedGeneration before it looks at Degraded.
    expect(st.observedGeneration).to.equal(3);
    expect(st.conditions!.map((x) => [x.type, x.status, x.reason, x.observedGeneration])).to.deep.equal([
      ['Ready', 'False', 'InvalidSpec', 3], ['Degraded', 'True', 'InvalidSpec', 3], ['Progressing', 'False', 'InvalidSpec', 3],
    ]);
  });

  it('a paused AutoMQCluster seen for the first time still gets all three conditions', async () => {
    const raw = {
      apiVersion: 'automq.io/v1alpha1', kind: 'AutoMQCluster',
      metadata: { name: 'p', namespace: 'ns', uid: '6f1c2a9e-4b3d-4e5f-8a7b-1c2d3e4f5a6b', generation: 1, annotations: { 'automq.io/pause-reconciliation': 'true' } },
      spec: { image: 'i', zones: [{ name: 'a' }], objectStorage: { bucket: 'bkt', credentials: { podIdentity: {} } } },
    };
    const { client, statusWrites } = recordingClient();
    const c = new ClusterController({ client, clusters: informer<ObjectLike>([raw]), deployments: informer<DeploymentObj>([]), services: informer<ServiceObj>([]), events: noEvents, logger: silentLogger, now });
    await c.reconcile('ns/p');
    const last = statusWrites.at(-1)!.status.conditions!;
    expect(last.map((x) => [x.type, x.status, x.reason]).sort()).to.deep.equal([
      ['Degraded', 'Unknown', 'ReconciliationPaused'], ['Progressing', 'False', 'ReconciliationPaused'], ['Ready', 'Unknown', 'ReconciliationPaused'],
    ]);
  });

  it('a TableTopic the schema rejects gets InvalidSpec with observedGeneration', async () => {
    const raw = { apiVersion: 'automq.io/v1alpha1', kind: 'TableTopic', metadata: { name: 't', namespace: 'ns', generation: 2 }, spec: { partitions: 1 } };
    const { client, statusWrites } = recordingClient();
    const admins = new AdminPool(() => ({}) as TopicAdmin);
    const c = new TopicController({ client, topics: informer<ObjectLike>([raw]), clusters: informer<ObjectLike>([]), admins, events: noEvents, logger: silentLogger, now });
    let err: unknown;
    await c.reconcile('ns/t').catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(TerminalError);
    expect(statusWrites).to.have.length(1);
    expect(statusWrites[0]!.status.observedGeneration).to.equal(2);
    expect(statusWrites[0]!.status.conditions!.find((x) => x.type === 'Degraded')).to.deep.include({ status: 'True', reason: 'InvalidSpec' });
  });
});
