/**
 * How handlers decide whether this broker serves a partition, and what they answer when it does
 * not: NOT_LEADER_OR_FOLLOWER with the leader the ClusterView knows (clients redirect on it
 * without a metadata round trip where the response version carries it), UNKNOWN/FENCED_LEADER_EPOCH
 * for a client epoch newer/older than ours, NOT_CONTROLLER for metadata changes off the controller.
 */
import { ErrorCode } from '../../protocol/errors.js';
import type { BrokerContext, NodeInfo } from '../context.js';
import type { PartitionLog } from '../log/partition-log.js';
import type { TopicRecord } from '../topics/topic-registry.js';
import { isActiveController, type ClusterView } from './cluster-view.js';

export interface LeaderHint {
  leaderId: number;
  leaderEpoch: number;
}

export type PartitionAccess =
  | { ok: true; topic: TopicRecord; log: PartitionLog }
  | { ok: false; errorCode: number; errorMessage: string; currentLeader?: LeaderHint };

/**
 * The open log of a partition this broker leads, or the error to answer: UNKNOWN_TOPIC_OR_PARTITION
 * for a partition that does not exist, NOT_LEADER_OR_FOLLOWER (with the leader hint) when another
 * broker leads it, no broker does, or this broker has not finished opening it (or is releasing it).
 */
export function servedPartition(broker: BrokerContext, topicName: string, partition: number): PartitionAccess {
  const topic = broker.topicAdmin.registry.get(topicName);
  if (!topic || !Number.isInteger(partition) || partition < 0 || partition >= topic.partitions.length) {
    return { ok: false, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `unknown topic-partition ${topicName}-${partition}` };
  }
  const view = broker.cluster;
  const l = view.leadership(topicName, partition);
  const log = broker.logs.get(topicName, partition);
  if (log && l && l.leader === view.localNodeId() && l.leaderEpoch === log.leaderEpoch) return { ok: true, topic, log };
  const currentLeader = { leaderId: l?.leader ?? -1, leaderEpoch: l?.leaderEpoch ?? -1 };
  const where =
    currentLeader.leaderId < 0
      ? 'it has no leader right now'
      : currentLeader.leaderId === view.localNodeId()
        ? `this broker is still opening it at leader epoch ${currentLeader.leaderEpoch}`
        : `broker ${currentLeader.leaderId} leads it`;
  return {
    ok: false,
    errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
    errorMessage: `this broker does not serve ${topicName}-${partition}: ${where}; refresh metadata`,
    currentLeader,
  };
}

/**
 * Checks a request's CurrentLeaderEpoch (-1: the client does not know it) against the epoch this
 * broker leads the partition at, as Kafka does: newer than ours -> UNKNOWN_LEADER_EPOCH (we have
 * not caught up yet), older -> FENCED_LEADER_EPOCH (the client's metadata is stale).
 */
export function leaderEpochError(requested: number, log: PartitionLog): { errorCode: number; errorMessage: string } | undefined {
  if (requested < 0 || requested === log.leaderEpoch) return undefined;
  if (requested > log.leaderEpoch) {
    return { errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH, errorMessage: `leader epoch ${requested} is newer than this broker's ${log.leaderEpoch}` };
  }
  return { errorCode: ErrorCode.FENCED_LEADER_EPOCH, errorMessage: `leader epoch ${requested} is older than the current ${log.leaderEpoch}: refresh metadata` };
}

/** The endpoints of the leaders named in hints, for the NodeEndpoints field of Produce/Fetch responses. */
export function leaderEndpoints(view: ClusterView, hints: readonly (LeaderHint | undefined)[]): NodeInfo[] {
  const ids = new Set<number>();
  for (const h of hints) if (h && h.leaderId >= 0) ids.add(h.leaderId);
  return [...ids]
    .sort((a, b) => a - b)
    .map((id) => view.broker(id))
    .filter((n): n is NodeInfo => n !== undefined);
}

/**
 * The error every resource of a metadata-changing admin request gets off the active controller, or
 * undefined on it. Every handler of such a request starts with it: CreateTopics, DeleteTopics,
 * CreatePartitions, AlterConfigs, IncrementalAlterConfigs, and ElectLeaders,
 * AlterPartitionReassignments, ListPartitionReassignments when they are served.
 */
export function notControllerError(view: ClusterView): { errorCode: number; errorMessage: string } | undefined {
  if (isActiveController(view)) return undefined;
  const c = view.controllerId();
  return {
    errorCode: ErrorCode.NOT_CONTROLLER,
    errorMessage: c < 0 ? 'no active controller right now: retry later' : `broker ${c} is the active controller: send metadata changes there`,
  };
}

/**
 * Leadership of a partition as Metadata and DescribeTopicPartitions report it: the leader, its
 * epoch, replicas = ISR = [leader] (the object store replicates, not brokers), or
 * LEADER_NOT_AVAILABLE with no leader and empty lists while no live broker leads it (and while
 * this broker is still opening a partition it leads).
 */
export function describedLeadership(broker: BrokerContext, topic: string, partition: number, fallbackEpoch: number) {
  const view = broker.cluster;
  const l = view.leadership(topic, partition);
  const epoch = l?.leaderEpoch ?? fallbackEpoch;
  if (!l || l.leader < 0 || view.broker(l.leader) === undefined) {
    return { errorCode: ErrorCode.LEADER_NOT_AVAILABLE, leaderId: -1, leaderEpoch: epoch, replicaNodes: [] as number[], isrNodes: [] as number[] };
  }
  const opening = l.leader === view.localNodeId() && broker.logs.get(topic, partition) === undefined;
  return {
    errorCode: opening ? ErrorCode.LEADER_NOT_AVAILABLE : 0,
    leaderId: l.leader,
    leaderEpoch: epoch,
    replicaNodes: [l.leader],
    isrNodes: [l.leader],
  };
}
