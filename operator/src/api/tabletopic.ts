// TableTopic: a Kafka topic whose records are also committed to an Iceberg table.
import { z } from 'zod';
import { API_VERSION, conditionsField, configValue, objectMetaSchema } from './common.js';
import { catalogSchema } from './automqcluster.js';

export const TOPIC_KIND = 'TableTopic';
export const TOPIC_PLURAL = 'tabletopics';
/** Finalizer that guards topic deletion in the cluster (only set when deletionPolicy is Delete). */
export const TOPIC_FINALIZER = 'automq.io/topic-deletion';

export const PARTITION_SHRINK_MESSAGE =
  'spec.partitions cannot be decreased: Kafka cannot remove partitions; create a new topic with fewer partitions instead';

const partitionField = z
  .string()
  .regex(
    /^(identity|year|month|day|hour|void)\([A-Za-z_][A-Za-z0-9_.]*\)$|^(bucket|truncate)\[[1-9][0-9]*\]\([A-Za-z_][A-Za-z0-9_.]*\)$|^[A-Za-z_][A-Za-z0-9_.]*$/,
    'must be a field name or a transform such as day(ts), bucket[16](id), truncate[4](name)',
  );

export const tableSpecSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Commit the topic\'s records to an Iceberg table.'),
    namespace: z.string().min(1).optional().describe('Iceberg namespace (database); defaults to the Kubernetes namespace.'),
    tableName: z.string().min(1).optional().describe('Iceberg table name; defaults to the topic name.'),
    schemaMode: z
      .enum(['Schemaless', 'SchemaRegistry'])
      .default('Schemaless')
      .describe('Schemaless stores key/value as bytes; SchemaRegistry derives columns from the registered schema.'),
    partitionBy: z
      .array(partitionField)
      .optional()
      .describe('Iceberg partition spec: field names or transforms, e.g. ["day(ts)", "bucket[16](id)"].'),
    commitIntervalMs: z.number().int().min(1000).max(3600000).default(300000).describe('How often data is committed to the table (ms).'),
    catalog: catalogSchema.optional().describe('Catalog override; defaults to the cluster\'s spec.tableTopic.catalog.'),
  })
  .describe('Iceberg table settings. Accepted and validated now; committed end to end by a later release.');

export const topicSpecSchema = z
  .object({
    clusterRef: z
      .object({ name: z.string().min(1).describe('Name of an AutoMQCluster in the same namespace.') })
      .meta({
        description: 'The cluster that holds the topic. Immutable.',
        'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'spec.clusterRef is immutable' }],
      }),
    topicName: z
      .string()
      .min(1)
      .max(249)
      .regex(/^[a-zA-Z0-9._-]+$/, 'must contain only a-z, A-Z, 0-9, ".", "_" and "-"')
      .optional()
      .describe('Kafka topic name; defaults to metadata.name. Immutable.'),
    partitions: z
      .number()
      .int()
      .min(1)
      .max(100000)
      .default(1)
      .meta({
        description: 'Partition count. May grow, never shrink.',
        'x-kubernetes-validations': [{ rule: 'self >= oldSelf', message: PARTITION_SHRINK_MESSAGE }],
      }),
    config: z
      .record(z.string(), configValue())
      .optional()
      .describe('Topic configs (e.g. retention.ms). Keys set here are enforced; keys removed here are reset to the cluster default.'),
    deletionPolicy: z
      .enum(['Delete', 'Retain'])
      .default('Delete')
      .describe('Delete removes the topic from the cluster when this resource is deleted; Retain leaves it.'),
    table: tableSpecSchema.optional(),
  })
  .meta({
    description: 'Desired state of a table topic.',
    'x-kubernetes-validations': [
      {
        rule: 'has(self.topicName) == has(oldSelf.topicName) && (!has(self.topicName) || self.topicName == oldSelf.topicName)',
        message: 'spec.topicName is immutable',
      },
    ],
  });
export type TopicSpec = z.infer<typeof topicSpecSchema>;

export const topicStatusSchema = z
  .object({
    observedGeneration: z.number().int().optional().describe('The metadata.generation last reconciled.'),
    conditions: conditionsField(),
    topicName: z.string().optional().describe('Kafka topic name in use.'),
    topicId: z.string().optional().describe('Kafka topic id.'),
    partitions: z.number().int().optional().describe('Partition count in the cluster.'),
    table: z
      .object({
        lastCommitTime: z.string().optional().describe('Time of the last table commit.'),
        lastSnapshotId: z.string().optional().describe('Iceberg snapshot id of the last commit.'),
        committedOffsets: z.record(z.string(), z.number().int()).optional().describe('Committed offset per partition.'),
      })
      .optional()
      .describe('Table commit progress (filled by the table committer).'),
  })
  .describe('Observed state of a table topic.');
export type TopicStatus = z.infer<typeof topicStatusSchema>;

export const tableTopicSchema = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(TOPIC_KIND),
  metadata: objectMetaSchema,
  spec: topicSpecSchema,
  status: topicStatusSchema.optional(),
});
export type TableTopic = z.infer<typeof tableTopicSchema>;

export function effectiveTopicName(t: { metadata: { name?: string | undefined }; spec: { topicName?: string | undefined } }): string {
  return t.spec.topicName ?? t.metadata.name ?? '';
}
