/**
 * What the Kafka layer knows of the cluster: the live brokers, the active controller, and who leads
 * each partition with which leader epoch. The controller decides these (see docs/architecture.md,
 * "Cluster"); every broker holds a replica of the decisions and serves only the partitions it leads.
 *
 * Standalone is the single-broker case: one broker, its own controller, leader of everything
 * (see `standaloneClusterView`).
 */
import type { NodeInfo } from '../context.js';

/** Who leads a partition. `leader` is -1 while the partition has no leader (a move or a failover in progress). */
export interface PartitionLeadership {
  readonly leader: number;
  /** Grows by one at every change of leader; clients see it as the partition's leader epoch. */
  readonly leaderEpoch: number;
}

/**
 * Partitions of group shards (consumer-group coordination): internal, hidden from clients, assigned
 * like topic partitions. Group g is coordinated by the leader of shard `groupShardOf(g)`.
 */
export const GROUP_SHARDS_TOPIC = '__consumer_offsets';

export interface ClusterView {
  /** This broker's node id (allocated by the controller). */
  localNodeId(): number;
  /** The active controller's node id, or -1 while none is known. */
  controllerId(): number;
  /** Live (registered, not fenced) brokers, sorted by node id. */
  brokers(): readonly NodeInfo[];
  broker(nodeId: number): NodeInfo | undefined;
  /** Leadership of a partition (topic partitions and GROUP_SHARDS_TOPIC shards alike); undefined if unknown. */
  leadership(topic: string, partition: number): PartitionLeadership | undefined;
  /** Called after every change of brokers, controller or leadership (batched: once per applied update). */
  onChange(listener: () => void): () => void;
}

/** True when this broker is the active controller (admin requests that change metadata are served only there). */
export function isActiveController(view: ClusterView): boolean {
  return view.controllerId() === view.localNodeId();
}

/** True when this broker leads the partition according to the view. */
export function leadsLocally(view: ClusterView, topic: string, partition: number): boolean {
  const l = view.leadership(topic, partition);
  return l !== undefined && l.leader >= 0 && l.leader === view.localNodeId();
}

/** What the standalone view needs of the topic catalogue: partition records and a change signal. */
export interface StandaloneTopics {
  get(name: string): { readonly partitions: readonly { readonly leaderEpoch: number }[] } | undefined;
  onChange(listener: () => void): () => void;
}

/**
 * The single-broker cluster: this broker is the only live broker, its own controller, and leads
 * every partition of every topic (leader epoch from the topic record) and every group shard
 * (epoch 0: shards never move in standalone). Fires onChange when the topic catalogue changes, so
 * partitions of created topics get opened and those of deleted topics released through the same
 * path as in cluster mode.
 *
 * `node` is read on every call because the listen port is known only once the server is bound.
 */
export function standaloneClusterView(args: {
  node: () => NodeInfo;
  topics: StandaloneTopics;
  /** Number of group shards; undefined means every shard index >= 0 exists. */
  groupShards?: number;
}): ClusterView {
  const listeners = new Set<() => void>();
  args.topics.onChange(() => {
    for (const l of [...listeners]) l();
  });
  return {
    localNodeId: () => args.node().nodeId,
    controllerId: () => args.node().nodeId,
    brokers: () => [args.node()],
    broker: (nodeId) => (nodeId === args.node().nodeId ? args.node() : undefined),
    leadership(topic, partition) {
      if (!Number.isInteger(partition) || partition < 0) return undefined;
      const me = args.node().nodeId;
      if (topic === GROUP_SHARDS_TOPIC) {
        return args.groupShards === undefined || partition < args.groupShards ? { leader: me, leaderEpoch: 0 } : undefined;
      }
      const p = args.topics.get(topic)?.partitions[partition];
      return p ? { leader: me, leaderEpoch: p.leaderEpoch } : undefined;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
