// AutoMQCluster: one stateless broker cluster on object storage, spread over zones.
import { z } from 'zod';
import { API_VERSION, conditionsField, configValue, dnsLabel, objectMetaSchema, opaqueObject, quantity, stringMap } from './common.js';

export const CLUSTER_KIND = 'AutoMQCluster';
export const CLUSTER_PLURAL = 'automqclusters';

/** Names the operator uses for its own per-cluster Services; a zone must not collide with them. */
export const RESERVED_ZONE_NAMES = ['bootstrap', 'brokers', 'config', 'broker'] as const;

/**
 * Zone <z>'s external Service is <cluster>-<z>-external and zone <y>'s Service is <cluster>-<y>,
 * so a zone named <z>-external would take zone <z>'s external Service name. Reserving the suffix
 * makes the two name sets disjoint without renaming live external Services (a rename would
 * re-provision their load balancers and change the addresses clients use).
 */
export const RESERVED_ZONE_SUFFIX = '-external';

export const zoneSchema = z
  .object({
    name: dnsLabel.describe(
      'Zone name. Used in child names (<cluster>-broker-<zone>, <cluster>-<zone>, <cluster>-<zone>-external) and passed to the brokers as their rack. ' +
        'Must not be one of: bootstrap, brokers, config, broker, and must not end in -external (the suffix of the external Services).',
    ),
    topologyKey: z
      .string()
      .min(1)
      .default('topology.kubernetes.io/zone')
      .describe('Node label that pins this zone\'s brokers (node affinity <topologyKey> In [<topologyValue>]). Ignored when nodeSelector is set.'),
    topologyValue: z.string().min(1).optional().describe('Value of topologyKey for this zone; defaults to the zone name.'),
    nodeSelector: stringMap('Explicit node selector for this zone\'s brokers; replaces the topology-key pinning when set.').optional(),
  })
  .describe('A failure zone that gets its own broker Deployment and Service.');

const secretCredentials = z
  .object({
    name: z.string().min(1).describe('Name of a Secret in the cluster\'s namespace.'),
    accessKeyIdKey: z.string().min(1).default('AWS_ACCESS_KEY_ID').describe('Key in the Secret holding the access key id.'),
    secretAccessKeyKey: z.string().min(1).default('AWS_SECRET_ACCESS_KEY').describe('Key in the Secret holding the secret access key.'),
  })
  .describe('Static credentials read from a Secret and passed to the brokers as AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.');

const podIdentity = z
  .object({
    serviceAccountAnnotations: stringMap(
      'Annotations for the brokers\' ServiceAccount, e.g. eks.amazonaws.com/role-arn for IRSA.',
    ).optional(),
  })
  .describe('Use the pod\'s workload identity (IRSA, EKS Pod Identity, GKE/Azure workload identity): no static keys.');

export const objectStorageSchema = z
  .object({
    bucket: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name: 3-63 lowercase letters, digits, "." and "-"')
      .describe('Bucket that holds all data, WAL and metadata objects (S3 bucket naming rules).'),
    prefix: z.string().optional().describe('Key prefix inside the bucket, for sharing a bucket between clusters.'),
    endpoint: z.string().min(1).optional().describe('S3 endpoint URL (e.g. http://minio.minio:9000); omit for AWS S3.'),
    region: z.string().min(1).default('us-east-1').describe('Bucket region.'),
    pathStyle: z.boolean().default(false).describe('Use path-style addressing (needed by MinIO and most S3-compatible stores).'),
    credentials: z
      .object({
        secretRef: secretCredentials.optional(),
        podIdentity: podIdentity.optional(),
      })
      .meta({
        description: 'Where brokers get object-storage credentials. Exactly one of secretRef or podIdentity; never inline keys.',
        'x-kubernetes-validations': [
          { rule: 'has(self.secretRef) != has(self.podIdentity)', message: 'set exactly one of objectStorage.credentials.secretRef or objectStorage.credentials.podIdentity' },
        ],
      })
      .refine((c) => (c.secretRef === undefined) !== (c.podIdentity === undefined), {
        message: 'set exactly one of objectStorage.credentials.secretRef or objectStorage.credentials.podIdentity',
      }),
  })
  .describe('Object storage (S3 or S3-compatible) that holds the cluster\'s data.');

export const walSchema = z
  .object({
    uploadIntervalMs: z.number().int().min(1).max(60000).optional().describe('Longest time a write waits in the WAL buffer before upload (ms).'),
    uploadThreshold: quantity().optional().describe('Buffered bytes that trigger a WAL upload (quantity, e.g. 16Mi).'),
    cacheSize: quantity().optional().describe('Memory for the WAL write cache (quantity, e.g. 512Mi).'),
  })
  .describe('Write-ahead log settings. The WAL lives in object storage; brokers keep no persistent disk.');

export const cacheSchema = z
  .object({
    blockCacheSize: quantity().optional().describe('Memory for the read block cache (quantity, e.g. 1Gi).'),
  })
  .describe('Read cache settings.');

export const listenersSchema = z
  .object({
    internal: z
      .object({ port: z.number().int().min(1).max(65535).default(9092).describe('Kafka port inside the cluster.') })
      .prefault({})
      .describe('The in-cluster Kafka listener served by the bootstrap, per-zone and headless Services.'),
    external: z
      .object({
        type: z.enum(['LoadBalancer', 'NodePort']).describe('Service type of the per-zone external Services.'),
        port: z.number().int().min(1).max(65535).default(9094).describe('Service port of the external per-zone Services.'),
        annotations: stringMap('Annotations for the external Services (load-balancer settings).').optional(),
      })
      .optional()
      .describe('External access: one Service per zone (<cluster>-<zone>-external) of the given type.'),
  })
  .describe('Client listeners.');

export const resourcesSchema = z
  .object({
    requests: z.record(z.string(), quantity()).optional().describe('Minimum resources, e.g. {cpu: "1", memory: 4Gi}.'),
    limits: z.record(z.string(), quantity()).optional().describe('Maximum resources.'),
  })
  .describe('Compute resources of the broker container.');

export const podTemplateSchema = z
  .object({
    labels: stringMap('Extra labels for broker pods.').optional(),
    annotations: stringMap('Extra annotations for broker pods.').optional(),
    spec: opaqueObject('Fields merged into the broker PodSpec (tolerations, priorityClassName, securityContext, ...).').optional(),
    brokerContainer: opaqueObject('Fields merged into the broker container (env is appended, volumeMounts appended, other keys replace).').optional(),
  })
  .describe('Overrides for the broker pod template.');

export const metricsSchema = z
  .object({
    port: z.number().int().min(1).max(65535).default(9464).describe('Prometheus metrics port of the brokers.'),
    otlpEndpoint: z.string().min(1).optional().describe('OTLP endpoint the brokers push metrics to (OTEL_EXPORTER_OTLP_ENDPOINT).'),
  })
  .describe('Metrics.');

export const autoBalancerSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Let the brokers move partitions to balance load.'),
    goals: z.array(z.string().min(1)).optional().describe('Balancing goals, in priority order.'),
    detectIntervalMs: z.number().int().min(1000).optional().describe('How often the balancer looks for imbalance (ms).'),
  })
  .describe('Built-in auto balancer settings (rendered into broker config).');

export const catalogSchema = z
  .object({
    type: z.enum(['rest', 'glue', 'tablebucket', 'nessie', 'hive']).describe('Iceberg catalog type.'),
    uri: z.string().min(1).optional().describe('Catalog URI (rest, nessie, hive).'),
    warehouse: z.string().min(1).optional().describe('Warehouse location, e.g. s3://bucket/warehouse.'),
    properties: stringMap('Extra catalog properties.').optional(),
  })
  .describe('An Iceberg catalog.');

export const tableTopicDefaultsSchema = z
  .object({
    catalog: catalogSchema.optional(),
    schemaRegistryUrl: z.string().min(1).optional().describe('Schema registry used by table topics in SchemaRegistry mode.'),
  })
  .describe('Cluster-wide defaults for TableTopics.');

export const clusterSpecSchema = z
  .object({
    image: z.string().min(1).describe('Container image that runs `automq broker`.'),
    imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional().describe('Image pull policy.'),
    imagePullSecrets: z.array(z.object({ name: z.string().min(1).describe('Secret name.') })).optional().describe('Pull secrets.'),
    replicas: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(3)
      .describe('Total brokers, spread evenly over zones (the first zones get the remainder). Served by the /scale subresource.'),
    clusterId: z
      .string()
      .min(1)
      .optional()
      .meta({
        description: 'Kafka cluster id; defaults to one derived from the CR uid. Immutable once set.',
        'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'spec.clusterId is immutable' }],
      }),
    zones: z
      .array(zoneSchema)
      .min(1)
      .max(16)
      .meta({
        description: 'Zones to run brokers in; each gets a Deployment pinned to it and a Service.',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
        'x-kubernetes-validations': [
          {
            rule: "self.all(z, !(z.name in ['bootstrap', 'brokers', 'config', 'broker']))",
            message: 'zone names bootstrap, brokers, config and broker are reserved',
          },
          {
            rule: "self.all(z, !z.name.endsWith('-external'))",
            message: 'zone names must not end in -external: <cluster>-<zone>-external is the name of a zone\'s external Service',
          },
        ],
      })
      .refine((zs) => zs.every((zn) => !(RESERVED_ZONE_NAMES as readonly string[]).includes(zn.name)), {
        message: 'zone names bootstrap, brokers, config and broker are reserved',
      })
      .refine((zs) => zs.every((zn) => !zn.name.endsWith(RESERVED_ZONE_SUFFIX)), {
        message: 'zone names must not end in -external: <cluster>-<zone>-external is the name of a zone\'s external Service',
      })
      .refine((zs) => new Set(zs.map((zn) => zn.name)).size === zs.length, { message: 'zone names must be unique' }),
    objectStorage: objectStorageSchema,
    wal: walSchema.optional(),
    cache: cacheSchema.optional(),
    config: z
      .record(z.string(), configValue())
      .optional()
      .describe('Kafka broker configs rendered into the broker config file. Quote booleans ("true"). A change rolls the brokers one zone at a time.'),
    listeners: listenersSchema.prefault({}),
    resources: resourcesSchema.optional(),
    podTemplate: podTemplateSchema.optional(),
    metrics: metricsSchema.prefault({}),
    autoBalancer: autoBalancerSchema.optional(),
    tableTopic: tableTopicDefaultsSchema.optional(),
    logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info').describe('Broker log level.'),
    terminationGracePeriodSeconds: z
      .number()
      .int()
      .min(30)
      .max(3600)
      .default(120)
      .describe(
        'Grace period for a broker pod: on SIGTERM a broker first hands its partitions over (controlled shutdown, at most controlled.shutdown.timeout.ms, ' +
          'default 30 s) and then flushes its WAL, so this must be at least that timeout plus 30 s; the reconcile fails (step validate) otherwise.',
      ),
    externalScaling: z
      .boolean()
      .default(false)
      .describe('Leave replicas unset on the per-zone Deployments so a per-zone HPA/KEDA owns them.'),
  })
  .describe('Desired state of an AutoMQ cluster.');
export type ClusterSpec = z.infer<typeof clusterSpecSchema>;

export const zoneStatusSchema = z.object({
  name: z.string().describe('Zone name.'),
  replicas: z.number().int().describe('Desired brokers in this zone.'),
  readyReplicas: z.number().int().describe('Ready brokers in this zone.'),
  bootstrapServers: z.string().describe('Bootstrap address of this zone\'s Service.'),
});

export const listenerStatusSchema = z.object({
  name: z.string().describe('Listener name: internal, or external-<zone>.'),
  type: z.string().describe('Service type.'),
  bootstrapServers: z.string().describe('host:port list clients bootstrap from.'),
});

export const brokerLoadSchema = z.object({
  pod: z.string().describe('Pod name.'),
  zone: z.string().describe('Zone (rack).'),
  nodeId: z.number().int().optional().describe('Kafka node id.'),
  bytesInPerSec: z.number().optional().describe('Produce bytes per second.'),
  bytesOutPerSec: z.number().optional().describe('Fetch bytes per second.'),
  partitions: z.number().int().optional().describe('Partitions led by the broker.'),
});

export const clusterStatusSchema = z
  .object({
    observedGeneration: z.number().int().optional().describe('The metadata.generation last reconciled.'),
    conditions: conditionsField(),
    replicas: z.number().int().optional().describe('Brokers that exist (for /scale).'),
    readyReplicas: z.number().int().optional().describe('Ready brokers.'),
    selector: z.string().optional().describe('Label selector of the broker pods (for /scale, HPA and KEDA).'),
    clusterId: z.string().optional().describe('Kafka cluster id in use.'),
    zoneNames: z.string().optional().describe('Comma-separated zone names (for the Zones printer column).'),
    zones: z.array(zoneStatusSchema).optional().describe('Per-zone replicas and bootstrap addresses.'),
    listeners: z.array(listenerStatusSchema).optional().describe('Bootstrap addresses per listener.'),
    activeController: z.number().int().optional().describe('Node id of the active controller, if known.'),
    brokers: z.array(brokerLoadSchema).optional().describe('Compact per-broker load summary for the auto balancer.'),
  })
  .describe('Observed state of an AutoMQ cluster.');
export type ClusterStatus = z.infer<typeof clusterStatusSchema>;

export const automqClusterSchema = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(CLUSTER_KIND),
  metadata: objectMetaSchema,
  spec: clusterSpecSchema,
  status: clusterStatusSchema.optional(),
});
export type AutoMQCluster = z.infer<typeof automqClusterSchema>;
