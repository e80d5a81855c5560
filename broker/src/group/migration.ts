/**
 * Upgrade from the single offsets log (before group sharding): a store written by an older broker
 * has every group's offsets and metadata on one stream (KV `<prefix>offsets-stream-id`, snapshot
 * under `<prefix>snapshot`). Each shard, the first time it loads, copies its groups' part of that
 * state into its own log and records so in `<prefix>migrated/<i>`; once every shard has, the
 * legacy stream and its keys are deleted.
 *
 * Crash safety: a shard is served only after its marker is durable, so before the marker its log
 * holds nothing but (part of) an earlier copy; a re-run trims that away and copies again. The copy
 * is the legacy view's state as records (what a snapshot holds), whose replay is idempotent, so a
 * re-run neither duplicates nor loses anything. Cleanup deletes the stream before the KV key that
 * names it, so a crash in between leaves a key to a deleted stream, which the next cleanup
 * (deleteStream is a no-op for unknown ids) finishes. The legacy log is only read, never written:
 * an old broker still running on the store would have its appends fenced by the open.
 */
import type { KvStore, Stream, StreamClient } from '../s3stream/api.js';
import { encodeRecord } from './records.js';
import { groupShardOf } from './shards.js';
import { GroupStore } from './store.js';
import type { GroupLog } from './timers.js';

export interface LegacyMigrationOptions {
  readonly streams: Pick<StreamClient, 'openStream' | 'deleteStream'>;
  readonly kv: KvStore;
  /** The coordinator's KV prefix (`groups/`). */
  readonly prefix: string;
  readonly shards: number;
  readonly log: GroupLog;
  readonly snapshotChunkBytes: number;
}

export function legacyStreamKey(prefix: string): string {
  return `${prefix}offsets-stream-id`;
}

export function migratedMarkerKey(prefix: string, shard: number): string {
  return `${prefix}migrated/${shard}`;
}

interface LegacyRead {
  readonly view: Promise<{ store: GroupStore; stream: Stream }>;
  users: number;
}

export class LegacyMigration {
  /** One read of the legacy log shared by the shards migrating at the same time (they load together at start). */
  private reading: LegacyRead | undefined;
  private finishing: Promise<void> = Promise.resolve();

  constructor(private readonly opts: LegacyMigrationOptions) {}

  /** True while the store still has a legacy offsets log. */
  pending(): boolean {
    return this.opts.kv.get(legacyStreamKey(this.opts.prefix)) !== undefined;
  }

  /**
   * Makes sure shard `shard`'s log (`target`, opened by the caller) holds its groups' legacy state
   * before the shard is served. A no-op without a legacy log or once the shard is migrated.
   */
  async migrateShard(shard: number, target: Stream): Promise<void> {
    const { kv, prefix, log, shards } = this.opts;
    const raw = kv.get(legacyStreamKey(prefix));
    if (raw === undefined) {
      // Markers outlive the legacy key only when a cleanup stopped between the two deletes.
      for (const key of kv.list(`${prefix}migrated/`)) await kv.delete(key);
      return;
    }
    const legacyId = Number(raw.toString('utf8'));
    if (!Number.isInteger(legacyId) || legacyId < 0) {
      throw new Error(`KV ${legacyStreamKey(prefix)} holds "${raw.toString('utf8')}", not a stream id; fix or delete it (deleting it drops the legacy committed offsets)`);
    }
    if (kv.get(migratedMarkerKey(prefix, shard)) === undefined) {
      const legacy = await this.acquire(legacyId);
      try {
        if (target.confirmOffset() > target.startOffset()) {
          log('info', 'dropping an interrupted migration copy from the shard log before copying again', { shard, records: target.confirmOffset() - target.startOffset() });
          await target.trim(target.confirmOffset());
        }
        const durable: Promise<void>[] = [];
        for (const rec of legacy.records((g) => groupShardOf(g, shards) === shard)) {
          await target.ready();
          durable.push(target.append(encodeRecord(rec), 1).durable);
        }
        await Promise.all(durable);
        await kv.put(migratedMarkerKey(prefix, shard), Buffer.from(JSON.stringify({ fromStream: legacyId, records: durable.length })));
        log('info', 'legacy group offsets of this shard copied to its log', { shard, legacyStream: legacyId, records: durable.length });
      } finally {
        this.release();
      }
    }
    await this.maybeFinish(legacyId);
  }

  private async acquire(legacyId: number): Promise<GroupStore> {
    if (!this.reading) {
      const { streams, kv, prefix, log, snapshotChunkBytes } = this.opts;
      const view = (async () => {
        const stream = await streams.openStream(legacyId);
        try {
          // Read-only: nothing is written, so the snapshot threshold never matters.
          const store = await GroupStore.open({ stream, kv, log, kvPrefix: prefix, snapshotEveryRecords: Number.MAX_SAFE_INTEGER, snapshotChunkBytes });
          return { store, stream };
        } catch (e) {
          await stream.close().catch(() => undefined);
          throw new Error(`cannot read the legacy offsets log (stream ${legacyId}) to migrate it to group shards: ${String(e)}`);
        }
      })();
      this.reading = { view, users: 0 };
    }
    const reading = this.reading;
    reading.users++;
    try {
      return (await reading.view).store;
    } catch (e) {
      this.release();
      throw e;
    }
  }

  private release(): void {
    const reading = this.reading;
    if (!reading || --reading.users > 0) return;
    this.reading = undefined;
    reading.view.then(
      ({ stream }) => stream.close().catch(() => undefined),
      () => undefined,
    );
  }

  /** Deletes the legacy log once every shard holds its part. Failures are logged and retried at the next shard load. */
  private maybeFinish(legacyId: number): Promise<void> {
    const { kv, prefix, shards, streams, log } = this.opts;
    this.finishing = this.finishing.then(async () => {
      try {
        if (kv.get(legacyStreamKey(prefix)) === undefined) return;
        for (let i = 0; i < shards; i++) if (kv.get(migratedMarkerKey(prefix, i)) === undefined) return;
        await streams.deleteStream(legacyId);
        for (const key of kv.list(`${prefix}snapshot`)) await kv.delete(key);
        await kv.delete(legacyStreamKey(prefix));
        for (const key of kv.list(`${prefix}migrated/`)) await kv.delete(key);
        log('info', 'legacy offsets log fully migrated to group shards and deleted', { legacyStream: legacyId, shards });
      } catch (e) {
        log('warn', 'deleting the migrated legacy offsets log failed; retried at the next shard load', { legacyStream: legacyId, error: String(e) });
      }
    });
    return this.finishing;
  }
}
