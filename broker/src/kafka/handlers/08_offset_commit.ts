/**
 * OffsetCommit: v0-9. Partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION; the others
 * go to the group coordinator, which answers once the commit is durable. v0 has no generation or
 * member (a simple commit), v1 carries a commit timestamp, v2-4 a retention time.
 */
import { ErrorCode } from '../../protocol/errors.js';
import { OffsetCommit } from '../../protocol/messages/08_offset_commit.js';
import type { OffsetCommitPartition } from '../../group/types.js';
import { defineHandler } from '../handler.js';

export default defineHandler(OffsetCommit, { min: 0, max: 9 }, async (req, ctx, broker) => {
  const v = ctx.apiVersion;
  const topics = req.topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE as number })),
  }));
  const valid: OffsetCommitPartition[] = [];
  const slots: { errorCode: number }[] = [];
  req.topics.forEach((t, ti) => {
    const count = broker.topics.partitionCount(t.name);
    t.partitions.forEach((p, pi) => {
      const slot = topics[ti]!.partitions[pi]!;
      if (count === undefined || p.partitionIndex < 0 || p.partitionIndex >= count) {
        slot.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        return;
      }
      valid.push({
        topic: t.name,
        partition: p.partitionIndex,
        offset: p.committedOffset,
        leaderEpoch: p.committedLeaderEpoch,
        metadata: p.committedMetadata,
        commitTimestamp: v === 1 ? Number(p.commitTimestamp) : -1,
      });
      slots.push(slot);
    });
  });
  if (valid.length > 0) {
    const codes = await broker.groups.commitOffsets({
      groupId: req.groupId,
      generationId: req.generationIdOrMemberEpoch,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      retentionTimeMs: v >= 2 && v <= 4 ? Number(req.retentionTimeMs) : -1,
      partitions: valid,
    });
    codes.forEach((code, i) => {
      slots[i]!.errorCode = code;
    });
  }
  return { throttleTimeMs: 0, topics };
});
