import { expect } from 'chai';
import { automqClusterSchema, type AutoMQCluster } from '../../../operator/src/api/automqcluster.js';
import { setCondition, canonicalJson, initialConditions } from '../../../operator/src/api/conditions.js';
import { brokerConfig, checkGracePeriod, renderProperties } from '../../../operator/src/model/broker-config.js';
import { defaultClusterId, desiredChildren, objectStoreUrl, zoneReplicas, type KubeObject } from '../../../operator/src/model/cluster.js';
import { createObjectStore } from '../../../broker/src/s3stream/object-store/create.js';
import { readBrokerConfig } from '../../../broker/src/cli/broker-options.js';
import { BrokerConfig } from '../../../broker/src/kafka/config/broker-config.js';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { checkNameLengths, TEMPLATE_HASH_ANNOTATION } from '../../../operator/src/model/names.js';
import { planRollout, isSettled, type LiveDeployment } from '../../../operator/src/model/rollout.js';

const UID = '6f1c2a9e-4b3d-4e5f-8a7b-1c2d3e4f5a6b';

function cluster(spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}): AutoMQCluster {
  return automqClusterSchema.parse({
    apiVersion: 'automq.io/v1alpha1',
    kind: 'AutoMQCluster',
    metadata: { name: 'prod', namespace: 'kafka', uid: UID, generation: 2, labels: { 'app.kubernetes.io/instance': 'argo-app', 'argocd.argoproj.io/secret-type': 'x' }, ...metadata },
    spec: {
      image: 'automq:1.0',
      replicas: 5,
      zones: [{ name: 'us-east-1a' }, { name: 'us-east-1b' }, { name: 'us-east-1c', nodeSelector: { pool: 'kafka-c' } }],
      objectStorage: { bucket: 'data', endpoint: 'http://minio:9000', pathStyle: true, credentials: { secretRef: { name: 's3-creds' } } },
      ...spec,
    },
  });
}

type Dep = { spec: { replicas?: number; template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: Record<string, unknown> & { containers: { args: string[]; env: { name: string }[] }[] } } } };

describe('operator model: desired children', () => {
  it('spreads replicas evenly over zones, remainder to the first zones', () => {
    expect([...zoneReplicas(5, ['a', 'b', 'c']).values()]).to.deep.equal([2, 2, 1]);
    expect([...zoneReplicas(0, ['a', 'b']).values()]).to.deep.equal([0, 0]);
    expect([...zoneReplicas(7, ['a']).values()]).to.deep.equal([7]);
  });

  it('builds one Deployment per zone, pinned to the zone, with the zone as rack', () => {
    const d = desiredChildren(cluster());
    expect(d.deployments.map((z) => z.deployment.metadata.name)).to.deep.equal(['prod-broker-us-east-1a', 'prod-broker-us-east-1b', 'prod-broker-us-east-1c']);
    expect(d.deployments.map((z) => z.replicas)).to.deep.equal([2, 2, 1]);
    const a = d.deployments[0]!.deployment as unknown as Dep;
    expect(a.spec.replicas).to.equal(2);
    const pod = a.spec.template.spec;
    expect(pod.affinity).to.deep.equal({
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['us-east-1a'] }] }] } },
    });
    const args = pod.containers[0]!.args;
    expect(args.slice(0, 1)).to.deep.equal(['broker']);
    expect(args[args.indexOf('--rack') + 1]).to.equal('us-east-1a');
    expect(args[args.indexOf('--advertise') + 1]).to.equal('$(POD_IP):9092');
    expect(args[args.indexOf('--metrics-port') + 1]).to.equal('9464');
    expect(args[args.indexOf('--object-store') + 1]).to.equal('s3://data?endpoint=http%3A%2F%2Fminio%3A9000&region=us-east-1&pathStyle=true');
    expect(args[args.indexOf('--cluster-id') + 1]).to.equal(defaultClusterId(UID));
    // nodeSelector replaces topology pinning for zone c
    const c = (d.deployments[2]!.deployment as unknown as Dep).spec.template.spec;
    expect(c.nodeSelector).to.deep.equal({ pool: 'kafka-c' });
    expect(c.affinity).to.equal(undefined);
    // no PVCs: only emptyDir and the ConfigMap
    expect(JSON.stringify(d.deployments)).not.to.contain('persistentVolumeClaim');
  });

  it('reads credentials from the Secret reference, never inline', () => {
    const env = (desiredChildren(cluster()).deployments[0]!.deployment as unknown as Dep).spec.template.spec.containers[0]!.env;
    expect(env).to.deep.include({ name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 's3-creds', key: 'AWS_ACCESS_KEY_ID' } } });
    const irsa = desiredChildren(cluster({ objectStorage: { bucket: 'data', credentials: { podIdentity: { serviceAccountAnnotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/r' } } } } }));
    expect(JSON.stringify(irsa.deployments)).not.to.contain('AWS_ACCESS_KEY_ID');
    expect(irsa.serviceAccount.metadata.annotations).to.deep.equal({ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/r' });
  });

  it('owns every child with a controller owner reference and never copies Argo CD or instance labels', () => {
    const d = desiredChildren(cluster());
    const all: KubeObject[] = [d.configMap, d.serviceAccount, d.role, d.roleBinding, d.pdb, ...d.services, ...d.deployments.map((z) => z.deployment)];
    expect(all).to.have.length(5 + 2 + 3 + 3);
    for (const o of all) {
      expect(o.metadata.ownerReferences, o.metadata.name).to.deep.equal([{ apiVersion: 'automq.io/v1alpha1', kind: 'AutoMQCluster', name: 'prod', uid: UID, controller: true, blockOwnerDeletion: true }]);
      expect(o.metadata.namespace).to.equal('kafka');
      expect(Object.keys(o.metadata.labels ?? {}).some((k) => k === 'app.kubernetes.io/instance' || k.startsWith('argocd.argoproj.io/')), o.metadata.name).to.equal(false);
    }
    expect(JSON.stringify(all)).not.to.contain('argo-app');
  });

  it('creates bootstrap, headless and per-zone Services, a PDB with maxUnavailable 1 and Lease RBAC', () => {
    const d = desiredChildren(cluster({ listeners: { external: { type: 'LoadBalancer' } } }));
    const svc = Object.fromEntries(d.services.map((s) => [s.metadata.name, s.spec as { selector: Record<string, string>; type?: string; clusterIP?: string }]));
    expect(Object.keys(svc)).to.have.members([
      'prod-bootstrap', 'prod-brokers', 'prod-us-east-1a', 'prod-us-east-1b', 'prod-us-east-1c',
      'prod-us-east-1a-external', 'prod-us-east-1b-external', 'prod-us-east-1c-external',
    ]);
    expect(svc['prod-brokers']!.clusterIP).to.equal('None');
    expect(svc['prod-us-east-1b']!.selector['automq.io/zone']).to.equal('us-east-1b');
    expect(svc['prod-bootstrap']!.selector['automq.io/zone']).to.equal(undefined);
    expect(svc['prod-us-east-1a-external']!.type).to.equal('LoadBalancer');
    expect((d.pdb.spec as { maxUnavailable: number }).maxUnavailable).to.equal(1);
    expect(d.role.rules).to.deep.equal([{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'] }]);
  });

  it('gives every Service a distinct name for every pair of zone names the schema accepts', () => {
    // Zone names built from the pieces the operator's own names use; every pair that passes the
    // schema must render distinct Service names (zone "a-external" used to take zone "a"'s
    // external Service).
    const tokens = ['a', 'external', 'bootstrap', 'brokers', 'broker', 'config'];
    const zoneNames = [...tokens, ...tokens.flatMap((x) => tokens.map((y) => `${x}-${y}`))];
    let checked = 0;
    let refused = 0;
    for (const x of zoneNames) {
      for (const y of zoneNames) {
        if (x >= y) continue;
        const parsed = automqClusterSchema.safeParse({
          apiVersion: 'automq.io/v1alpha1', kind: 'AutoMQCluster', metadata: { name: 'prod', namespace: 'kafka', uid: UID },
          spec: { image: 'i', zones: [{ name: x }, { name: y }], listeners: { external: { type: 'NodePort' } }, objectStorage: { bucket: 'data', credentials: { podIdentity: {} } } },
        });
        if (!parsed.success) {
          refused++;
          continue;
        }
        const serviceNames = desiredChildren(parsed.data).services.map((svc) => svc.metadata.name);
        expect(new Set(serviceNames).size, `zones ${x}, ${y}: ${serviceNames.join(', ')}`).to.equal(serviceNames.length);
        checked++;
      }
    }
    expect(checked).to.be.greaterThan(400);
    expect(refused, 'pairs with a reserved name or the -external suffix').to.be.greaterThan(0);
  });

  it('leaves Deployment replicas unset when an external autoscaler owns them', () => {
    const d = desiredChildren(cluster({ externalScaling: true }));
    expect((d.deployments[0]!.deployment as unknown as Dep).spec.replicas).to.equal(undefined);
  });

  it('changes the template hash (and so rolls) when broker config changes, and only then', () => {
    const a = desiredChildren(cluster());
    const same = desiredChildren(cluster());
    const b = desiredChildren(cluster({ config: { 'num.partitions': 3 } }));
    expect(a.deployments[0]!.templateHash).to.equal(same.deployments[0]!.templateHash);
    expect(a.deployments[0]!.templateHash).not.to.equal(b.deployments[0]!.templateHash);
    expect(a.deployments[0]!.deployment.metadata.annotations![TEMPLATE_HASH_ANNOTATION]).to.equal(a.deployments[0]!.templateHash);
    expect(b.configMap.data).to.deep.equal({ 'broker.properties': renderProperties(brokerConfig(cluster({ config: { 'num.partitions': 3 } }).spec)) });
  });

  it('merges pod template overrides: appends env and tolerations, replaces scalars', () => {
    const d = desiredChildren(cluster({ podTemplate: { labels: { team: 'x' }, spec: { priorityClassName: 'high', tolerations: [{ key: 'k', operator: 'Exists' }] }, brokerContainer: { env: [{ name: 'EXTRA', value: '1' }] } } }));
    const dep = d.deployments[0]!.deployment as unknown as Dep;
    expect(dep.spec.template.spec.priorityClassName).to.equal('high');
    expect(dep.spec.template.spec.tolerations).to.deep.equal([{ key: 'k', operator: 'Exists' }]);
    expect(dep.spec.template.spec.containers[0]!.env.map((e) => e.name)).to.include.members(['POD_IP', 'EXTRA']);
    expect(dep.spec.template.metadata.labels.team).to.equal('x');
    expect(dep.spec.template.metadata.labels['automq.io/cluster']).to.equal('prod');
  });

  it('renders typed settings into broker config (spec.config last) and WAL/cache settings as broker flags', () => {
    const c = cluster({ wal: { uploadThreshold: '16Mi', uploadIntervalMs: 200 }, cache: { blockCacheSize: '1Gi' }, autoBalancer: { enabled: true }, config: { 'autobalancer.controller.enable': 'false', 'num.io.threads': 8 } });
    const props = renderProperties(brokerConfig(c.spec));
    expect(props).to.contain('autobalancer.controller.enable=false');
    expect(props).to.contain('num.io.threads=8');
    expect(props, 'brokers elect their controller through a Lease in Kubernetes').to.contain('controller.election=kubernetes-lease');
    const args = (desiredChildren(c).deployments[0]!.deployment as unknown as Dep).spec.template.spec.containers[0]!.args;
    expect(args.join(' ')).to.contain('--wal-flush-interval-ms 200 --wal-flush-bytes 16777216 --block-cache-bytes 1073741824');
    expect(props.split('\n').filter((l) => !l.startsWith('#') && l)).to.deep.equal([...props.split('\n').filter((l) => !l.startsWith('#') && l)].sort());
  });

  it('every example cluster renders a broker config file the broker accepts (the operator-broker contract)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'automq-contract-'));
    try {
      const examples = readdirSync('examples').filter((f) => f.endsWith('.yaml'));
      let clusters = 0;
      for (const f of examples) {
        for (const doc of parseAllDocuments(readFileSync(path.join('examples', f), 'utf8'))) {
          const o = doc.toJSON() as { kind?: string; metadata?: Record<string, unknown> } | null;
          if (o?.kind !== 'AutoMQCluster') continue;
          clusters++;
          const c = automqClusterSchema.parse({ ...o, metadata: { ...o.metadata, uid: UID } });
          const file = path.join(dir, `${f}-${clusters}.properties`);
          writeFileSync(file, renderProperties(brokerConfig(c.spec)));
          // What the broker does with --config at startup: read the file, check every key.
          const config = new BrokerConfig(readBrokerConfig(file));
          expect(config.get('controller.election'), `${f}: controller.election`).to.equal('kubernetes-lease');
        }
      }
      expect(clusters, 'AutoMQCluster examples checked').to.be.at.least(2);
      // Keys the operator renders for features of later releases are accepted, and reported.
      const full = cluster({ autoBalancer: { enabled: true, goals: ['NetworkIn'], detectIntervalMs: 30000 }, tableTopic: { catalog: { type: 'rest', uri: 'http://cat', properties: { 'rest.auth': 'x' } }, schemaRegistryUrl: 'http://sr' } });
      const file = path.join(dir, 'full.properties');
      writeFileSync(file, renderProperties(brokerConfig(full.spec)));
      const config = new BrokerConfig(readBrokerConfig(file));
      expect(config.notYetUsed().sort()).to.deep.equal([
        'autobalancer.controller.anomaly.detect.interval.ms',
        'autobalancer.controller.enable',
        'autobalancer.controller.goals',
        'automq.table.topic.catalog.rest.auth',
        'automq.table.topic.catalog.type',
        'automq.table.topic.catalog.uri',
        'automq.table.topic.schema.registry.url',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('formats the object store URL and derives a 22-character cluster id from the uid', async () => {
    expect(objectStoreUrl({ bucket: 'b', region: 'eu-west-1', pathStyle: false, credentials: { podIdentity: {} } })).to.equal('s3://b?region=eu-west-1');
    const withPrefix = objectStoreUrl({ bucket: 'automq-data', region: 'r', endpoint: 'http://minio:9000', pathStyle: true, prefix: '/clusters/demo/', credentials: { podIdentity: {} } });
    expect(withPrefix).to.equal('s3://automq-data/clusters/demo?endpoint=http%3A%2F%2Fminio%3A9000&region=r&pathStyle=true');
    // The rendered URL must be one the broker's --object-store parser accepts (the CLI contract).
    const store = createObjectStore(withPrefix);
    expect(store.description).to.include('clusters/demo');
    await store.close();
    expect(defaultClusterId(UID)).to.match(/^[A-Za-z0-9_-]{22}$/);
    expect(() => defaultClusterId('nope')).to.throw(/not a UUID/);
  });

  it('reports names longer than a DNS label', () => {
    expect(checkNameLengths('prod', ['a'])).to.equal(undefined);
    expect(checkNameLengths('x'.repeat(40), ['zone-abcdefghijklmnopqrstu'])).to.match(/exceed 63 characters/);
  });
});

describe('operator model: broker termination grace period', () => {
  const grace = (d: ReturnType<typeof desiredChildren>) => ((d.deployments[0]!.deployment as unknown as Dep).spec.template.spec as { terminationGracePeriodSeconds?: number }).terminationGracePeriodSeconds;

  it('renders the grace period into every broker pod, by default well above the controlled shutdown timeout plus the WAL flush', () => {
    const c = cluster();
    expect(grace(desiredChildren(c))).to.equal(120);
    expect(checkGracePeriod(c.spec)).to.equal(undefined);
    expect(grace(desiredChildren(cluster({ terminationGracePeriodSeconds: 300 })))).to.equal(300);
  });

  it('refuses a grace period that ends before the broker\'s controlled shutdown and final flush can', () => {
    // Default controlled.shutdown.timeout.ms is 30 s: 30 s of grace would SIGKILL a broker
    // exactly when it gives up moving partitions, before its WAL flush.
    expect(checkGracePeriod(cluster({ terminationGracePeriodSeconds: 30 }).spec)).to.contain('must be at least 60');
    expect(checkGracePeriod(cluster({ terminationGracePeriodSeconds: 60 }).spec)).to.equal(undefined);
    // A longer controlled shutdown needs a longer grace period; a shorter one allows less.
    expect(checkGracePeriod(cluster({ config: { 'controlled.shutdown.timeout.ms': 120000 } }).spec)).to.contain('must be at least 150');
    expect(checkGracePeriod(cluster({ terminationGracePeriodSeconds: 40, config: { 'controlled.shutdown.timeout.ms': '10000' } }).spec)).to.equal(undefined);
    expect(checkGracePeriod(cluster({ config: { 'controlled.shutdown.timeout.ms': 'soon' } }).spec)).to.contain('non-negative number');
  });
});

describe('operator model: rollout planning', () => {
  const want = (replicas: number[], hash = 'new') => replicas.map((r, i) => ({ zone: `z${i}`, replicas: r, templateHash: hash }));
  const live = (entries: [number, string, boolean][]) =>
    new Map<string, LiveDeployment>(entries.map(([replicas, templateHash, settled], i) => [`z${i}`, { replicas, templateHash, settled, readyReplicas: settled ? replicas : 0 }]));

  it('creates missing zones at once', () => {
    const p = planRollout(want([1, 1]), new Map());
    expect(p.actions).to.deep.equal([
      { zone: 'z0', action: 'apply', replicas: 1, reason: 'create' },
      { zone: 'z1', action: 'apply', replicas: 1, reason: 'create' },
    ]);
    expect(p.progressing).to.equal(true);
  });

  it('rolls a template change one zone at a time', () => {
    let p = planRollout(want([1, 1, 1]), live([[1, 'old', true], [1, 'old', true], [1, 'old', true]]));
    expect(p.actions.map((a) => a.action)).to.deep.equal(['apply', 'wait', 'wait']);
    // zone 0 is rolling (new hash, not settled): nobody else starts
    p = planRollout(want([1, 1, 1]), live([[1, 'new', false], [1, 'old', true], [1, 'old', true]]));
    expect(p.actions.map((a) => a.action)).to.deep.equal(['apply', 'wait', 'wait']);
    expect(p.actions[1]).to.deep.include({ reason: 'waiting for zone z0 to finish rolling' });
    // zone 0 done: zone 1 goes next
    p = planRollout(want([1, 1, 1]), live([[1, 'new', true], [1, 'old', true], [1, 'old', true]]));
    expect(p.actions.map((a) => a.action)).to.deep.equal(['apply', 'apply', 'wait']);
    p = planRollout(want([1, 1, 1]), live([[1, 'new', true], [1, 'new', true], [1, 'new', true]]));
    expect(p.progressing).to.equal(false);
  });

  it('scales in one broker at a time and only when everything is settled', () => {
    let p = planRollout(want([1, 1]), live([[3, 'new', true], [2, 'new', true]]));
    expect(p.actions).to.deep.equal([
      { zone: 'z0', action: 'apply', replicas: 2, reason: 'scale in by one broker' },
      { zone: 'z1', action: 'apply', replicas: 2, reason: 'scale in waits until every broker is settled' },
    ]);
    p = planRollout(want([1, 1]), live([[2, 'new', false], [2, 'new', true]]));
    expect(p.actions.map((a) => a.action === 'apply' && a.replicas)).to.deep.equal([2, 2]);
    expect(p.progressing).to.equal(true);
  });

  it('scales out immediately and leaves replicas alone under external scaling', () => {
    expect(planRollout(want([3]), live([[1, 'new', true]])).actions[0]).to.deep.equal({ zone: 'z0', action: 'apply', replicas: 3, reason: 'scale out' });
    expect(planRollout(want([3]), live([[5, 'new', true]]), true).actions[0]).to.deep.equal({ zone: 'z0', action: 'apply', replicas: 5, reason: 'in sync' });
  });

  it('isSettled requires the latest generation observed and all replicas updated, ready and available', () => {
    const d = { metadata: { generation: 3 }, spec: { replicas: 2 }, status: { observedGeneration: 3, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 } };
    expect(isSettled(d)).to.equal(true);
    expect(isSettled({ ...d, status: { ...d.status, observedGeneration: 2 } })).to.equal(false);
    expect(isSettled({ ...d, status: { ...d.status, readyReplicas: 1 } })).to.equal(false);
    expect(isSettled({ ...d, status: { ...d.status, replicas: 3 } })).to.equal(false);
  });
});

describe('operator conditions', () => {
  const t0 = new Date('2025-01-01T00:00:00.000Z');
  const t1 = new Date('2025-01-01T00:05:00.000Z');

  it('keeps lastTransitionTime unless the status flips, and records observedGeneration', () => {
    let c = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Creating', message: 'a' }, 1, t0);
    expect(c).to.deep.equal([{ type: 'Ready', status: 'False', reason: 'Creating', message: 'a', lastTransitionTime: '2025-01-01T00:00:00Z', observedGeneration: 1 }]);
    c = setCondition(c, { type: 'Ready', status: 'False', reason: 'BrokersNotReady', message: 'b' }, 2, t1);
    expect(c[0]).to.deep.include({ lastTransitionTime: '2025-01-01T00:00:00Z', reason: 'BrokersNotReady', observedGeneration: 2 });
    c = setCondition(c, { type: 'Ready', status: 'True', reason: 'AllBrokersReady', message: '' }, 2, t1);
    expect(c[0]!.lastTransitionTime).to.equal('2025-01-01T00:05:00Z');
    c = setCondition(c, { type: 'Degraded', status: 'False', reason: 'AsExpected', message: '' }, 2, t1);
    expect(c.map((x) => x.type)).to.deep.equal(['Ready', 'Degraded']);
  });

  it('initialConditions adds only the missing types as Unknown, and nothing when none is missing', () => {
    const existing = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'AllBrokersReady', message: '' }, 1, t0);
    const c = initialConditions(existing, ['Ready', 'Progressing', 'Degraded'], 2, t1, 'Reconciling', 'first reconcile in progress')!;
    expect(c.map((x) => [x.type, x.status, x.reason, x.observedGeneration])).to.deep.equal([
      ['Ready', 'True', 'AllBrokersReady', 1],
      ['Progressing', 'Unknown', 'Reconciling', 2],
      ['Degraded', 'Unknown', 'Reconciling', 2],
    ]);
    expect(initialConditions(c, ['Ready', 'Progressing', 'Degraded'], 2, t1, 'Reconciling', '')).to.equal(undefined);
  });

  it('rejects reasons that are not CamelCase', () => {
    expect(() => setCondition([], { type: 'Ready', status: 'True', reason: 'all good', message: '' }, 1, t0)).to.throw(/CamelCase/);
  });

  it('canonicalJson ignores key order', () => {
    expect(canonicalJson({ a: 1, b: { c: 2, d: 3 } })).to.equal(canonicalJson({ b: { d: 3, c: 2 }, a: 1 }));
  });
});
