// Kubernetes Events for notable transitions (core/v1 Events, shown by `kubectl describe`).
import { randomBytes } from 'node:crypto';
import type { KubeClient, ObjectLike } from '../k8s/client.js';
import type { Logger } from '../k8s/informer.js';

export interface EventRecorder {
  record(obj: ObjectLike, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export class KubeEventRecorder implements EventRecorder {
  constructor(
    private readonly client: KubeClient,
    private readonly component: string,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  record(obj: ObjectLike, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const md = obj.metadata ?? {};
    const ts = this.now().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${md.name ?? 'object'}.${randomBytes(8).toString('hex')}`, namespace: md.namespace ?? 'default' },
      involvedObject: { apiVersion: obj.apiVersion, kind: obj.kind, name: md.name, namespace: md.namespace, uid: md['uid'], resourceVersion: md.resourceVersion },
      reason,
      message: message.slice(0, 1024),
      type,
      source: { component: this.component },
      reportingComponent: this.component,
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
    };
    // Events are best effort: a failure to record one must not fail the reconcile.
    this.client.create(event).catch((err: unknown) => this.logger.debug(`event ${reason} not recorded: ${err instanceof Error ? err.message : String(err)}`));
  }
}

export const noEvents: EventRecorder = { record() {} };
