/**
 * Topic-level configuration: the keys this broker understands, their defaults, and validation.
 * Unknown keys are rejected (INVALID_CONFIG) rather than stored and ignored, so a user never
 * believes a setting is in force when it is not.
 */
export type ConfigType = 'long' | 'int' | 'string' | 'boolean' | 'list';

export interface TopicConfigDef {
  readonly name: string;
  readonly type: ConfigType;
  /** Default as Kafka prints it. */
  readonly defaultValue: string;
  /** Broker-level key that supplies the default (DescribeConfigs source DEFAULT_CONFIG vs STATIC_BROKER_CONFIG). */
  readonly brokerKey?: string;
  readonly doc: string;
  /** Returns an error message, or undefined when valid. */
  readonly validate?: (value: string) => string | undefined;
}

const long = (min: number) => (v: string) =>
  /^-?\d+$/.test(v) && Number(v) >= min ? undefined : `must be an integer >= ${min}`;
const oneOf = (...values: string[]) => (v: string) =>
  values.includes(v) ? undefined : `must be one of ${values.join(', ')}`;

export const TOPIC_CONFIGS: readonly TopicConfigDef[] = [
  {
    name: 'cleanup.policy',
    type: 'list',
    defaultValue: 'delete',
    brokerKey: 'log.cleanup.policy',
    doc: 'Only "delete" is implemented; "compact" is refused until log compaction exists.',
    validate: (v) => (v === 'delete' ? undefined : 'only "delete" is supported (compaction is not implemented yet)'),
  },
  {
    name: 'retention.ms',
    type: 'long',
    defaultValue: '604800000',
    brokerKey: 'log.retention.ms',
    doc: 'Data older than this (by append time, whole stored ranges) is deleted; -1 keeps forever.',
    validate: long(-1),
  },
  {
    name: 'retention.bytes',
    type: 'long',
    defaultValue: '-1',
    brokerKey: 'log.retention.bytes',
    doc: 'Per-partition size above which the oldest stored ranges are deleted; -1 means no limit.',
    validate: long(-1),
  },
  {
    name: 'max.message.bytes',
    type: 'int',
    defaultValue: '1048588',
    brokerKey: 'message.max.bytes',
    doc: 'Largest record batch accepted (MESSAGE_TOO_LARGE above it).',
    validate: long(0),
  },
  {
    name: 'message.timestamp.type',
    type: 'string',
    defaultValue: 'CreateTime',
    brokerKey: 'log.message.timestamp.type',
    doc: 'CreateTime keeps producer timestamps; LogAppendTime stamps batches with the broker time.',
    validate: oneOf('CreateTime', 'LogAppendTime'),
  },
  {
    name: 'compression.type',
    type: 'string',
    defaultValue: 'producer',
    brokerKey: 'compression.type',
    doc: 'Only "producer" (batches stored as produced) is supported.',
    validate: oneOf('producer'),
  },
  {
    name: 'min.insync.replicas',
    type: 'int',
    defaultValue: '1',
    brokerKey: 'min.insync.replicas',
    doc: 'Accepted for compatibility: durability comes from the object store, there are no replicas.',
    validate: long(1),
  },
  {
    name: 'segment.bytes',
    type: 'int',
    defaultValue: '1073741824',
    brokerKey: 'log.segment.bytes',
    doc: 'Accepted for compatibility; storage is organized in objects, not segments.',
    validate: long(14),
  },
  {
    name: 'segment.ms',
    type: 'long',
    defaultValue: '604800000',
    brokerKey: 'log.roll.ms',
    doc: 'Accepted for compatibility; storage is organized in objects, not segments.',
    validate: long(1),
  },
];

const byName = new Map(TOPIC_CONFIGS.map((d) => [d.name, d]));

export function topicConfigDef(name: string): TopicConfigDef | undefined {
  return byName.get(name);
}

/** Validates a full set of topic config overrides; returns an error message or undefined. */
export function validateTopicConfigs(configs: Record<string, string>): string | undefined {
  for (const [k, v] of Object.entries(configs)) {
    const def = byName.get(k);
    if (!def) return `unknown topic config "${k}"`;
    const problem = def.validate?.(v);
    if (problem) return `invalid value "${v}" for topic config "${k}": ${problem}`;
  }
  return undefined;
}

/** Effective value of a topic config: the override, else the broker default, else the built-in default. */
export function effectiveTopicConfig(name: string, overrides: Record<string, string>, brokerDefaults: Record<string, string>): string {
  const def = byName.get(name);
  if (!def) throw new Error(`unknown topic config ${name}`);
  return overrides[name] ?? (def.brokerKey ? brokerDefaults[def.brokerKey] : undefined) ?? def.defaultValue;
}
