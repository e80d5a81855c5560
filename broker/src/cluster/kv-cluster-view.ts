/**
 * The ClusterView of a cluster member: the controller's decisions as they reach this broker's
 * metadata replica (KV `brokers/`, `leaders/`, `cluster/controller`). Parsed once per change, so
 * lookups on the request path are map reads.
 */
import type { KvStore } from '../s3stream/api.js';
import type { ClusterView, PartitionLeadership } from '../kafka/cluster/cluster-view.js';
import type { NodeInfo } from '../kafka/context.js';
import type { Logger } from 'winston';
import { brokerRecordSchema, controllerInfoSchema, KV, leadersSchema } from './protocol.js';
import type { BrokerRecord, ControllerInfo, Leaders } from './protocol.js';

function parse<T>(kv: KvStore, key: string, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }, log: Logger): T | undefined {
  const raw = kv.get(key);
  if (raw === undefined) return undefined;
  try {
    const r = schema.safeParse(JSON.parse(raw.toString('utf8')));
    if (r.success) return r.data;
  } catch {
    // fall through
  }
  log.error('unreadable cluster metadata entry ignored', { key });
  return undefined;
}

export class KvClusterView implements ClusterView {
  private brokersById = new Map<number, BrokerRecord>();
  private leaders = new Map<string, Leaders>();
  private controller: ControllerInfo | undefined;
  private readonly listeners = new Set<() => void>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly kv: KvStore,
    private readonly localId: number,
    private readonly log: Logger,
  ) {
    this.reload(undefined);
    this.unsubscribe = kv.onChange((keys) => this.reload(keys));
  }

  private reload(keys: readonly string[] | undefined): void {
    const touches = (prefix: string): boolean => keys === undefined || keys.some((k) => k.startsWith(prefix));
    let changed = false;
    if (touches(KV.brokerPrefix)) {
      const next = new Map<number, BrokerRecord>();
      for (const key of this.kv.list(KV.brokerPrefix)) {
        const b = parse(this.kv, key, brokerRecordSchema, this.log);
        if (b !== undefined) next.set(b.nodeId, b);
      }
      this.brokersById = next;
      changed = true;
    }
    if (touches(KV.leadersPrefix)) {
      const next = new Map<string, Leaders>();
      for (const key of this.kv.list(KV.leadersPrefix)) {
        const l = parse(this.kv, key, leadersSchema, this.log);
        if (l !== undefined) next.set(key.slice(KV.leadersPrefix.length), l);
      }
      this.leaders = next;
      changed = true;
    }
    if (touches(KV.controller)) {
      this.controller = parse(this.kv, KV.controller, controllerInfoSchema, this.log);
      changed = true;
    }
    if (!changed) return;
    for (const l of [...this.listeners]) {
      try {
        l();
      } catch (err) {
        this.log.error('cluster view listener failed', { error: String(err) });
      }
    }
  }

  localNodeId(): number {
    return this.localId;
  }

  controllerId(): number {
    return this.controller?.nodeId ?? -1;
  }

  controllerInfo(): ControllerInfo | undefined {
    return this.controller;
  }

  /** Brokers that may lead partitions and serve clients (alive or draining). */
  brokers(): readonly NodeInfo[] {
    return [...this.brokersById.values()]
      .filter((b) => b.state === 'alive' || b.state === 'draining')
      .sort((a, b) => a.nodeId - b.nodeId)
      .map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack }));
  }

  broker(nodeId: number): NodeInfo | undefined {
    const b = this.brokersById.get(nodeId);
    return b === undefined || (b.state !== 'alive' && b.state !== 'draining') ? undefined : { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack };
  }

  leadership(topic: string, partition: number): PartitionLeadership | undefined {
    const l = this.leaders.get(topic)?.[partition];
    if (l === undefined) return undefined;
    // A leader that is no longer live serves nothing: clients see "no leader" until the controller moves it.
    const live = l.leader >= 0 && this.broker(l.leader) !== undefined;
    return { leader: live ? l.leader : -1, leaderEpoch: l.epoch };
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.unsubscribe();
    this.listeners.clear();
  }
}
