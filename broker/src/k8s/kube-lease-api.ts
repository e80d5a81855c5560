/**
 * LeaseApi over the Kubernetes API server with @kubernetes/client-node (loaded lazily: brokers
 * that elect through the object store never load the Kubernetes client). The kubeconfig comes from
 * KUBECONFIG / ~/.kube/config, or the pod's service account when running in a pod.
 */
import { readFile } from 'node:fs/promises';
import type { LeaseApi, LeaseRecord } from './lease-elector.js';
import { LeaseConflictError } from './lease-elector.js';
import { withTimeout } from '../util/with-timeout.js';

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** The namespace to keep a Lease in: configured, else POD_NAMESPACE, else the pod's service account namespace. */
export async function leaseNamespace(configured: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  if (configured !== undefined && configured !== '') return configured;
  const fromEnv = env['POD_NAMESPACE'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const fromFile = await readFile(SERVICE_ACCOUNT_NAMESPACE, 'utf8').then(
    (s) => s.trim(),
    () => '',
  );
  if (fromFile !== '') return fromFile;
  throw new Error('no namespace for the controller Lease: set controller.lease.namespace or the POD_NAMESPACE environment variable');
}

function toRecord(spec: Record<string, unknown> | undefined): LeaseRecord {
  const s = spec ?? {};
  const time = (v: unknown): string | undefined => (v instanceof Date ? v.toISOString() : typeof v === 'string' ? v : undefined);
  return {
    holderIdentity: typeof s['holderIdentity'] === 'string' ? s['holderIdentity'] : undefined,
    leaseDurationSeconds: typeof s['leaseDurationSeconds'] === 'number' ? s['leaseDurationSeconds'] : undefined,
    acquireTime: time(s['acquireTime']),
    renewTime: time(s['renewTime']),
    leaseTransitions: typeof s['leaseTransitions'] === 'number' ? s['leaseTransitions'] : undefined,
  };
}

/** The API server parses MicroTime with exactly six fractional digits: client-node's V1MicroTime writes them. */
function toSpec(r: LeaseRecord, MicroTime: new (v: string) => Date): Record<string, unknown> {
  return {
    holderIdentity: r.holderIdentity,
    leaseDurationSeconds: r.leaseDurationSeconds,
    acquireTime: r.acquireTime === undefined ? undefined : new MicroTime(r.acquireTime),
    renewTime: r.renewTime === undefined ? undefined : new MicroTime(r.renewTime),
    leaseTransitions: r.leaseTransitions,
  };
}

/** A LeaseApi for `namespace/name`, authenticated by the default kubeconfig. */
export async function kubeLeaseApi(namespace: string, name: string, requestTimeoutMs = 5000): Promise<LeaseApi> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  if (kc.getCurrentCluster() === null) throw new Error('no Kubernetes API server configured for the controller Lease: set KUBECONFIG or run in a pod with a service account');
  const api = kc.makeApiClient(k8s.CoordinationV1Api);
  const where = `Lease ${namespace}/${name}`;
  // A hung API server must not hang the election loop: each call is bounded.
  const bounded = <T>(what: string, call: Promise<T>): Promise<T> => withTimeout(call, requestTimeoutMs, `${what} ${where}`);
  const status = (err: unknown): number | undefined => (err instanceof k8s.ApiException ? err.code : undefined);
  const explain = (what: string, err: unknown): Error => {
    const code = status(err);
    if (code === 403) return new Error(`${what} ${where}: forbidden (HTTP 403): the broker's service account needs get/create/update on leases in ${namespace}`);
    return new Error(`${what} ${where} failed${code === undefined ? '' : ` (HTTP ${code})`}: ${err instanceof Error ? err.message : String(err)}`);
  };
  return {
    async read() {
      try {
        const lease = await bounded('read', api.readNamespacedLease({ name, namespace }));
        return { record: toRecord(lease.spec as Record<string, unknown> | undefined), version: lease.metadata?.resourceVersion ?? '' };
      } catch (err) {
        if (status(err) === 404) return undefined;
        throw explain('read', err);
      }
    },
    async create(record) {
      try {
        await bounded('create', api.createNamespacedLease({ namespace, body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: toSpec(record, k8s.V1MicroTime) } }));
      } catch (err) {
        if (status(err) === 409) throw new LeaseConflictError(`${where} was created by another candidate`);
        throw explain('create', err);
      }
    },
    async update(record, version) {
      try {
        await bounded(
          'update',
          api.replaceNamespacedLease({
            name,
            namespace,
            body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace, resourceVersion: version }, spec: toSpec(record, k8s.V1MicroTime) },
          }),
        );
      } catch (err) {
        if (status(err) === 409) throw new LeaseConflictError(`${where} changed since version ${version}`);
        throw explain('update', err);
      }
    },
  };
}
