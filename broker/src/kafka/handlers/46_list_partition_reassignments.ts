/**
 * ListPartitionReassignments: v0. The ongoing moves the controller knows, grouped by topic:
 * every one for null Topics, else those of the named partitions. As in Kafka, partitions that do
 * not exist or are not moving are simply absent (no per-partition errors exist in this response).
 * Off the active controller: top-level NOT_CONTROLLER and no topics. TimeoutMs is not used: the
 * controller answers from memory at once.
 */
import { ErrorCode } from '../../protocol/errors.js';
import { ListPartitionReassignments } from '../../protocol/messages/46_list_partition_reassignments.js';
import type { OngoingReassignment, PartitionRef } from '../cluster/controller-api.js';
import { activeController, controllerFailure, partitionKey } from '../cluster/controller-requests.js';
import { defineHandler } from '../handler.js';

export default defineHandler(ListPartitionReassignments, { min: 0, max: 0 }, (req, _ctx, broker) => {
  const access = activeController(broker);
  if (!access.ok) return { throttleTimeMs: 0, errorCode: access.errorCode, errorMessage: access.errorMessage, topics: [] };

  let wanted: PartitionRef[] | undefined;
  if (req.topics !== null) {
    const seen = new Set<string>();
    wanted = [];
    for (const t of req.topics) {
      for (const partition of t.partitionIndexes) {
        const k = partitionKey(t.name, partition);
        if (seen.has(k)) continue; // asking twice lists it once
        seen.add(k);
        wanted.push({ topic: t.name, partition });
      }
    }
  }

  let ongoing: OngoingReassignment[];
  try {
    ongoing = access.controller.listReassignments(wanted);
  } catch (err) {
    const failed = controllerFailure(err, 'listing reassignments');
    broker.log.warn('ListPartitionReassignments: controller call failed', { error: failed.errorMessage });
    return { throttleTimeMs: 0, ...failed, topics: [] };
  }

  const byTopic = new Map<string, { partitionIndex: number; replicas: number[]; addingReplicas: number[]; removingReplicas: number[] }[]>();
  for (const r of ongoing) {
    let list = byTopic.get(r.topic);
    if (!list) byTopic.set(r.topic, (list = []));
    list.push({ partitionIndex: r.partition, replicas: [...r.replicas], addingReplicas: [...r.addingReplicas], removingReplicas: [...r.removingReplicas] });
  }
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
  };
});
