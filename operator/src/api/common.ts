// Shared schema pieces for the automq.io CRDs. Every field carries a description because the
// CRD generator turns these into the OpenAPI schema that `kubectl explain` prints.
import { z } from 'zod';

export const GROUP = 'automq.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Kubernetes resource quantity ("500m", "2Gi", 3): int-or-string in the CRD. */
export const quantity = () =>
  z
    .union([z.string().regex(/^[+-]?[0-9.]+([eE][+-]?[0-9]+)?([KMGTPE]i?|[mkMGTPE]|[numkMGTPE])?$/, 'must be a Kubernetes quantity such as 500m or 2Gi'), z.number()])
    .meta({ 'x-kubernetes-int-or-string': true });

/** A value in a Kafka config map: strings or numbers (quote booleans: "true"). */
export const configValue = () => z.union([z.string(), z.number()]).meta({ 'x-kubernetes-int-or-string': true });

export const stringMap = (description: string) => z.record(z.string(), z.string()).describe(description);

/** An opaque Kubernetes object fragment merged as-is (validated by the API server when applied). */
export const opaqueObject = (description: string) =>
  z.record(z.string(), z.unknown()).meta({ description, 'x-kubernetes-preserve-unknown-fields': true });

export const dnsLabel = z
  .string()
  .min(1)
  .max(40)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a lowercase DNS label (a-z, 0-9, -), at most 40 characters');

/** metav1.Condition. */
export const conditionSchema = z
  .object({
    type: z.string().min(1).max(316).describe('Type of condition in CamelCase: Ready, Progressing or Degraded.'),
    status: z.enum(['True', 'False', 'Unknown']).describe('Status of the condition: True, False or Unknown.'),
    observedGeneration: z.number().int().min(0).optional().describe('The metadata.generation the condition was set for.'),
    lastTransitionTime: z.string().describe('Last time the condition changed from one status to another (RFC 3339).'),
    reason: z.string().min(1).max(1024).describe('Machine-readable CamelCase reason for the last transition.'),
    message: z.string().max(32768).describe('Human-readable details about the last transition; names the failing step on errors.'),
  })
  .describe('A metav1.Condition.');
export type Condition = z.infer<typeof conditionSchema>;

export const conditionsField = () =>
  z
    .array(conditionSchema)
    .meta({
      description: 'Standard conditions (Ready, Progressing, Degraded), each with observedGeneration.',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    })
    .optional();

export const objectMetaSchema = z
  .object({
    name: z.string().optional(),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    generation: z.number().int().optional(),
    resourceVersion: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    finalizers: z.array(z.string()).optional(),
    deletionTimestamp: z.string().optional(),
    creationTimestamp: z.string().optional(),
  })
  .loose();
export type ObjectMeta = z.infer<typeof objectMetaSchema>;

/** Annotation that stops the operator from changing children of a CR (status is still written). */
export const PAUSE_ANNOTATION = 'automq.io/pause-reconciliation';
