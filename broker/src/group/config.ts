/**
 * Group coordinator configuration. Names follow Kafka's broker settings (in ms where Kafka uses
 * other units) so operators can map them one to one.
 */
import { z } from 'zod';

const ms = z.number().int().nonnegative();

export const GroupCoordinatorConfigSchema = z
  .object({
    /** group.initial.rebalance.delay.ms: how long the first rebalance of an empty group waits for more members. */
    initialRebalanceDelayMs: ms.default(3000),
    /** group.min.session.timeout.ms */
    minSessionTimeoutMs: ms.default(6000),
    /** group.max.session.timeout.ms */
    maxSessionTimeoutMs: ms.default(1_800_000),
    /** group.max.size */
    groupMaxSize: z.number().int().positive().default(2_147_483_647),
    /** How long a new member's JoinGroup may wait in a rebalance before it is dropped (Kafka: 5 minutes, fixed). */
    newMemberJoinTimeoutMs: ms.default(300_000),
    /** offsets.retention.minutes (default 7 days), in ms. */
    offsetsRetentionMs: ms.default(7 * 24 * 60 * 60 * 1000),
    /** offsets.retention.check.interval.ms; 0 disables the periodic check. */
    offsetsRetentionCheckIntervalMs: ms.default(600_000),
    /** offset.metadata.max.bytes */
    offsetMetadataMaxBytes: ms.default(4096),
    /** Snapshot to the KV store (and trim the offsets log) after this many log records, or after as many as the state has entries when that is more. */
    snapshotEveryRecords: z.number().int().positive().default(1000),
    /** Also snapshot on this period when anything was written since the last one; 0 disables. */
    snapshotIntervalMs: ms.default(60_000),
    /** Snapshots are split into KV values of at most this size. */
    snapshotChunkBytes: z.number().int().min(1024).default(512 * 1024),
    /** Prefix of every KV key the coordinator owns. */
    kvPrefix: z.string().min(1).default('groups/'),
  })
  .strict()
  .refine((c) => c.minSessionTimeoutMs <= c.maxSessionTimeoutMs, {
    message: 'minSessionTimeoutMs must not exceed maxSessionTimeoutMs',
  });

export type GroupCoordinatorConfig = z.output<typeof GroupCoordinatorConfigSchema>;
export type GroupCoordinatorConfigInput = z.input<typeof GroupCoordinatorConfigSchema>;

export function parseGroupCoordinatorConfig(input: unknown): GroupCoordinatorConfig {
  const r = GroupCoordinatorConfigSchema.safeParse(input ?? {});
  if (!r.success) {
    throw new Error(`invalid group coordinator config: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}
