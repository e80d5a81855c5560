/** DeleteRecords: v0-2. Moves the log start offset; -1 means up to the high watermark. Only the leader trims (others: NOT_LEADER_OR_FOLLOWER). */
import { ErrorCode } from '../../protocol/errors.js';
import { DeleteRecords } from '../../protocol/messages/21_delete_records.js';
import { OffsetOutOfRangeError } from '../../s3stream/api.js';
import { defineHandler } from '../handler.js';
import { servedPartition } from '../cluster/leadership.js';

export default defineHandler(DeleteRecords, { min: 0, max: 2 }, async (req, _ctx, broker) => {
  const topics = [];
  for (const t of req.topics) {
    const partitions = [];
    for (const p of t.partitions) {
      const served = servedPartition(broker, t.name, p.partitionIndex);
      if (!served.ok) {
        partitions.push({ partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode: served.errorCode });
        continue;
      }
      const log = served.log;
      const target = p.offset === -1n ? log.highWatermark() : Number(p.offset);
      if (p.offset < -1n) {
        partitions.push({ partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE });
        continue;
      }
      try {
        const low = await log.deleteRecordsBefore(target);
        partitions.push({ partitionIndex: p.partitionIndex, lowWatermark: BigInt(low), errorCode: 0 });
      } catch (err) {
        const code = err instanceof OffsetOutOfRangeError ? ErrorCode.OFFSET_OUT_OF_RANGE : ErrorCode.KAFKA_STORAGE_ERROR;
        partitions.push({ partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode: code });
      }
    }
    topics.push({ name: t.name, partitions });
  }
  return { throttleTimeMs: 0, topics };
});
