/**
 * OffsetForLeaderEpoch: v0-4. Answered by the partition's leader only (others:
 * NOT_LEADER_OR_FOLLOWER). A leader change never truncates (the stream is shared, the new leader
 * continues it), so every epoch up to the current one ends at the log end (high watermark); a
 * current epoch newer/older than the broker's is UNKNOWN/FENCED as Kafka answers it.
 */
import { ErrorCode } from '../../protocol/errors.js';
import { OffsetForLeaderEpoch } from '../../protocol/messages/23_offset_for_leader_epoch.js';
import { defineHandler } from '../handler.js';
import { servedPartition } from '../cluster/leadership.js';

export default defineHandler(OffsetForLeaderEpoch, { min: 0, max: 4 }, (req, _ctx, broker) => ({
  throttleTimeMs: 0,
  topics: req.topics.map((t) => ({
    topic: t.topic,
    partitions: t.partitions.map((p) => {
      const served = servedPartition(broker, t.topic, p.partition);
      if (!served.ok) return { partition: p.partition, errorCode: served.errorCode, leaderEpoch: -1, endOffset: -1n };
      const log = served.log;
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
