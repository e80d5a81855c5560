/**
 * ListOffsets: v0-8.
 * -1 latest (high watermark; equal to the last stable offset, there are no transactions),
 * -2 earliest (log start), -3 max timestamp (v7+), otherwise the first offset whose timestamp is
 * at or after the given one (offset -1 when there is none). v0 answers in the old array form.
 * Partitions this broker does not lead answer NOT_LEADER_OR_FOLLOWER; a CurrentLeaderEpoch (v4+)
 * newer than ours is UNKNOWN_LEADER_EPOCH, an older one FENCED_LEADER_EPOCH.
 */
import { ErrorCode } from '../../protocol/errors.js';
import { ListOffsets } from '../../protocol/messages/02_list_offsets.js';
import { defineHandler } from '../handler.js';
import { leaderEpochError, servedPartition } from '../cluster/leadership.js';

const LATEST = -1n;
const EARLIEST = -2n;
const MAX_TIMESTAMP = -3n;

export default defineHandler(ListOffsets, { min: 0, max: 8 }, async (req, ctx, broker) => {
  const v = ctx.apiVersion;
  const topics = [];
  for (const t of req.topics) {
    const partitions = [];
    for (const p of t.partitions) {
      const served = servedPartition(broker, t.name, p.partitionIndex);
      const out = {
        partitionIndex: p.partitionIndex,
        errorCode: 0,
        oldStyleOffsets: [] as bigint[],
        timestamp: -1n,
        offset: -1n,
        leaderEpoch: -1,
      };
      if (!served.ok) {
        partitions.push({ ...out, errorCode: served.errorCode });
        continue;
      }
      const log = served.log;
      const epochError = leaderEpochError(p.currentLeaderEpoch, log);
      if (epochError) {
        partitions.push({ ...out, errorCode: epochError.errorCode });
        continue;
      }
      out.leaderEpoch = log.leaderEpoch;
      if (p.timestamp === LATEST) out.offset = BigInt(log.highWatermark());
      else if (p.timestamp === EARLIEST) out.offset = BigInt(log.logStartOffset());
      else if (p.timestamp === MAX_TIMESTAMP && v >= 7) {
        const m = log.maxTimestampInfo();
        out.timestamp = BigInt(m.timestamp);
        out.offset = BigInt(m.offset);
      } else if (p.timestamp < 0n) {
        partitions.push({ ...out, errorCode: ErrorCode.INVALID_REQUEST });
        continue;
      } else {
        const found = await log.offsetForTimestamp(Number(p.timestamp));
        if (found) {
          out.offset = BigInt(found.offset);
          out.timestamp = BigInt(found.timestamp);
        }
      }
      if (v === 0) out.oldStyleOffsets = out.offset >= 0n ? [out.offset] : [];
      partitions.push(out);
    }
    topics.push({ name: t.name, partitions });
  }
  return { throttleTimeMs: 0, topics };
});
