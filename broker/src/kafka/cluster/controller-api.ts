/**
 * What the admin handlers that move partitions need from the active controller (Kafka's
 * AlterPartitionReassignments, ListPartitionReassignments and ElectLeaders). Only the active
 * controller has one (`BrokerContext.controller`); elsewhere those requests answer NOT_CONTROLLER.
 *
 * A partition here has exactly one replica, its leader: data lives in the object store, so a
 * "reassignment" moves leadership, never bytes. A requested replica list means "lead on the first
 * live broker of this list"; the list is kept as the partition's target replicas while the move runs.
 */
export interface PartitionRef {
  readonly topic: string;
  readonly partition: number;
}

export interface ReassignmentRequest extends PartitionRef {
  /** Target replicas (the first live one leads); null cancels an ongoing reassignment. */
  readonly replicas: readonly number[] | null;
}

export interface PartitionResult extends PartitionRef {
  /** Kafka error code (0 = accepted / done). */
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

export interface OngoingReassignment extends PartitionRef {
  readonly replicas: readonly number[];
  readonly addingReplicas: readonly number[];
  readonly removingReplicas: readonly number[];
}

export interface ClusterController {
  /**
   * Starts moves (or cancels them); resolves once each is accepted, not completed: clients poll
   * ListPartitionReassignments, as with Kafka. Unknown topic/partition -> UNKNOWN_TOPIC_OR_PARTITION,
   * unknown or dead broker -> INVALID_REPLICA_ASSIGNMENT, empty list -> INVALID_REPLICA_ASSIGNMENT,
   * cancel without one ongoing -> NO_REASSIGNMENT_IN_PROGRESS.
   */
  reassign(requests: readonly ReassignmentRequest[]): Promise<PartitionResult[]>;
  /** Ongoing moves; `partitions` undefined = all. */
  listReassignments(partitions?: readonly PartitionRef[]): OngoingReassignment[];
  /**
   * Leader election: PREFERRED (0) moves the leader to the first live broker of the partition's
   * target replicas (ELECTION_NOT_NEEDED when it already leads), UNCLEAN (1) gives a partition with
   * no live leader one at once. `partitions` undefined = all partitions.
   */
  electLeaders(type: 0 | 1, partitions?: readonly PartitionRef[]): Promise<PartitionResult[]>;
}
