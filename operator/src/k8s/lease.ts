// The operator's Lease (one active replica) through its own REST client, for the election shared
// with the brokers (broker/src/k8s/lease-elector.ts).
import type { LeaseApi, LeaseRecord } from '../../../broker/src/k8s/lease-elector.js';
import { LeaseConflictError } from '../../../broker/src/k8s/lease-elector.js';
import type { KubeClient, ObjectLike } from './client.js';
import { isConflict, RESOURCES } from './client.js';

interface Lease extends ObjectLike {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseRecord;
}

export function kubeClientLeaseApi(client: KubeClient, namespace: string, name: string): LeaseApi {
  const body = (record: LeaseRecord, resourceVersion?: string): ObjectLike => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace, ...(resourceVersion === undefined ? {} : { resourceVersion }) },
    spec: record,
  });
  const conflictAs = (what: string) => (err: unknown) => {
    if (isConflict(err)) throw new LeaseConflictError(`Lease ${namespace}/${name}: ${what}`);
    throw err;
  };
  return {
    async read() {
      const lease = await client.get<Lease>(RESOURCES.Lease, namespace, name);
      if (lease === undefined) return undefined;
      return { record: lease.spec ?? {}, version: lease.metadata.resourceVersion ?? '' };
    },
    async create(record) {
      await client.create(body(record)).catch(conflictAs('created by another candidate'));
    },
    async update(record, version) {
      await client.replace(body(record, version)).catch(conflictAs(`changed since version ${version}`));
    },
  };
}
