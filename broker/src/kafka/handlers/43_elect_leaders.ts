/**
 * ElectLeaders: v0-2 (v0 is always a preferred election; v1 adds ElectionType and the top-level
 * error code). PREFERRED moves a partition's leader to the first live broker of its target
 * replicas, UNCLEAN gives a partition without a live leader one (kafka/cluster/controller-api.ts).
 *
 * Answers, per partition, what the controller decided: 0 (elected), ELECTION_NOT_NEEDED,
 * UNKNOWN_TOPIC_OR_PARTITION, ... For null TopicPartitions (every partition) the partitions that
 * needed no election are left out, as Kafka does. A partition named twice gets one result.
 * Whole-request failures go to every named partition and, from v1, to the top-level error code:
 * NOT_CONTROLLER off the active controller, INVALID_REQUEST for an unknown election type,
 * REQUEST_TIMED_OUT when the controller has not decided within TimeoutMs (elections it started
 * may still complete).
 */
import { ErrorCode } from '../../protocol/errors.js';
import { ElectLeaders } from '../../protocol/messages/43_elect_leaders.js';
import type { PartitionRef, PartitionResult } from '../cluster/controller-api.js';
import { activeController, controllerFailure, partitionKey, withinTimeout, type ErrorAnswer } from '../cluster/controller-requests.js';
import { defineHandler } from '../handler.js';

type ResultTopic = { topic: string; partitionResult: { partitionId: number; errorCode: number; errorMessage: string | null }[] };

export default defineHandler(ElectLeaders, { min: 0, max: 2 }, async (req, ctx, broker) => {
  // Named partitions, topics merged and partitions deduplicated, in request order.
  let named: Map<string, number[]> | undefined;
  if (req.topicPartitions !== null) {
    named = new Map();
    for (const t of req.topicPartitions) {
      let list = named.get(t.topic);
      if (!list) named.set(t.topic, (list = []));
      for (const p of t.partitions) if (!list.includes(p)) list.push(p);
    }
  }
  const refs: PartitionRef[] | undefined = named && [...named].flatMap(([topic, ps]) => ps.map((partition) => ({ topic, partition })));

  const failWhole = (e: ErrorAnswer) => ({
    throttleTimeMs: 0,
    errorCode: ctx.apiVersion >= 1 ? e.errorCode : 0,
    replicaElectionResults: named
      ? [...named].map(([topic, ps]) => ({ topic, partitionResult: ps.map((partitionId) => ({ partitionId, ...e })) }))
      : [],
  });

  const access = activeController(broker);
  if (!access.ok) return failWhole(access);
  const type = ctx.apiVersion >= 1 ? req.electionType : 0;
  if (type !== 0 && type !== 1) {
    return failWhole({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `unknown election type ${type}: 0 is preferred, 1 is unclean` });
  }

  let results: PartitionResult[];
  try {
    const outcome = await withinTimeout(access.controller.electLeaders(type, refs), req.timeoutMs);
    if (!outcome.done) {
      return failWhole({
        errorCode: ErrorCode.REQUEST_TIMED_OUT,
        errorMessage: `the controller did not finish the elections within ${req.timeoutMs} ms; they may still complete: check the leaders with Metadata`,
      });
    }
    results = outcome.value;
  } catch (err) {
    const failed = controllerFailure(err, 'the leader election');
    broker.log.warn('ElectLeaders: controller call failed', { error: failed.errorMessage });
    return failWhole(failed);
  }

  const byKey = new Map(results.map((r) => [partitionKey(r.topic, r.partition), r]));
  let replicaElectionResults: ResultTopic[];
  if (named) {
    replicaElectionResults = [...named].map(([topic, ps]) => ({
      topic,
      partitionResult: ps.map((partitionId) => {
        const r = byKey.get(partitionKey(topic, partitionId));
        return r
          ? { partitionId, errorCode: r.errorCode, errorMessage: r.errorMessage }
          : { partitionId, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: `the controller returned no result for ${topic}-${partitionId}` };
      }),
    }));
  } else {
    // Every partition: report only those where something happened or failed (Kafka omits the rest).
    const byTopic = new Map<string, ResultTopic>();
    for (const r of results) {
      if (r.errorCode === ErrorCode.ELECTION_NOT_NEEDED) continue;
      let t = byTopic.get(r.topic);
      if (!t) byTopic.set(r.topic, (t = { topic: r.topic, partitionResult: [] }));
      t.partitionResult.push({ partitionId: r.partition, errorCode: r.errorCode, errorMessage: r.errorMessage });
    }
    replicaElectionResults = [...byTopic.values()];
  }
  return { throttleTimeMs: 0, errorCode: 0, replicaElectionResults };
});
