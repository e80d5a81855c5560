/** The handler registry: every API this broker serves, one file each. ApiVersions is built from it. */
import type { Handler } from '../handler.js';
import produce from './00_produce.js';
import fetch from './01_fetch.js';
import listOffsets from './02_list_offsets.js';
import metadata from './03_metadata.js';
import offsetCommit from './08_offset_commit.js';
import offsetFetch from './09_offset_fetch.js';
import findCoordinator from './10_find_coordinator.js';
import joinGroup from './11_join_group.js';
import heartbeat from './12_heartbeat.js';
import leaveGroup from './13_leave_group.js';
import syncGroup from './14_sync_group.js';
import describeGroups from './15_describe_groups.js';
import listGroups from './16_list_groups.js';
import apiVersions from './18_api_versions.js';
import createTopics from './19_create_topics.js';
import deleteTopics from './20_delete_topics.js';
import deleteRecords from './21_delete_records.js';
import initProducerId from './22_init_producer_id.js';
import offsetForLeaderEpoch from './23_offset_for_leader_epoch.js';
import describeConfigs from './32_describe_configs.js';
import alterConfigs from './33_alter_configs.js';
import describeLogDirs from './35_describe_log_dirs.js';
import createPartitions from './37_create_partitions.js';
import deleteGroups from './42_delete_groups.js';
import electLeaders from './43_elect_leaders.js';
import incrementalAlterConfigs from './44_incremental_alter_configs.js';
import alterPartitionReassignments from './45_alter_partition_reassignments.js';
import listPartitionReassignments from './46_list_partition_reassignments.js';
import describeCluster from './60_describe_cluster.js';
import describeTopicPartitions from './75_describe_topic_partitions.js';

export const HANDLERS: readonly Handler[] = [
  produce,
  fetch,
  listOffsets,
  metadata,
  offsetCommit,
  offsetFetch,
  findCoordinator,
  joinGroup,
  heartbeat,
  leaveGroup,
  syncGroup,
  describeGroups,
  listGroups,
  apiVersions,
  createTopics,
  deleteTopics,
  deleteRecords,
  initProducerId,
  offsetForLeaderEpoch,
  describeConfigs,
  alterConfigs,
  describeLogDirs,
  createPartitions,
  deleteGroups,
  electLeaders,
  incrementalAlterConfigs,
  alterPartitionReassignments,
  listPartitionReassignments,
  describeCluster,
  describeTopicPartitions,
] as unknown as readonly Handler[];
