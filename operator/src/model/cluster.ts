// Pure functions from an AutoMQCluster to the children the operator applies. No API calls here:
// the reconciler decides when to apply what (see rollout.ts) and the tests check these objects
// without a cluster.
import type { AutoMQCluster, ClusterSpec } from '../api/automqcluster.js';
import { API_VERSION } from '../api/common.js';
import { CLUSTER_KIND } from '../api/automqcluster.js';
import { brokerConfig, CONFIG_FILE, renderProperties, shortHash, walAndCacheFlags } from './broker-config.js';
import {
  brokerSelector,
  clusterLabels,
  CONFIG_HASH_ANNOTATION,
  LABEL_COMPONENT,
  LABEL_ZONE,
  names,
  TEMPLATE_HASH_ANNOTATION,
  zoneSelector,
} from './names.js';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: boolean;
  blockOwnerDeletion: boolean;
}

export const DATA_DIR = '/var/lib/automq';
export const CONFIG_DIR = '/etc/automq';

/** Spreads `total` brokers evenly over zones; the first zones get the remainder. */
export function zoneReplicas(total: number, zones: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  const base = Math.floor(total / zones.length);
  const extra = total % zones.length;
  zones.forEach((z, i) => out.set(z, base + (i < extra ? 1 : 0)));
  return out;
}

/** The --object-store URL of the broker CLI contract. */
export function objectStoreUrl(os: ClusterSpec['objectStorage']): string {
  const q = new URLSearchParams();
  if (os.endpoint) q.set('endpoint', os.endpoint);
  q.set('region', os.region);
  if (os.pathStyle) q.set('pathStyle', 'true');
  // The broker takes a key prefix as the URL path (s3://bucket/prefix), not as a parameter.
  const prefix = os.prefix ? '/' + os.prefix.replace(/^\/+|\/+$/g, '').split('/').map(encodeURIComponent).join('/') : '';
  return `s3://${os.bucket}${prefix}?${q.toString()}`;
}

/** Kafka cluster ids are 16 bytes in URL-safe base64; the CR uid is a UUID, so it maps 1:1. */
export function defaultClusterId(uid: string): string {
  const hex = uid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`metadata.uid "${uid}" is not a UUID; set spec.clusterId explicitly`);
  return Buffer.from(hex, 'hex').toString('base64url');
}

export function clusterIdOf(cluster: AutoMQCluster): string {
  return cluster.spec.clusterId ?? defaultClusterId(cluster.metadata.uid ?? '');
}

export function ownerReference(cluster: AutoMQCluster): OwnerReference {
  if (!cluster.metadata.name || !cluster.metadata.uid) throw new Error('the cluster has no name or uid yet; cannot own children');
  return { apiVersion: API_VERSION, kind: CLUSTER_KIND, name: cluster.metadata.name, uid: cluster.metadata.uid, controller: true, blockOwnerDeletion: true };
}

function meta(cluster: AutoMQCluster, name: string, extraLabels: Record<string, string> = {}): KubeObject['metadata'] {
  return {
    name,
    namespace: cluster.metadata.namespace ?? 'default',
    labels: { ...clusterLabels(cluster.metadata.name ?? ''), ...extraLabels },
    ownerReferences: [ownerReference(cluster)],
  };
}

const APPENDED_POD_KEYS = new Set(['volumes', 'initContainers', 'containers', 'tolerations', 'imagePullSecrets', 'topologySpreadConstraints']);
const APPENDED_CONTAINER_KEYS = new Set(['env', 'envFrom', 'volumeMounts', 'ports']);

function mergeObject(base: Record<string, unknown>, override: Record<string, unknown> | undefined, appended: Set<string>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(override ?? {})) {
    if (appended.has(k) && Array.isArray(v)) out[k] = [...((out[k] as unknown[] | undefined) ?? []), ...v];
    else out[k] = v;
  }
  return out;
}

export interface ZoneDeployment {
  zone: string;
  replicas: number;
  templateHash: string;
  deployment: KubeObject;
}

export interface DesiredChildren {
  configMap: KubeObject;
  configHash: string;
  serviceAccount: KubeObject;
  role: KubeObject;
  roleBinding: KubeObject;
  pdb: KubeObject;
  services: KubeObject[];
  deployments: ZoneDeployment[];
}

function brokerContainer(cluster: AutoMQCluster, zone: string, clusterId: string): Record<string, unknown> {
  const spec = cluster.spec;
  const kafkaPort = spec.listeners.internal.port;
  const metricsPort = spec.metrics.port;
  const env: Record<string, unknown>[] = [
    { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: 'AWS_REGION', value: spec.objectStorage.region },
  ];
  const secret = spec.objectStorage.credentials.secretRef;
  if (secret) {
    env.push({ name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: secret.name, key: secret.accessKeyIdKey } } });
    env.push({ name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: secret.name, key: secret.secretAccessKeyKey } } });
  }
  if (spec.metrics.otlpEndpoint) env.push({ name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: spec.metrics.otlpEndpoint });
  const base: Record<string, unknown> = {
    name: 'broker',
    image: spec.image,
    ...(spec.imagePullPolicy ? { imagePullPolicy: spec.imagePullPolicy } : {}),
    args: [
      'broker',
      '--config', `${CONFIG_DIR}/${CONFIG_FILE}`,
      '--data-dir', DATA_DIR,
      '--listen', `0.0.0.0:${kafkaPort}`,
      // The kubelet expands $(POD_IP) from the env above.
      '--advertise', `$(POD_IP):${kafkaPort}`,
      '--metrics-port', String(metricsPort),
      '--object-store', objectStoreUrl(spec.objectStorage),
      '--rack', zone,
      '--cluster-id', clusterId,
      '--log-level', spec.logLevel,
      ...walAndCacheFlags(spec),
    ],
    env,
    ports: [
      { name: 'kafka', containerPort: kafkaPort, protocol: 'TCP' },
      { name: 'metrics', containerPort: metricsPort, protocol: 'TCP' },
    ],
    // The Kafka port opens early (internal RPC while the broker joins the cluster); the metrics
    // endpoint starts once the broker serves Kafka requests, so it is the readiness signal.
    readinessProbe: { tcpSocket: { port: 'metrics' }, periodSeconds: 5, failureThreshold: 3 },
    livenessProbe: { tcpSocket: { port: 'metrics' }, initialDelaySeconds: 30, periodSeconds: 10, failureThreshold: 6 },
    ...(spec.resources ? { resources: spec.resources } : {}),
    volumeMounts: [
      { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
      { name: 'data', mountPath: DATA_DIR },
      { name: 'tmp', mountPath: '/tmp' },
    ],
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
  };
  return mergeObject(base, spec.podTemplate?.brokerContainer, APPENDED_CONTAINER_KEYS);
}

function zoneAffinity(z: ClusterSpec['zones'][number]): Record<string, unknown> {
  if (z.nodeSelector) return { nodeSelector: z.nodeSelector };
  return {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: z.topologyKey, operator: 'In', values: [z.topologyValue ?? z.name] }] }],
        },
      },
    },
  };
}

function deploymentFor(cluster: AutoMQCluster, z: ClusterSpec['zones'][number], replicas: number, configHash: string, clusterId: string): ZoneDeployment {
  const name = cluster.metadata.name ?? '';
  const spec = cluster.spec;
  const podLabels = { ...(spec.podTemplate?.labels ?? {}), ...clusterLabels(name), ...zoneSelector(name, z.name) };
  const podSpecBase: Record<string, unknown> = {
    serviceAccountName: names.serviceAccount(name),
    terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds,
    enableServiceLinks: false,
    ...zoneAffinity(z),
    topologySpreadConstraints: [
      { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: zoneSelector(name, z.name) } },
    ],
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    ...(spec.imagePullSecrets ? { imagePullSecrets: spec.imagePullSecrets } : {}),
    containers: [brokerContainer(cluster, z.name, clusterId)],
    volumes: [
      { name: 'config', configMap: { name: names.configMap(name) } },
      { name: 'data', emptyDir: {} },
      { name: 'tmp', emptyDir: {} },
    ],
  };
  const podSpec = mergeObject(podSpecBase, spec.podTemplate?.spec, APPENDED_POD_KEYS);
  const annotations = { ...(spec.podTemplate?.annotations ?? {}), [CONFIG_HASH_ANNOTATION]: configHash };
  const template = { metadata: { labels: podLabels, annotations }, spec: podSpec };
  const templateHash = shortHash(JSON.stringify(template));
  const deployment: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { ...meta(cluster, names.deployment(name, z.name), { [LABEL_COMPONENT]: 'broker', [LABEL_ZONE]: z.name }), annotations: { [TEMPLATE_HASH_ANNOTATION]: templateHash } },
    spec: {
      ...(spec.externalScaling ? {} : { replicas }),
      selector: { matchLabels: zoneSelector(name, z.name) },
      // One pod at a time, never more brokers than desired: a surge broker would take partitions
      // only to hand them back.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      minReadySeconds: 10,
      revisionHistoryLimit: 5,
      template,
    },
  };
  return { zone: z.name, replicas, templateHash, deployment };
}

function service(cluster: AutoMQCluster, name: string, selector: Record<string, string>, extra: Record<string, unknown>, ports: Record<string, unknown>[], annotations?: Record<string, string>): KubeObject {
  const m = meta(cluster, name, { [LABEL_COMPONENT]: 'broker' });
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: annotations ? { ...m, annotations } : m,
    spec: { selector, ports, ...extra },
  };
}

export function desiredChildren(cluster: AutoMQCluster): DesiredChildren {
  const name = cluster.metadata.name ?? '';
  const ns = cluster.metadata.namespace ?? 'default';
  const spec = cluster.spec;
  const clusterId = clusterIdOf(cluster);
  const properties = renderProperties(brokerConfig(spec));
  const configHash = shortHash(properties);
  const kafkaPort = spec.listeners.internal.port;
  const kafka = { name: 'kafka', port: kafkaPort, targetPort: 'kafka', protocol: 'TCP' };
  const metrics = { name: 'metrics', port: spec.metrics.port, targetPort: 'metrics', protocol: 'TCP' };

  const services: KubeObject[] = [
    service(cluster, names.bootstrapService(name), brokerSelector(name), { type: 'ClusterIP' }, [kafka]),
    service(cluster, names.headlessService(name), brokerSelector(name), { clusterIP: 'None', publishNotReadyAddresses: true }, [kafka, metrics]),
  ];
  for (const z of spec.zones) {
    services.push(service(cluster, names.zoneService(name, z.name), zoneSelector(name, z.name), { type: 'ClusterIP' }, [kafka]));
    const ext = spec.listeners.external;
    if (ext) {
      services.push(
        service(
          cluster,
          names.externalService(name, z.name),
          zoneSelector(name, z.name),
          { type: ext.type, externalTrafficPolicy: 'Local' },
          [{ name: 'kafka', port: ext.port, targetPort: 'kafka', protocol: 'TCP' }],
          ext.annotations,
        ),
      );
    }
  }

  const perZone = zoneReplicas(spec.replicas, spec.zones.map((z) => z.name));
  const saAnnotations = spec.objectStorage.credentials.podIdentity?.serviceAccountAnnotations;
  const saMeta = meta(cluster, names.serviceAccount(name));
  return {
    configHash,
    configMap: { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(cluster, names.configMap(name)), data: { [CONFIG_FILE]: properties } },
    serviceAccount: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: saAnnotations ? { ...saMeta, annotations: saAnnotations } : saMeta },
    role: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta(cluster, names.role(name)),
      // The brokers elect their controller through a Lease; they need nothing else from the API.
      rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'] }],
    },
    roleBinding: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(cluster, names.role(name)),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: names.role(name) },
      subjects: [{ kind: 'ServiceAccount', name: names.serviceAccount(name), namespace: ns }],
    },
    pdb: {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: meta(cluster, names.pdb(name)),
      spec: { maxUnavailable: 1, selector: { matchLabels: brokerSelector(name) } },
    },
    services,
    deployments: spec.zones.map((z) => deploymentFor(cluster, z, perZone.get(z.name) ?? 0, configHash, clusterId)),
  };
}

/** host:port of a Service inside the cluster. */
export function serviceAddress(service: string, namespace: string, port: number): string {
  return `${service}.${namespace}.svc:${port}`;
}
