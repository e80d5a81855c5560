/**
 * Broker-level Kafka settings (the `server.properties` keys this broker honours), with Kafka's
 * defaults. DescribeConfigs on a broker resource lists them; topic configs fall back to them.
 */
export interface BrokerConfigDef {
  readonly name: string;
  readonly defaultValue: string;
  readonly type: 'int' | 'long' | 'boolean' | 'string';
  readonly doc: string;
  /** Accepted (the operator renders it) but not acted on yet: the feature comes in a later release. */
  readonly notYetUsed?: true;
}

/** Free-form catalog properties of Table Topic (`automq.table.topic.catalog.<name>`), reserved like notYetUsed keys. */
const RESERVED_PREFIXES = ['automq.table.topic.catalog.'];

export const BROKER_CONFIGS: readonly BrokerConfigDef[] = [
  { name: 'auto.create.topics.enable', defaultValue: 'true', type: 'boolean', doc: 'Create unknown topics on metadata requests.' },
  { name: 'num.partitions', defaultValue: '1', type: 'int', doc: 'Partitions of auto-created topics and of CreateTopics with -1.' },
  { name: 'default.replication.factor', defaultValue: '1', type: 'int', doc: 'Reported replication factor; data durability comes from the object store.' },
  { name: 'delete.topic.enable', defaultValue: 'true', type: 'boolean', doc: 'Allow DeleteTopics.' },
  { name: 'message.max.bytes', defaultValue: '1048588', type: 'int', doc: 'Default max.message.bytes of topics.' },
  { name: 'log.retention.ms', defaultValue: '604800000', type: 'long', doc: 'Default retention.ms of topics.' },
  { name: 'log.retention.bytes', defaultValue: '-1', type: 'long', doc: 'Default retention.bytes of topics.' },
  { name: 'log.retention.check.interval.ms', defaultValue: '300000', type: 'long', doc: 'How often retention runs.' },
  { name: 'log.message.timestamp.type', defaultValue: 'CreateTime', type: 'string', doc: 'Default message.timestamp.type of topics.' },
  { name: 'log.cleanup.policy', defaultValue: 'delete', type: 'string', doc: 'Default cleanup.policy of topics.' },
  { name: 'compression.type', defaultValue: 'producer', type: 'string', doc: 'Default compression.type of topics.' },
  { name: 'min.insync.replicas', defaultValue: '1', type: 'int', doc: 'Default min.insync.replicas of topics.' },
  { name: 'log.segment.bytes', defaultValue: '1073741824', type: 'int', doc: 'Default segment.bytes of topics (no effect).' },
  { name: 'log.roll.ms', defaultValue: '604800000', type: 'long', doc: 'Default segment.ms of topics (no effect).' },
  { name: 'socket.request.max.bytes', defaultValue: '104857600', type: 'int', doc: 'Largest request accepted; larger ones close the connection.' },
  { name: 'group.initial.rebalance.delay.ms', defaultValue: '3000', type: 'int', doc: 'Delay of the first rebalance of an empty group.' },
  { name: 'group.min.session.timeout.ms', defaultValue: '6000', type: 'int', doc: 'Smallest session timeout a member may ask for.' },
  { name: 'group.max.session.timeout.ms', defaultValue: '1800000', type: 'int', doc: 'Largest session timeout a member may ask for.' },
  { name: 'broker.heartbeat.interval.ms', defaultValue: '1000', type: 'int', doc: 'Cluster mode: how often a broker heartbeats the controller.' },
  { name: 'broker.session.timeout.ms', defaultValue: '6000', type: 'int', doc: 'Cluster mode: a broker silent this long is fenced (its WAL first) and its partitions move.' },
  { name: 'controller.session.timeout.ms', defaultValue: '4000', type: 'int', doc: 'Cluster mode: brokers that cannot reach the controller this long elect a new one.' },
  { name: 'controller.election', defaultValue: 'store', type: 'string', doc: 'Cluster mode: how the controller is elected: "store" (conditional writes to the object store) or "kubernetes-lease" (a coordination.k8s.io Lease; every broker of a cluster must use the same).' },
  { name: 'controller.lease.name', defaultValue: '', type: 'string', doc: 'Cluster mode, kubernetes-lease: the Lease name (default automq-<cluster id>-controller).' },
  { name: 'controller.lease.namespace', defaultValue: '', type: 'string', doc: 'Cluster mode, kubernetes-lease: the Lease namespace (default: POD_NAMESPACE, else the pod\'s service account namespace).' },
  { name: 'controlled.shutdown.timeout.ms', defaultValue: '30000', type: 'int', doc: 'Cluster mode: on SIGTERM, how long a broker waits for its partitions to move away.' },
  { name: 'partition.release.timeout.ms', defaultValue: '10000', type: 'int', doc: 'Cluster mode: how long an old leader gets to release a moving partition before it is fenced.' },
  { name: 'offsets.topic.num.partitions', defaultValue: '16', type: 'int', doc: 'Group shards (each one stream); fixed at the first start of a store. Kafka uses 50: fewer streams cost less here.' },
  { name: 'offsets.retention.minutes', defaultValue: '10080', type: 'int', doc: 'Committed offsets of empty groups expire after this.' },
  { name: 'autobalancer.controller.enable', defaultValue: 'false', type: 'boolean', doc: 'Auto balancer on the controller (not used yet: comes with the auto balancer).', notYetUsed: true },
  { name: 'autobalancer.controller.goals', defaultValue: '', type: 'string', doc: 'Auto balancer goals in priority order (not used yet).', notYetUsed: true },
  { name: 'autobalancer.controller.anomaly.detect.interval.ms', defaultValue: '60000', type: 'long', doc: 'How often the auto balancer looks for imbalance (not used yet).', notYetUsed: true },
  { name: 'automq.table.topic.catalog.type', defaultValue: '', type: 'string', doc: 'Table Topic Iceberg catalog type (not used yet: comes with Table Topic).', notYetUsed: true },
  { name: 'automq.table.topic.catalog.uri', defaultValue: '', type: 'string', doc: 'Table Topic Iceberg catalog URI (not used yet).', notYetUsed: true },
  { name: 'automq.table.topic.catalog.warehouse', defaultValue: '', type: 'string', doc: 'Table Topic Iceberg warehouse (not used yet).', notYetUsed: true },
  { name: 'automq.table.topic.schema.registry.url', defaultValue: '', type: 'string', doc: 'Table Topic schema registry (not used yet).', notYetUsed: true },
  { name: 'producer.id.expiration.ms', defaultValue: '86400000', type: 'int', doc: 'Idle idempotent producers are forgotten after this.' },
];

const byName = new Map(BROKER_CONFIGS.map((d) => [d.name, d]));

export function brokerConfigDef(name: string): BrokerConfigDef | undefined {
  return byName.get(name);
}

export class BrokerConfig {
  private readonly values: Record<string, string>;

  /** `overrides` come from the config file or flags; unknown keys are an error at startup. */
  constructor(readonly overrides: Readonly<Record<string, string>> = {}) {
    for (const k of Object.keys(overrides)) {
      if (!byName.has(k) && !RESERVED_PREFIXES.some((p) => k.startsWith(p))) {
        throw new Error(`unknown broker config "${k}"; known keys: ${BROKER_CONFIGS.map((d) => d.name).join(', ')}`);
      }
    }
    this.values = Object.fromEntries(BROKER_CONFIGS.map((d) => [d.name, overrides[d.name] ?? d.defaultValue]));
  }

  get(name: string): string {
    const v = this.values[name];
    if (v === undefined) throw new Error(`unknown broker config ${name}`);
    return v;
  }

  int(name: string): number {
    return Number(this.get(name));
  }

  bool(name: string): boolean {
    return this.get(name) === 'true';
  }

  all(): Readonly<Record<string, string>> {
    return this.values;
  }

  /** Keys set but not acted on yet by this release (worth a warning at startup). */
  notYetUsed(): string[] {
    return Object.keys(this.overrides).filter((k) => byName.get(k)?.notYetUsed === true || RESERVED_PREFIXES.some((p) => k.startsWith(p)));
  }

  isDefault(name: string): boolean {
    return this.overrides[name] === undefined;
  }
}
