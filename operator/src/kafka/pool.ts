// One Kafka admin connection per cluster bootstrap address, shared by the cluster controller
// (active controller) and the TableTopic controller (topics), so a cluster costs one connection.
import type { AutoMQCluster } from '../api/automqcluster.js';
import { serviceAddress } from '../model/cluster.js';
import { names } from '../model/names.js';
import type { TopicAdmin, TopicAdminFactory } from './admin.js';

/** Where the operator reaches a cluster's Kafka API: an override (tests, out-of-cluster runs) or the bootstrap Service. */
export function clusterBootstrap(cluster: AutoMQCluster, override?: (c: AutoMQCluster) => string[] | undefined): string[] {
  return (
    override?.(cluster) ?? [serviceAddress(names.bootstrapService(cluster.metadata.name ?? ''), cluster.metadata.namespace ?? 'default', cluster.spec.listeners.internal.port)]
  );
}

const CLOSE_TIMEOUT_MS = 5000;

/** Closes an admin client, giving up (leaving it to be collected) after `ms`; never rejects. */
async function closeWithin(a: TopicAdmin, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([a.close().catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

export class AdminPool {
  private readonly admins = new Map<string, TopicAdmin>();

  constructor(private readonly factory: TopicAdminFactory) {}

  get(bootstrap: string[]): TopicAdmin {
    const key = bootstrap.join(',');
    let a = this.admins.get(key);
    if (!a) {
      a = this.factory(bootstrap);
      this.admins.set(key, a);
    }
    return a;
  }

  /**
   * Forgets a connection after an error, so the next call reconnects (e.g. after pods moved). The
   * old client is closed in the background: closing one whose broker died can wait for its
   * in-flight requests, and a reconcile must not hang on that (the work queue would never run
   * this cluster's key again).
   */
  async drop(bootstrap: string[]): Promise<void> {
    const key = bootstrap.join(',');
    const a = this.admins.get(key);
    if (!a) return;
    this.admins.delete(key);
    void closeWithin(a, CLOSE_TIMEOUT_MS);
  }

  async close(): Promise<void> {
    const all = [...this.admins.values()];
    this.admins.clear();
    await Promise.all(all.map((a) => closeWithin(a, CLOSE_TIMEOUT_MS)));
  }
}
