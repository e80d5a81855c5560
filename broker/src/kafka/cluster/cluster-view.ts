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
