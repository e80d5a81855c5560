// Turns the zod schemas into CustomResourceDefinitions with structural OpenAPI v3 schemas.
// The zod schemas stay the single source of truth: runtime validation and the CRDs come from
// the same objects, and `npm run gen:crds` writes crds/*.yaml from buildCrds().
import { z } from 'zod';
import { GROUP, VERSION } from './common.js';
import { CLUSTER_KIND, CLUSTER_PLURAL, clusterSpecSchema, clusterStatusSchema } from './automqcluster.js';
import { TOPIC_KIND, TOPIC_PLURAL, topicSpecSchema, topicStatusSchema } from './tabletopic.js';

export type JsonSchema = { [key: string]: unknown };

/** Keys of apiextensions/v1 JSONSchemaProps that a structural schema may use. */
const ALLOWED_KEYS = new Set([
  'description', 'type', 'format', 'title', 'default', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum',
  'maxLength', 'minLength', 'pattern', 'maxItems', 'minItems', 'uniqueItems', 'multipleOf', 'enum', 'maxProperties',
  'minProperties', 'required', 'items', 'properties', 'additionalProperties', 'nullable', 'example',
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource', 'x-kubernetes-int-or-string',
  'x-kubernetes-list-map-keys', 'x-kubernetes-list-type', 'x-kubernetes-map-type', 'x-kubernetes-validations',
]);

const SAFE_INT_BOUND = Number.MAX_SAFE_INTEGER;

function isRecord(v: unknown): v is JsonSchema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Rewrites zod's OpenAPI 3.0 output into what the API server keeps verbatim. */
export function toStructural(node: unknown): JsonSchema {
  if (!isRecord(node)) throw new Error(`toStructural: expected a schema object, got ${JSON.stringify(node)}`);
  const out: JsonSchema = {};
  // description first: it reads better in the YAML and in `kubectl explain`.
  if (typeof node.description === 'string') out.description = node.description;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'description' || key === '$schema' || key === 'propertyNames') continue;
    if (key === 'anyOf' && node['x-kubernetes-int-or-string'] === true) continue;
    if ((key === 'minimum' && value === -SAFE_INT_BOUND) || (key === 'maximum' && value === SAFE_INT_BOUND)) continue;
    if (key === 'additionalProperties') {
      // `false` next to properties is implied by pruning; `{}` next to preserve-unknown-fields is redundant.
      if (value === false || node['x-kubernetes-preserve-unknown-fields'] === true) continue;
      out[key] = toStructural(value);
      continue;
    }
    if (key === 'properties' && isRecord(value)) {
      const props: JsonSchema = {};
      for (const [name, child] of Object.entries(value)) props[name] = toStructural(child);
      if (Object.keys(props).length > 0) out[key] = props;
      continue;
    }
    if (key === 'items') {
      out[key] = toStructural(value);
      continue;
    }
    if (key === 'required' && Array.isArray(value) && value.length === 0) continue;
    if (value === false && key !== 'default') continue; // false booleans are dropped by the API server
    out[key] = value;
  }
  return out;
}

export function zodToStructural(schema: z.ZodType): JsonSchema {
  return toStructural(z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'throw' }));
}

/**
 * Finds what the API server would reject as non-structural or silently drop (which makes GitOps
 * tools show a perpetual diff): unknown keywords, empty `required`/`properties`, false booleans,
 * nodes without a type.
 */
export function lintStructural(node: unknown, path = '$'): string[] {
  const problems: string[] = [];
  if (!isRecord(node)) return [`${path}: not a schema object`];
  for (const [key, value] of Object.entries(node)) {
    if (!ALLOWED_KEYS.has(key)) problems.push(`${path}: keyword "${key}" is not allowed in a structural schema`);
    if (key !== 'default' && key !== 'enum' && key !== 'example') {
      if (value === false) problems.push(`${path}.${key}: false is dropped by the API server`);
      if (Array.isArray(value) && value.length === 0) problems.push(`${path}.${key}: empty list is dropped by the API server`);
      if (isRecord(value) && Object.keys(value).length === 0 && key !== 'additionalProperties') {
        problems.push(`${path}.${key}: empty object is dropped by the API server`);
      }
    }
  }
  const open = node['x-kubernetes-preserve-unknown-fields'] === true || node['x-kubernetes-int-or-string'] === true;
  if (typeof node.type !== 'string' && !open) problems.push(`${path}: missing type`);
  if (node.properties !== undefined && node.additionalProperties !== undefined) {
    problems.push(`${path}: properties and additionalProperties are mutually exclusive`);
  }
  for (const banned of ['anyOf', 'oneOf', 'allOf', 'not']) {
    if (banned in node) problems.push(`${path}: ${banned} is not used by these CRDs`);
  }
  if (isRecord(node.properties)) {
    for (const [name, child] of Object.entries(node.properties)) problems.push(...lintStructural(child, `${path}.${name}`));
  }
  if (node.items !== undefined) problems.push(...lintStructural(node.items, `${path}[]`));
  if (isRecord(node.additionalProperties) && Object.keys(node.additionalProperties).length > 0) {
    problems.push(...lintStructural(node.additionalProperties, `${path}{}`));
  }
  return problems;
}

interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  priority?: number;
}

interface CrdInput {
  kind: string;
  plural: string;
  shortNames: string[];
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  printerColumns: PrinterColumn[];
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath: string };
}

const READY_COLUMN: PrinterColumn = {
  name: 'Ready',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
  description: 'Ready condition status.',
};
const REASON_COLUMN: PrinterColumn = {
  name: 'Reason',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
  description: 'Reason of the Ready condition.',
  priority: 1,
};
const AGE_COLUMN: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation.' };

function crd(input: CrdInput): JsonSchema {
  const singular = input.kind.toLowerCase();
  const version: JsonSchema = {
    name: VERSION,
    served: true,
    storage: true,
    subresources: input.scale ? { status: {}, scale: input.scale } : { status: {} },
    additionalPrinterColumns: input.printerColumns,
    schema: {
      openAPIV3Schema: {
        description: input.description,
        type: 'object',
        properties: {
          apiVersion: { description: 'API version of this object: automq.io/v1alpha1.', type: 'string' },
          kind: { description: `Kind of this object: ${input.kind}.`, type: 'string' },
          metadata: { type: 'object' },
          spec: zodToStructural(input.spec),
          status: zodToStructural(input.status),
        },
        required: ['spec'],
      },
    },
  };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${input.plural}.${GROUP}`, labels: { 'app.kubernetes.io/part-of': 'automq' } },
    spec: {
      group: GROUP,
      names: { kind: input.kind, listKind: `${input.kind}List`, plural: input.plural, singular, shortNames: input.shortNames, categories: ['automq'] },
      scope: 'Namespaced',
      versions: [version],
    },
  };
}

export function buildCrds(): { file: string; crd: JsonSchema }[] {
  return [
    {
      file: `${GROUP}_${CLUSTER_PLURAL}.yaml`,
      crd: crd({
        kind: CLUSTER_KIND,
        plural: CLUSTER_PLURAL,
        shortNames: ['amq'],
        description: 'AutoMQCluster runs a stateless, Kafka-compatible broker cluster on object storage, one Deployment per zone.',
        spec: clusterSpecSchema,
        status: clusterStatusSchema,
        scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
        printerColumns: [
          READY_COLUMN,
          { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas', description: 'Desired brokers.' },
          { name: 'Ready Brokers', type: 'integer', jsonPath: '.status.readyReplicas', description: 'Ready brokers.' },
          { name: 'Zones', type: 'string', jsonPath: '.status.zoneNames', description: 'Zones the brokers run in.' },
          REASON_COLUMN,
          AGE_COLUMN,
        ],
      }),
    },
    {
      file: `${GROUP}_${TOPIC_PLURAL}.yaml`,
      crd: crd({
        kind: TOPIC_KIND,
        plural: TOPIC_PLURAL,
        shortNames: ['tt'],
        description: 'TableTopic is a Kafka topic in an AutoMQCluster whose records are also committed to an Iceberg table.',
        spec: topicSpecSchema,
        status: topicStatusSchema,
        printerColumns: [
          READY_COLUMN,
          { name: 'Cluster', type: 'string', jsonPath: '.spec.clusterRef.name', description: 'AutoMQCluster holding the topic.' },
          { name: 'Topic', type: 'string', jsonPath: '.status.topicName', description: 'Kafka topic name.' },
          { name: 'Partitions', type: 'integer', jsonPath: '.spec.partitions', description: 'Desired partitions.' },
          REASON_COLUMN,
          AGE_COLUMN,
        ],
      }),
    },
  ];
}

export const CRD_HEADER = '# Generated by `npm run gen:crds` from operator/src/api (zod schemas). Do not edit by hand.\n';

/** Directories that hold a copy of the generated CRDs (repo root relative). */
export const CRD_DIRS = ['crds', 'charts/automq-operator/crds'];
