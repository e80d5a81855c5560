/**
 * DescribeLogDirs: v0-4. This broker has no log directories: partition data lives in the object
 * store, and the data dir holds nothing a partition needs. So the answer is an empty list of log
 * dirs, which is what a replica "in no particular dir" looks like to clients.
 *
 * Why serve it at all: kafka-reassign-partitions.sh (Kafka 3.x/4.x) describes the replicas' log dirs
 * before --generate and --execute and stops on UNSUPPORTED_VERSION. With no dirs reported it writes
 * "log_dirs": ["any"] everywhere, so neither the proposal nor the rollback JSON it prints asks for
 * AlterReplicaLogDirs, which this broker does not serve.
 */
import { DescribeLogDirs } from '../../protocol/messages/35_describe_log_dirs.js';
import { defineHandler } from '../handler.js';

export default defineHandler(DescribeLogDirs, { min: 0, max: 4 }, () => ({ throttleTimeMs: 0, errorCode: 0, results: [] }));
