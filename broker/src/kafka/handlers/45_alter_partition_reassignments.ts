/**
 * AlterPartitionReassignments: v0 (what the 4.0 schemas define; Kafka 4.1+ clients fall back to it
 * unless they ask to forbid replication-factor changes). A partition has one replica, its leader,
 * so a reassignment moves leadership to the first live broker of the list (see
 * kafka/cluster/controller-api.ts); null replicas cancel an ongoing move.
 *
 * Answers, per partition: what the controller decided (0 once the move is accepted, not finished:
 * clients poll ListPartitionReassignments), or, decided here before asking it: INVALID_REQUEST for
 * a partition named more than once (which of two lists would win is undefined), and
 * INVALID_REPLICA_ASSIGNMENT for an empty list, a negative broker id or a broker named twice.
 * Off the active controller: NOT_CONTROLLER at the top level (Kafka's admin client retries on it)
 * and for every partition. A controller that does not accept within TimeoutMs: REQUEST_TIMED_OUT
 * for the partitions it was asked about (the move may still happen).
 */
import { ErrorCode } from '../../protocol/errors.js';
import { AlterPartitionReassignments } from '../../protocol/messages/45_alter_partition_reassignments.js';
import type { ReassignmentRequest } from '../cluster/controller-api.js';
import { activeController, controllerFailure, partitionKey, withinTimeout, type ErrorAnswer } from '../cluster/controller-requests.js';
import { defineHandler } from '../handler.js';

/** Why a replica list is refused before the controller sees it, or undefined when it is well formed. */
function replicaListError(topic: string, partition: number, replicas: readonly number[]): string | undefined {
  if (replicas.length === 0) return `the replica list of ${topic}-${partition} is empty: name at least one broker (the first live one leads)`;
  const seen = new Set<number>();
  for (const id of replicas) {
    if (id < 0) return `the replica list of ${topic}-${partition} contains ${id}: broker ids are >= 0`;
    if (seen.has(id)) return `the replica list of ${topic}-${partition} names broker ${id} more than once`;
    seen.add(id);
  }
  return undefined;
}

export default defineHandler(AlterPartitionReassignments, { min: 0, max: 0 }, async (req, _ctx, broker) => {
  const access = activeController(broker);
  if (!access.ok) {
    return {
      throttleTimeMs: 0,
      errorCode: access.errorCode,
      errorMessage: access.errorMessage,
      responses: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: access.errorCode, errorMessage: access.errorMessage })),
      })),
    };
  }

  const occurrences = new Map<string, number>();
  for (const t of req.topics) {
    for (const p of t.partitions) {
      const k = partitionKey(t.name, p.partitionIndex);
      occurrences.set(k, (occurrences.get(k) ?? 0) + 1);
    }
  }
  const answers = new Map<string, ErrorAnswer | { errorCode: number; errorMessage: string | null }>();
  const pending: ReassignmentRequest[] = [];
  for (const t of req.topics) {
    for (const p of t.partitions) {
      const k = partitionKey(t.name, p.partitionIndex);
      if ((occurrences.get(k) ?? 0) > 1) {
        answers.set(k, { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `partition ${t.name}-${p.partitionIndex} appears more than once in the request` });
        continue;
      }
      const invalid = p.replicas === null ? undefined : replicaListError(t.name, p.partitionIndex, p.replicas);
      if (invalid) {
        answers.set(k, { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: invalid });
        continue;
      }
      pending.push({ topic: t.name, partition: p.partitionIndex, replicas: p.replicas });
    }
  }

  if (pending.length > 0) {
    let failed: ErrorAnswer | undefined;
    try {
      const outcome = await withinTimeout(access.controller.reassign(pending), req.timeoutMs);
      if (outcome.done) {
        // Only results for what was asked: a stray one must not overwrite an answer decided here.
        const asked = new Set(pending.map((r) => partitionKey(r.topic, r.partition)));
        for (const r of outcome.value) {
          const k = partitionKey(r.topic, r.partition);
          if (asked.has(k)) answers.set(k, { errorCode: r.errorCode, errorMessage: r.errorMessage });
        }
      } else {
        failed = {
          errorCode: ErrorCode.REQUEST_TIMED_OUT,
          errorMessage: `the controller did not accept the reassignment within ${req.timeoutMs} ms; it may still be applied: check with ListPartitionReassignments`,
        };
      }
    } catch (err) {
      failed = controllerFailure(err, 'the reassignment');
      broker.log.warn('AlterPartitionReassignments: controller call failed', { error: failed.errorMessage });
    }
    for (const r of pending) {
      const k = partitionKey(r.topic, r.partition);
      if (failed) answers.set(k, failed);
      else if (!answers.has(k)) {
        answers.set(k, { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: `the controller returned no result for ${r.topic}-${r.partition}` });
      }
    }
  }

  return {
    throttleTimeMs: 0,
    errorCode: 0,
    errorMessage: null,
    responses: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, ...answers.get(partitionKey(t.name, p.partitionIndex))! })),
    })),
  };
});
