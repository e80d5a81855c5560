/**
 * What handlers may use of the broker. Each service is its own module; handlers never reach
 * into storage directly.
 */
import type { Logger } from 'winston';
import type { GroupCoordinator } from '../group/coordinator.js';
import type { ClusterView } from './cluster/cluster-view.js';
import type { ClusterController } from './cluster/controller-api.js';
import type { BrokerConfig } from './config/broker-config.js';
import type { AppendGate } from './log/append-gate.js';
import type { LogManager } from './log/log-manager.js';
import type { ProducerIdManager } from './producer/producer-id-manager.js';
import type { TopicService } from './topics/topic-service.js';
import type { BrokerMetrics } from '../metrics/broker-metrics.js';

export interface NodeInfo {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

/** Read-only view of topics, enough for other services (e.g. offset commit validation). */
export interface TopicView {
  /** Number of partitions of a topic, or undefined when it does not exist. */
  partitionCount(topic: string): number | undefined;
  /** Topic id (32 hex digits) of a topic, or undefined. */
  topicId(topic: string): string | undefined;
  /** Topic name of a topic id, or undefined. */
  topicName(topicId: string): string | undefined;
}

export interface BrokerContext {
  readonly clusterId: string;
  /** This broker. */
  readonly node: NodeInfo;
  /** Live brokers, the active controller and partition leadership (standalone: this broker leads everything). */
  readonly cluster: ClusterView;
  /**
   * Partition moves and leader elections; present only on the active controller (standalone: always).
   * The handlers of AlterPartitionReassignments, ListPartitionReassignments and ElectLeaders answer
   * NOT_CONTROLLER without it.
   */
  readonly controller?: ClusterController;
  readonly groups: GroupCoordinator;
  readonly topics: TopicView;
  readonly log: Logger;
  /** Topic administration (create/delete/partitions/configs) and the topic catalogue. */
  readonly topicAdmin: TopicService;
  /** Open partition logs. */
  readonly logs: LogManager;
  /** FIFO for produce appends with storage back-pressure. */
  readonly appendGate: AppendGate;
  /** Broker-level Kafka settings. */
  readonly config: BrokerConfig;
  readonly producerIds: ProducerIdManager;
  readonly metrics: BrokerMetrics;
  /** The API ranges this broker serves (built from the handler registry). */
  supportedApis(): readonly { apiKey: number; minVersion: number; maxVersion: number }[];
  /** Current time in ms (injected for tests). */
  now(): number;
}
