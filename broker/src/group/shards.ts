/**
 * Group shards: Kafka's __consumer_offsets partitioning. Group g belongs to shard
 * `abs(g.hashCode()) % shards` with Java's String.hashCode, so a group lands on the same shard
 * index as in Apache Kafka with the same partition count (tools that compute the coordinator
 * partition of a group by hand keep working).
 *
 * KV layout (under the coordinator's prefix, `groups/` by default):
 *   num-shards           the shard count, fixed at the first start (like the partition count of
 *                        __consumer_offsets: changing it would move every group to another shard)
 *   shards/<i>           stream id of shard i's log (created on demand)
 *   shards/<i>/snapshot  shard i's snapshot manifest, chunks under shards/<i>/snapshot/<id>/<n>
 *   offsets-stream-id    the legacy single offsets log (before sharding); see migration.ts
 *   migrated/<i>         shard i holds its part of the legacy log (only while that log exists)
 */
import type { KvStore } from '../s3stream/api.js';

/** Java's String.hashCode: s[0]*31^(n-1) + ... + s[n-1] over UTF-16 code units, in int32 arithmetic. */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** The shard of a group: Kafka's `Utils.abs(groupId.hashCode) % partitions` (Utils.abs maps MIN_VALUE to 0). */
export function groupShardOf(groupId: string, shards: number): number {
  const h = javaStringHashCode(groupId);
  return (h === -2147483648 ? 0 : Math.abs(h)) % shards;
}

/**
 * Default shard count. Kafka uses 50 partitions; here each shard is one stream, and every stream
 * costs storage-side work whether used or not (a stream open and its epoch bump at every load, its
 * own snapshot keys and trims, per-stream objects after compaction, one fetch per replay), while
 * the only thing shards buy is spreading coordination over brokers and making one move small.
 * 16 spreads groups over clusters of up to 16 brokers, which covers the clusters this broker is
 * built for, and keeps a standalone start at 16 small stream opens.
 */
export const DEFAULT_GROUP_SHARDS = 16;

export function shardStreamKey(prefix: string, shard: number): string {
  return `${prefix}shards/${shard}`;
}

/** KV prefix of one shard's snapshot (the GroupStore prefix). */
export function shardKvPrefix(prefix: string, shard: number): string {
  return `${prefix}shards/${shard}/`;
}

export function shardCountKey(prefix: string): string {
  return `${prefix}num-shards`;
}

/**
 * The shard count of this store: the one recorded at the first start, else `configured`, which is
 * then recorded. A configured count that differs from the recorded one is ignored (with a reason
 * returned for the log), as Kafka ignores offsets.topic.num.partitions once the topic exists.
 */
export async function resolveGroupShardCount(
  kv: KvStore,
  configured: number,
  prefix = 'groups/',
): Promise<{ shards: number; ignoredConfigured?: string }> {
  if (!Number.isInteger(configured) || configured < 1) {
    throw new Error(`offsets.topic.num.partitions must be a positive integer, got ${configured}`);
  }
  const raw = kv.get(shardCountKey(prefix))?.toString('utf8');
  if (raw !== undefined) {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) {
      throw new Error(`KV ${shardCountKey(prefix)} holds "${raw}", not a shard count; restore it (it must stay the count the groups were sharded with)`);
    }
    return n === configured
      ? { shards: n }
      : { shards: n, ignoredConfigured: `offsets.topic.num.partitions=${configured} ignored: this store's groups are sharded over ${n} shards, fixed at its first start` };
  }
  await kv.put(shardCountKey(prefix), Buffer.from(String(configured)));
  return { shards: configured };
}
