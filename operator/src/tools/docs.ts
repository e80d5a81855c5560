// docs/operator.md: every CR field, generated from the same zod schemas as the CRDs, plus the
// reconcile steps. `npm run gen:crds` writes it; a test fails when it is stale.
import { buildCrds, type JsonSchema } from '../api/crd.js';

export const DOC_FILE = 'docs/operator.md';

function typeOf(s: JsonSchema): string {
  if (s['x-kubernetes-int-or-string']) return 'int or string';
  if (s['x-kubernetes-preserve-unknown-fields']) return 'object (free-form)';
  if (s.type === 'array') return `[]${typeOf((s.items as JsonSchema) ?? {})}`;
  if (s.type === 'object' && s.additionalProperties) return `map[string]${typeOf(s.additionalProperties as JsonSchema)}`;
  return String(s.type ?? 'any');
}

function rows(s: JsonSchema, prefix: string, out: string[]): void {
  const props = (s.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((s.required as string[] | undefined) ?? []);
  for (const [name, child] of Object.entries(props)) {
    const p = `${prefix}${name}`;
    const extras: string[] = [];
    if (required.has(name)) extras.push('required');
    if (child.default !== undefined) extras.push(`default \`${JSON.stringify(child.default)}\``);
    if (Array.isArray(child.enum)) extras.push(`one of ${(child.enum as unknown[]).map((e) => `\`${String(e)}\``).join(', ')}`);
    if (child.minimum !== undefined || child.maximum !== undefined) extras.push(`range ${child.minimum ?? ''}..${child.maximum ?? ''}`);
    for (const v of (child['x-kubernetes-validations'] as { message: string }[] | undefined) ?? []) extras.push(`rule: ${v.message}`);
    const desc = String(child.description ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
    out.push(`| \`${p}\` | ${typeOf(child)} | ${desc}${extras.length ? ` (${extras.join('; ')})` : ''} |`);
    if (child.type === 'object' && child.properties) rows(child, `${p}.`, out);
    if (child.type === 'array' && (child.items as JsonSchema | undefined)?.properties) rows(child.items as JsonSchema, `${p}[].`, out);
  }
}

const STEPS = `## Reconcile steps

AutoMQCluster (one named step after the other; the first failure stops the chain, and the
status is written either way, naming the failing step in the Ready/Degraded messages):

1. **validate**: child names fit DNS labels; \`terminationGracePeriodSeconds\` is at least the brokers' \`controlled.shutdown.timeout.ms\` (from \`spec.config\`, broker default 30 s) plus 30 s for the final WAL flush; the desired children are computed (pure functions in \`operator/src/model\`).
2. **serviceAccount**: the brokers' ServiceAccount (with the pod-identity annotations, if any).
3. **rbac**: Role and RoleBinding that let the brokers elect their controller through a Lease.
4. **configMap**: the broker config file (\`broker.properties\`), rendered from the typed spec sections and \`spec.config\`; it sets \`controller.election=kubernetes-lease\` (Lease \`automq-<cluster id>-controller\` in the cluster's namespace; \`spec.config\` may set \`store\` instead).
5. **services**: bootstrap, headless and per-zone Services (and per-zone external ones); Services no longer in the spec are deleted.
6. **podDisruptionBudget**: maxUnavailable 1 over all brokers.
7. **deployments**: one Deployment per zone. Pod-template changes (config, image, resources) roll one zone at a time, and the Deployment strategy (maxUnavailable 1, maxSurge 0) rolls one pod at a time; scale-in removes one broker at a time and only when every zone is settled, which includes that no broker pod of the cluster is still terminating (a Deployment stops counting a pod in its status as soon as it starts terminating, so the operator counts the pods themselves); a zone removed from the spec drains to zero the same way before its Deployment is deleted. With \`externalScaling\` the Deployments' replicas are left to a per-zone autoscaler.
   Scale-in drains: the Deployment deletes a pod, the kubelet sends SIGTERM, and the broker runs its controlled shutdown (the cluster's controller moves its partitions to the other brokers, at most \`controlled.shutdown.timeout.ms\`, 30 s by default), flushes its WAL and exits 0; only once that pod is gone does the operator remove the next broker. The pod's \`terminationGracePeriodSeconds\` (default 120) bounds the whole stop; a broker killed earlier loses nothing acknowledged, but its partitions wait for fencing (the session timeout) instead of moving at once. Within one zone, a roll (template change) is the Deployment controller's: it may start the next pod while the replaced one is still terminating.
8. **observe**: replicas, ready replicas and bootstrap addresses per zone and listener.
9. **brokerLoad**: best effort: bytes in/out per second (rate of the partition byte counters between two scrapes at least 1 s apart; a reconcile sooner after the previous one keeps the last rate) and the number of partitions each broker leads now (its high-watermark gauge) from the brokers' Prometheus endpoints (ready pods only). A broker that does not answer is left out.
10. **activeController**: best effort, once a broker is ready: \`status.activeController\` is the node id that the Kafka admin API (DescribeCluster through the bootstrap Service) names as active controller; in a one-broker cluster that is the broker itself. Unset while unknown. The same answer gives \`status.brokers[].nodeId\`: the node id the cluster's controller allocated to the broker that advertises the pod's address (pod IP and internal port). A settled cluster is looked at again every 30 s; while a broker's metrics do not answer or the controller is unknown (a broker died, an election is running), every 5 s, so the status follows a controller failover within seconds.

Conditions: \`Ready\` (AllBrokersReady, BrokersNotReady, InvalidSpec, ReconcileFailed), \`Progressing\`
(RollingUpdate, Reconciling, ReconcileComplete, ReconciliationPaused), \`Degraded\` (AsExpected, or the
failure reason). Each carries \`observedGeneration\`; \`lastTransitionTime\` moves only when the status flips.
All three exist from the first reconcile on: before any step runs the operator writes them as
\`Unknown\` (reason \`Reconciling\`), so \`kubectl wait --for=condition=Ready\` and Argo CD never see a
missing condition; \`status.observedGeneration\` is set only once the steps have run.
Setting the annotation \`automq.io/pause-reconciliation: "true"\` freezes the children.

TableTopic: \`Ready\` and \`Degraded\` start as \`Unknown\` (\`Reconciling\`) the same way. The finalizer \`automq.io/topic-deletion\` is present only with \`deletionPolicy: Delete\`.
Reconcile describes the topic through the Kafka admin API, creates it, adds partitions (never removes:
a topic with more partitions than the spec gets \`PartitionsDecreased\`), and replaces the topic-level
configs with \`spec.config\` (keys removed from the spec go back to the cluster default). When two
TableTopics name the same topic in the same cluster, the older one wins (\`DuplicateTopic\`). On deletion
the topic is deleted first, unless the cluster is gone or being deleted, in which case the finalizer is
simply removed. When the cluster exists but the delete fails (cluster unreachable, admin error), it is
retried (every 30 s, \`Ready=False\` reason \`TopicDeletionFailed\` naming the time it gives up) until
the operator's \`--topic-deletion-timeout-seconds\` (default 300, chart value
\`topicDeletionTimeoutSeconds\`) have passed since the deletion request; then the finalizer is removed
anyway, with a Warning Event and condition \`TopicDeletionAbandoned\` saying the topic may remain in the
cluster. One attempt takes at most 30 s, so a TableTopic is released at most about 30 s after the timeout.
`;

export function renderOperatorDoc(): string {
  const parts = [
    '# Operator reference',
    '',
    '<!-- Generated by `npm run gen:crds` from operator/src/api (zod schemas). Do not edit by hand. -->',
    '',
    'Group `automq.io`, version `v1alpha1`. Install the CRDs from `crds/` (or the Helm chart `charts/automq-operator`).',
    '',
  ];
  for (const { crd } of buildCrds()) {
    const spec = crd.spec as { names: { kind: string; shortNames: string[] }; versions: { schema: { openAPIV3Schema: JsonSchema } }[] };
    const root = spec.versions[0]!.schema.openAPIV3Schema;
    parts.push(`## ${spec.names.kind} (short name \`${spec.names.shortNames.join(', ')}\`)`, '', String(root.description ?? ''), '');
    for (const part of ['spec', 'status'] as const) {
      const out: string[] = ['| Field | Type | Description |', '| --- | --- | --- |'];
      rows((root.properties as Record<string, JsonSchema>)[part]!, `${part}.`, out);
      parts.push(`### ${part}`, '', ...out, '');
    }
  }
  parts.push(STEPS);
  return parts.join('\n');
}
