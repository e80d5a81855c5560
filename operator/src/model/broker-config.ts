// The broker config file the operator renders into the cluster ConfigMap (properties format).
// Typed spec sections map to broker config keys here; spec.config is applied last so users can
// override anything.
import { createHash } from 'node:crypto';
import type { ClusterSpec } from '../api/automqcluster.js';

export const CONFIG_FILE = 'broker.properties';

export function quantityToBytes(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^([0-9.]+)([KMGTPE]i?|k)?$/.exec(q.trim());
  if (!m) throw new Error(`cannot convert quantity "${q}" to bytes: use a plain number or a binary suffix (Ki, Mi, Gi)`);
  const n = Number(m[1]);
  const unit = m[2] ?? '';
  const pow: Record<string, number> = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
  return Math.round(n * (pow[unit] ?? 1));
}

/** WAL and cache settings are broker CLI flags (`automq broker --wal-flush-bytes ...`). */
export function walAndCacheFlags(spec: ClusterSpec): string[] {
  const out: string[] = [];
  if (spec.wal?.uploadIntervalMs !== undefined) out.push('--wal-flush-interval-ms', String(spec.wal.uploadIntervalMs));
  if (spec.wal?.uploadThreshold !== undefined) out.push('--wal-flush-bytes', String(quantityToBytes(spec.wal.uploadThreshold)));
  if (spec.wal?.cacheSize !== undefined) out.push('--log-cache-bytes', String(quantityToBytes(spec.wal.cacheSize)));
  if (spec.cache?.blockCacheSize !== undefined) out.push('--block-cache-bytes', String(quantityToBytes(spec.cache.blockCacheSize)));
  return out;
}

/** Broker configs derived from the typed spec sections, then spec.config on top. */
export function brokerConfig(spec: ClusterSpec): Map<string, string> {
  const out = new Map<string, string>();
  const set = (k: string, v: string | number | boolean | undefined) => {
    if (v !== undefined) out.set(k, String(v));
  };
  // In Kubernetes the brokers elect their controller through a Lease (named after the cluster id,
  // in the pod's namespace; the Role rendered next to it allows exactly that).
  set('controller.election', 'kubernetes-lease');
  if (spec.autoBalancer) {
    set('autobalancer.controller.enable', spec.autoBalancer.enabled);
    if (spec.autoBalancer.goals) set('autobalancer.controller.goals', spec.autoBalancer.goals.join(','));
    set('autobalancer.controller.anomaly.detect.interval.ms', spec.autoBalancer.detectIntervalMs);
  }
  const tt = spec.tableTopic;
  if (tt?.catalog) {
    set('automq.table.topic.catalog.type', tt.catalog.type);
    set('automq.table.topic.catalog.uri', tt.catalog.uri);
    set('automq.table.topic.catalog.warehouse', tt.catalog.warehouse);
    for (const [k, v] of Object.entries(tt.catalog.properties ?? {})) set(`automq.table.topic.catalog.${k}`, v);
  }
  set('automq.table.topic.schema.registry.url', tt?.schemaRegistryUrl);
  for (const [k, v] of Object.entries(spec.config ?? {})) set(k, v);
  return out;
}

/** The broker's default controlled.shutdown.timeout.ms (broker/src/kafka/config/broker-config.ts). */
export const DEFAULT_CONTROLLED_SHUTDOWN_TIMEOUT_MS = 30_000;
/**
 * Time a stopping broker needs after its controlled shutdown: the last WAL upload, committing its
 * WAL objects to the controller, closing streams and leaving the cluster (a few object-store round
 * trips; the broker gives its whole stop at most 60 s before it exits on its own).
 */
export const SHUTDOWN_FLUSH_MARGIN_SECONDS = 30;

/**
 * The kubelet SIGKILLs a pod terminationGracePeriodSeconds after SIGTERM. A broker killed before
 * its controlled shutdown ends leaves its partitions to be recovered by fencing (a session
 * timeout later, not a clean hand-over), so the grace period must cover the controlled shutdown
 * timeout plus the final flush. Returns an error message, or undefined when it does.
 */
export function checkGracePeriod(spec: ClusterSpec): string | undefined {
  const raw = spec.config?.['controlled.shutdown.timeout.ms'];
  const timeoutMs = raw === undefined ? DEFAULT_CONTROLLED_SHUTDOWN_TIMEOUT_MS : Number(raw);
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) return `spec.config controlled.shutdown.timeout.ms must be a non-negative number of milliseconds, got "${raw}"`;
  const needed = Math.ceil(timeoutMs / 1000) + SHUTDOWN_FLUSH_MARGIN_SECONDS;
  if (spec.terminationGracePeriodSeconds >= needed) return undefined;
  return (
    `spec.terminationGracePeriodSeconds (${spec.terminationGracePeriodSeconds}) must be at least ${needed}: controlled.shutdown.timeout.ms ` +
    `(${timeoutMs} ms${raw === undefined ? ', the broker default' : ''}) plus ${SHUTDOWN_FLUSH_MARGIN_SECONDS} s for the final WAL flush, ` +
    'or the kubelet kills brokers before they hand their partitions over; raise the grace period or lower controlled.shutdown.timeout.ms'
  );
}

function escapeProperty(s: string, isKey: boolean): string {
  let out = s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
  if (isKey) out = out.replace(/([=: #!])/g, '\\$1');
  else out = out.replace(/^ /, '\\ ');
  return out;
}

/** Java-properties text, keys sorted so the same spec always renders the same bytes. */
export function renderProperties(config: Map<string, string>): string {
  const keys = [...config.keys()].sort();
  return ['# Rendered by automq-operator from the AutoMQCluster spec. Do not edit: changes are overwritten.', ...keys.map((k) => `${escapeProperty(k, true)}=${escapeProperty(config.get(k)!, false)}`), ''].join('\n');
}

export function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
