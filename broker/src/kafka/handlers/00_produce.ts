/**
 * Produce: v3-11 (magic 2 record batches only).
 * Behaviour: batches are validated (CRC32C, size, record count) and appended as produced,
 * compression untouched; acks=1 and acks=-1 answer once the data is durable in the object store
 * (there are no replicas: the object store is the replication); acks=0 answers nothing.
 * Appends go through the broker's AppendGate: requests append one after another in arrival
 * order, each once the WAL has room, so pipelined requests keep their order and a slow object
 * store slows producers down instead of growing memory.
 * Only partitions this broker leads (and has open) are appended to; the others answer
 * NOT_LEADER_OR_FOLLOWER with the current leader and its endpoint (v10+). Produce requests carry no
 * leader epoch to check. A partition this broker was just given and is still opening is waited for
 * (bounded) instead of refused: clients pipeline produce requests, and refusing the first while
 * accepting the next once the open finished would look to an idempotent producer like a sequence
 * gap (librdkafka then fails fatally with OUT_OF_ORDER_SEQUENCE_NUMBER).
 */
import { ErrorCode } from '../../protocol/errors.js';
import { Produce } from '../../protocol/messages/00_produce.js';
import { splitBatches } from '../../protocol/record-batch.js';
import { leaderEndpoints, servedPartition, type LeaderHint } from '../cluster/leadership.js';
import { leadsLocally } from '../cluster/cluster-view.js';
import { topicNameProblem } from '../topics/topic-names.js';
import { defineHandler, NO_RESPONSE } from '../handler.js';

/**
 * How long a produce waits for a partition this broker is opening: most of the request's own
 * timeout (the client's patience), within these bounds. A move opens in ~0.3 s, but a failover
 * under load (stream open, producer-state replay of the dead leader's tail) took over 5 s in the
 * chaos test; a refusal then, with the next pipelined request accepted once the partition is open,
 * is exactly the sequence gap an idempotent producer cannot recover from.
 */
const OPENING_WAIT_MIN_MS = 1000;
const OPENING_WAIT_MAX_MS = 30_000;
/** Answer this long before the client's timeout, so a refusal reaches it as one. */
const OPENING_WAIT_MARGIN_MS = 1000;

interface PartitionResponse {
  index: number;
  errorCode: number;
  baseOffset: bigint;
  logAppendTimeMs: bigint;
  logStartOffset: bigint;
  errorMessage: string | null;
  recordErrors: { batchIndex: number; batchIndexErrorMessage: string | null }[];
  currentLeader?: LeaderHint;
}

export default defineHandler(Produce, { min: 3, max: 11 }, async (req, _ctx, broker) => {
  if (req.acks !== 0 && req.acks !== 1 && req.acks !== -1) {
    const responses = req.topicData.map((t) => ({
      name: t.name,
      partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode: ErrorCode.INVALID_REQUIRED_ACKS, baseOffset: -1n })),
    }));
    return { responses };
  }
  if (req.transactionalId !== null) {
    const responses = req.topicData.map((t) => ({
      name: t.name,
      partitionResponses: t.partitionData.map((p) => ({
        index: p.index,
        errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        baseOffset: -1n,
        errorMessage: 'transactions are not supported by this broker yet',
      })),
    }));
    return { responses };
  }
  const opening: Promise<void>[] = [];
  for (const t of req.topicData) {
    for (const p of t.partitionData) {
      if (leadsLocally(broker.cluster, t.name, p.index) && broker.logs.get(t.name, p.index) === undefined) opening.push(broker.logs.settled(t.name, p.index));
    }
  }
  if (opening.length > 0) {
    // Requests that wait here resume in arrival order (same promises), so they still reach the
    // AppendGate in the order they came.
    let timer: NodeJS.Timeout | undefined;
    const waitMs = Math.min(OPENING_WAIT_MAX_MS, Math.max(OPENING_WAIT_MIN_MS, req.timeoutMs - OPENING_WAIT_MARGIN_MS));
    const opened = await Promise.race([Promise.all(opening).then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), waitMs)))]);
    clearTimeout(timer);
    if (!opened) broker.log.warn(`produce waited ${waitMs} ms for partitions still opening; partitions not open yet are refused`, { partitions: opening.length });
  }
  const waits: Promise<void>[] = [];
  const responses = await broker.appendGate.run(() => appendAll());
  if (req.acks === 0) return NO_RESPONSE;
  await Promise.all(waits);
  const hints = responses.flatMap((t) => t.partitionResponses.map((p) => p.currentLeader));
  const nodeEndpoints = leaderEndpoints(broker.cluster, hints).map((n) => ({ nodeId: n.nodeId, host: n.host, port: n.port, rack: n.rack }));
  return { responses, throttleTimeMs: 0, nodeEndpoints };

  function appendAll() {
    const now = broker.now();
    return req.topicData.map((t) => ({
      name: t.name,
      partitionResponses: t.partitionData.map((p): PartitionResponse => {
        const res: PartitionResponse = {
          index: p.index,
          errorCode: 0,
          baseOffset: -1n,
          logAppendTimeMs: -1n,
          logStartOffset: -1n,
          errorMessage: null,
          recordErrors: [],
        };
        const fail = (code: number, message: string): PartitionResponse => ({ ...res, errorCode: code, errorMessage: message });
        const nameProblem = topicNameProblem(t.name);
        if (nameProblem) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem);
        const served = servedPartition(broker, t.name, p.index);
        if (!served.ok) return { ...fail(served.errorCode, served.errorMessage), ...(served.currentLeader ? { currentLeader: served.currentLeader } : {}) };
        const { topic, log } = served;
        if (p.records === null || p.records.length === 0) return fail(ErrorCode.CORRUPT_MESSAGE, 'empty record set');
        const split = splitBatches(p.records);
        if (!split.ok) {
          const code = split.reason === 'bad-magic' ? ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT : ErrorCode.CORRUPT_MESSAGE;
          return fail(code, split.message);
        }
        const outcome = log.append(split.batches, {
          maxMessageBytes: Number(broker.topicAdmin.topicConfig(topic, 'max.message.bytes')),
          logAppendTime: broker.topicAdmin.topicConfig(topic, 'message.timestamp.type') === 'LogAppendTime',
          now,
        });
        if (outcome.errorCode !== 0 || !('durable' in outcome)) {
          const e = outcome as { errorCode: number; errorMessage: string; recordErrors?: { batchIndex: number; message: string }[] };
          if (e.errorCode === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER) {
            // Normal right after a refused request (the client retries in order); anything else
            // is a fatal error in the client, and this line is what tells the two apart.
            broker.log.warn('produce refused: sequence out of order', { topic: t.name, partition: p.index, leaderEpoch: log.leaderEpoch, endOffset: log.highWatermark(), error: e.errorMessage });
          }
          return {
            ...fail(e.errorCode, e.errorMessage),
            recordErrors: (e.recordErrors ?? []).map((r) => ({ batchIndex: r.batchIndex, batchIndexErrorMessage: r.message })),
          };
        }
        if (req.acks !== 0) {
          waits.push(
            outcome.durable.catch((err: unknown) => {
              res.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
              res.errorMessage = `append not durable: ${(err as Error).message}`;
              res.baseOffset = -1n;
            }),
          );
        }
        broker.metrics.recordIn(t.name, p.index, p.records.length, split.batches.reduce((n, b) => n + b.readInt32BE(57), 0));
        res.baseOffset = BigInt(outcome.baseOffset);
        res.logAppendTimeMs = BigInt(outcome.logAppendTime);
        res.logStartOffset = BigInt(log.logStartOffset());
        return res;
      }),
    }));
  }
});
