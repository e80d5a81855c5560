/**
 * OffsetFetch: v0-9. Up to v7 one group (topics null = all committed partitions, from v2);
 * from v8 several groups per request. v0-1 have no top-level error: a group error goes on each
 * partition instead.
 */
import { ErrorCode } from '../../protocol/errors.js';
import { OffsetFetch } from '../../protocol/messages/09_offset_fetch.js';
import { defineHandler } from '../handler.js';
import type { BrokerContext } from '../context.js';

function fetchGroup(
  broker: BrokerContext,
  groupId: string,
  topics: readonly { name: string; partitionIndexes: readonly number[] }[] | null,
) {
  const r = broker.groups.fetchOffsets(groupId, topics && topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes })));
  return {
    errorCode: r.errorCode,
    topics: r.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ ...p })) })),
  };
}

export default defineHandler(OffsetFetch, { min: 0, max: 9 }, (req, ctx, broker) => {
  const v = ctx.apiVersion;
  if (v >= 8) {
    return {
      throttleTimeMs: 0,
      groups: req.groups.map((g) => ({ groupId: g.groupId, ...fetchGroup(broker, g.groupId, g.topics) })),
    };
  }
  const r = fetchGroup(broker, req.groupId, req.topics);
  if (v < 2 && r.errorCode !== ErrorCode.NONE) {
    const topics = (req.topics ?? []).map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((partitionIndex) => ({
        partitionIndex,
        committedOffset: -1n,
        metadata: '',
        errorCode: r.errorCode,
      })),
    }));
    return { throttleTimeMs: 0, topics };
  }
  return { throttleTimeMs: 0, errorCode: r.errorCode, topics: r.topics };
});
