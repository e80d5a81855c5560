/**
 * Fetch: v4-16 (topic ids from v13).
 * Behaviour: reads whole record batches up to the high watermark (durable data only); the first
 * batch of the response is returned even when larger than the limits, as Kafka does. With
 * minBytes > 0 and nothing to return, waits up to maxWaitMs for new data on any requested
 * partition. No transactions, so the last stable offset equals the high watermark.
 * Fetch sessions are not created (sessionId 0 in every response is legal for all clients); a
 * request naming a session we never issued gets FETCH_SESSION_ID_NOT_FOUND.
 * Only partitions this broker leads are read; the others answer NOT_LEADER_OR_FOLLOWER with the
 * current leader (v12+) and its endpoint (v16+), also when leadership moves during a long poll. A
 * CurrentLeaderEpoch (v9+) newer than ours is UNKNOWN_LEADER_EPOCH, an older one FENCED_LEADER_EPOCH.
 */
import { ErrorCode } from '../../protocol/errors.js';
import { Fetch } from '../../protocol/messages/01_fetch.js';
import { OffsetOutOfRangeError } from '../../s3stream/api.js';
import type { BrokerContext } from '../context.js';
import type { PartitionLog } from '../log/partition-log.js';
import { defineHandler } from '../handler.js';
import { leaderEndpoints, leaderEpochError, servedPartition, type LeaderHint } from '../cluster/leadership.js';

interface Target {
  log: PartitionLog | undefined;
  fetchOffset: number;
  partitionMaxBytes: number;
  errorCode: number;
  currentLeader?: LeaderHint;
}

interface PartitionOut {
  partitionIndex: number;
  errorCode: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
  records: Buffer;
  currentLeader?: LeaderHint;
}

const MAX_WAIT_CAP_MS = 30_000;

export default defineHandler(Fetch, { min: 4, max: 16 }, async (req, ctx, broker) => {
  if (req.sessionId !== 0) {
    return { errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] };
  }
  const useIds = ctx.apiVersion >= 13;
  const topics = req.topics.map((t) => {
    const name = useIds ? broker.topicAdmin.registry.topicName(t.topicId) : t.topic;
    const unknownCode = useIds ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    return {
      topic: t.topic,
      topicId: t.topicId,
      targets: t.partitions.map(
        (p): Target & { partition: number } => {
          const base = { partition: p.partition, log: undefined, fetchOffset: Number(p.fetchOffset), partitionMaxBytes: p.partitionMaxBytes };
          if (name === undefined) return { ...base, errorCode: unknownCode };
          const served = servedPartition(broker, name, p.partition);
          if (!served.ok) return { ...base, errorCode: served.errorCode, ...(served.currentLeader ? { currentLeader: served.currentLeader } : {}) };
          const epochError = leaderEpochError(p.currentLeaderEpoch, served.log);
          if (epochError) return { ...base, errorCode: epochError.errorCode };
          return { ...base, log: served.log, errorCode: 0 };
        },
      ),
    };
  });

  let result = await readAll(topics, req.maxBytes, broker);
  const maxWait = Math.min(Math.max(req.maxWaitMs, 0), MAX_WAIT_CAP_MS);
  // Like Kafka's fetch purgatory: answer once minBytes are available or maxWait has passed.
  const deadline = Date.now() + maxWait;
  while (req.minBytes > 0 && result.bytes < req.minBytes && result.errors === 0 && Date.now() < deadline) {
    await waitForAny(topics.flatMap((t) => t.targets), deadline - Date.now(), broker);
    result = await readAll(topics, req.maxBytes, broker);
  }
  for (const t of topics) {
    const outs = result.partitions[topics.indexOf(t)]!;
    t.targets.forEach((target, i) => {
      if (target.log) broker.metrics.recordOut(target.log.topic, target.partition, outs[i]!.records.length);
    });
  }
  const hints = result.partitions.flatMap((outs) => outs.map((o) => o.currentLeader));
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: topics.map((t, i) => ({ topic: t.topic, topicId: t.topicId, partitions: result.partitions[i]! })),
    nodeEndpoints: leaderEndpoints(broker.cluster, hints).map((n) => ({ nodeId: n.nodeId, host: n.host, port: n.port, rack: n.rack })),
  };
});

async function readAll(
  topics: { targets: (Target & { partition: number })[] }[],
  maxBytes: number,
  broker: BrokerContext,
): Promise<{ partitions: PartitionOut[][]; bytes: number; errors: number }> {
  let budget = maxBytes > 0 ? maxBytes : 0x7fffffff;
  let bytes = 0;
  let errors = 0;
  const partitions: PartitionOut[][] = [];
  for (const t of topics) {
    const outs: PartitionOut[] = [];
    for (const target of t.targets) {
      const out: PartitionOut = {
        partitionIndex: target.partition,
        errorCode: target.errorCode,
        highWatermark: -1n,
        lastStableOffset: -1n,
        logStartOffset: -1n,
        records: Buffer.alloc(0),
        ...(target.currentLeader ? { currentLeader: target.currentLeader } : {}),
      };
      outs.push(out);
      const log = target.log;
      if (!log) {
        errors++;
        continue;
      }
      if (!log.isOpen()) {
        // Released while this request waited: the partition moved (or its topic was deleted).
        const served = servedPartition(broker, log.topic, log.partition);
        out.errorCode = served.ok ? ErrorCode.NOT_LEADER_OR_FOLLOWER : served.errorCode;
        if (!served.ok && served.currentLeader) out.currentLeader = served.currentLeader;
        target.log = undefined;
        target.errorCode = out.errorCode;
        if (out.currentLeader) target.currentLeader = out.currentLeader;
        errors++;
        continue;
      }
      // The first batch is always returned so a consumer can make progress past a large batch.
      const limit = bytes === 0 ? Math.max(1, Math.min(target.partitionMaxBytes, budget)) : Math.min(target.partitionMaxBytes, budget);
      try {
        const r = limit > 0 ? await log.read(target.fetchOffset, limit) : undefined;
        const hwm = r?.highWatermark ?? log.highWatermark();
        out.highWatermark = BigInt(hwm);
        out.lastStableOffset = BigInt(hwm);
        out.logStartOffset = BigInt(r?.logStartOffset ?? log.logStartOffset());
        if (r === undefined && (target.fetchOffset < log.logStartOffset() || target.fetchOffset > hwm)) {
          out.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
          errors++;
        }
        if (r) {
          out.records = r.records;
          bytes += r.records.length;
          budget -= r.records.length;
        }
      } catch (err) {
        if (err instanceof OffsetOutOfRangeError) {
          out.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
          out.highWatermark = BigInt(log.highWatermark());
          out.lastStableOffset = out.highWatermark;
          out.logStartOffset = BigInt(log.logStartOffset());
        } else {
          // A read cut short by a release is a leadership change, not a storage failure.
          out.errorCode = log.isOpen() ? ErrorCode.KAFKA_STORAGE_ERROR : ErrorCode.NOT_LEADER_OR_FOLLOWER;
        }
        errors++;
      }
    }
    partitions.push(outs);
  }
  return { partitions, bytes, errors };
}

/** Waits until any target has data past its fetch offset, or the timeout. */
async function waitForAny(targets: Target[], timeoutMs: number, broker: BrokerContext): Promise<void> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    // Wait for data beyond what is already there, so a partial answer does not spin.
    const waits = targets.filter((t) => t.log).map((t) => t.log!.stream.waitForData(Math.max(t.fetchOffset, t.log!.highWatermark()), ac.signal));
    if (waits.length === 0) {
      await new Promise<void>((resolve) => ac.signal.addEventListener('abort', () => resolve(), { once: true }));
    } else {
      await Promise.race(waits);
    }
  } catch (err) {
    broker.log.debug('fetch wait ended with error', { error: (err as Error).message });
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}
