/**
 * OffsetForLeaderEpoch: v0-4. Leadership of a partition never changes epoch in standalone mode,
 * so every epoch up to the current one ends at the log end (high watermark); a newer epoch than
 * the broker knows is FENCED/UNKNOWN as Kafka answers it.
 */
import { ErrorCode } from '../../protocol/errors.js';
import { OffsetForLeaderEpoch } from '../../protocol/messages/23_offset_for_leader_epoch.js';
import { defineHandler } from '../handler.js';

export default defineHandler(OffsetForLeaderEpoch, { min: 0, max: 4 }, (req, _ctx, broker) => ({
  throttleTimeMs: 0,
  topics: req.topics.map((t) => ({
    topic: t.topic,
    partitions: t.partitions.map((p) => {
      const log = broker.logs.get(t.topic, p.partition);
      if (!log) return { partition: p.partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, leaderEpoch: -1, endOffset: -1n };
      if (p.currentLeaderEpoch > log.leaderEpoch) {
        return { partition: p.partition, errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH, leaderEpoch: -1, endOffset: -1n };
      }
      if (p.currentLeaderEpoch >= 0 && p.currentLeaderEpoch < log.leaderEpoch) {
        return { partition: p.partition, errorCode: ErrorCode.FENCED_LEADER_EPOCH, leaderEpoch: -1, endOffset: -1n };
      }
      if (p.leaderEpoch > log.leaderEpoch) return { partition: p.partition, errorCode: 0, leaderEpoch: -1, endOffset: -1n };
      return { partition: p.partition, errorCode: 0, leaderEpoch: log.leaderEpoch, endOffset: BigInt(log.highWatermark()) };
    }),
  })),
}));
