/**
 * The ClusterController of the single-broker case (`automq standalone`): this broker is the only
 * live broker and leads every partition, so nothing can ever move. A reassignment to [this broker]
 * is already done when it is accepted (no reassignment is ever ongoing), any other broker id is
 * unknown, and every election finds the partition already led by its preferred (and only) replica.
 *
 * The answers are the ones Apache Kafka gives for the same situations, so tools such as
 * kafka-reassign-partitions.sh and kafka-leader-election.sh behave as against a one-broker Kafka.
 */
import { ErrorCode } from '../../protocol/errors.js';
import type { NodeInfo } from '../context.js';
import type { ClusterController, OngoingReassignment, PartitionRef, PartitionResult, ReassignmentRequest } from './controller-api.js';

/** What the standalone controller needs of the topic catalogue (TopicRegistry has it). */
export interface StandaloneControllerTopics {
  get(name: string): { readonly partitions: readonly unknown[] } | undefined;
  list(): readonly { readonly name: string; readonly partitions: readonly unknown[] }[];
}

/** `node` is read on every call, like the standalone ClusterView's (the node id is fixed, the port is not). */
export function standaloneController(args: { node: () => NodeInfo; topics: StandaloneControllerTopics }): ClusterController {
  const exists = (p: PartitionRef): boolean => {
    const t = args.topics.get(p.topic);
    return t !== undefined && Number.isInteger(p.partition) && p.partition >= 0 && p.partition < t.partitions.length;
  };
  const result = (p: PartitionRef, errorCode: number, errorMessage: string | null): PartitionResult => ({
    topic: p.topic,
    partition: p.partition,
    errorCode,
    errorMessage,
  });
  const unknown = (p: PartitionRef) => result(p, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic-partition ${p.topic}-${p.partition}`);

  function reassignOne(r: ReassignmentRequest): PartitionResult {
    if (!exists(r)) return unknown(r);
    const me = args.node().nodeId;
    if (r.replicas === null) {
      return result(r, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, `no reassignment of ${r.topic}-${r.partition} is in progress: a standalone broker completes every reassignment at once`);
    }
    if (r.replicas.length === 0) {
      return result(r, ErrorCode.INVALID_REPLICA_ASSIGNMENT, `the replica list of ${r.topic}-${r.partition} is empty: name the broker that should lead it (${me})`);
    }
    const seen = new Set<number>();
    for (const id of r.replicas) {
      if (seen.has(id)) {
        return result(r, ErrorCode.INVALID_REPLICA_ASSIGNMENT, `the replica list of ${r.topic}-${r.partition} names broker ${id} more than once`);
      }
      seen.add(id);
      if (id !== me) {
        return result(
          r,
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          `the replica list of ${r.topic}-${r.partition} includes broker ${id}, but no such broker is registered: this standalone cluster has only broker ${me}`,
        );
      }
    }
    // [me]: this broker already leads the partition, so the move is complete as soon as accepted.
    return result(r, 0, null);
  }

  function electOne(type: 0 | 1, p: PartitionRef): PartitionResult {
    if (!exists(p)) return unknown(p);
    const me = args.node().nodeId;
    // The only broker is both the preferred replica and a live leader: neither election has anything to do.
    const why = type === 0 ? `its preferred replica, broker ${me}, already leads it` : `it already has a live leader, broker ${me}`;
    return result(p, ErrorCode.ELECTION_NOT_NEEDED, `no election needed for ${p.topic}-${p.partition}: ${why}`);
  }

  return {
    reassign(requests) {
      return Promise.resolve(requests.map(reassignOne));
    },
    listReassignments(): OngoingReassignment[] {
      return [];
    },
    electLeaders(type, partitions) {
      const targets: PartitionRef[] =
        partitions !== undefined
          ? [...partitions]
          : args.topics.list().flatMap((t) => t.partitions.map((_, partition) => ({ topic: t.name, partition })));
      return Promise.resolve(targets.map((p) => electOne(type, p)));
    },
  };
}
