/**
 * Durable state of the group coordinator: committed offsets and the last persisted metadata of
 * each group, kept in an S3Stream stream (the offsets log) plus periodic snapshots in the KV store.
 *
 * Writes append one record and resolve once it is durable; only then is the record applied to
 * the in-memory view, so the view only ever shows durable state (what a restart would recover).
 * Durable promises of one stream resolve in append order, so records are applied in log order.
 *
 * A snapshot serialises the whole view together with the log offset it covers (every record
 * below it is reflected), stores it in the KV store in chunks, points the manifest key at it, and
 * only then trims the log to that offset. Recovery reads the manifest, loads its chunks, and
 * replays the log from the covered offset: replay is bounded by the snapshot period.
 */
import { z } from 'zod';
import { StreamFencedError, type KvStore, type Stream } from '../s3stream/api.js';
import {
  decodeRecord,
  decodeSnapshotBody,
  encodeRecord,
  encodeSnapshotBody,
  type GroupMetadataRecord,
  type LogRecord,
  type OffsetEntry,
} from './records.js';
import { noLog, type GroupLog } from './timers.js';

export type PartitionOffsets = Map<number, OffsetEntry>;
export type GroupOffsets = Map<string, PartitionOffsets>;

export interface GroupStoreOptions {
  readonly stream: Stream;
  readonly kv: KvStore;
  readonly log?: GroupLog;
  /** Prefix of the KV keys the store owns (manifest and chunks). */
  readonly kvPrefix: string;
  /**
   * Snapshot after this many records, or after as many records as the state has entries when
   * that is more: each snapshot then costs no more than the records it saves from replay.
   */
  readonly snapshotEveryRecords: number;
  readonly snapshotChunkBytes: number;
  /** Bytes per fetch during replay. */
  readonly replayFetchBytes?: number;
}

const ManifestSchema = z.object({
  version: z.literal(1),
  id: z.number().int().nonnegative(),
  coveredOffset: z.number().int().nonnegative(),
  chunks: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
});
type Manifest = z.infer<typeof ManifestSchema>;

export interface GroupStoreStats {
  /** Records replayed from the log tail at open (after the snapshot). */
  readonly replayedRecords: number;
  /** Records applied since the last snapshot. */
  readonly recordsSinceSnapshot: number;
  readonly snapshotsWritten: number;
  /** Offset covered by the latest snapshot (0 if none). */
  readonly snapshotCoveredOffset: number;
}

export class GroupStore {
  private readonly offsets = new Map<string, GroupOffsets>();
  private readonly groups = new Map<string, GroupMetadataRecord>();
  private readonly log: GroupLog;
  /** Every log record below this offset is reflected in the view (or never became durable). */
  private appliedEnd = 0;
  private recordsSinceSnapshot = 0;
  /** Committed partitions in the view. */
  private liveEntries = 0;
  private replayedRecords = 0;
  private snapshotsWritten = 0;
  private manifest: Manifest | undefined;
  private snapshotting: Promise<void> | undefined;
  private readonly inflight = new Set<Promise<unknown>>();
  private closed = false;
  /** An append was refused because another handle (a newer owner of the log) opened the stream. */
  private fenced = false;

  private constructor(private readonly opts: GroupStoreOptions) {
    this.log = opts.log ?? noLog;
  }

  /** Loads the latest snapshot and replays the log tail after it. */
  static async open(opts: GroupStoreOptions): Promise<GroupStore> {
    const store = new GroupStore(opts);
    await store.recover();
    return store;
  }

  private get manifestKey(): string {
    return `${this.opts.kvPrefix}snapshot`;
  }

  private chunkKey(id: number, i: number): string {
    return `${this.opts.kvPrefix}snapshot/${id}/${i}`;
  }

  private async recover(): Promise<void> {
    const { stream, kv } = this.opts;
    let from = stream.startOffset();
    const raw = kv.get(this.manifestKey);
    if (raw) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw.toString('utf8'));
      } catch (e) {
        throw new Error(`group coordinator snapshot manifest ${this.manifestKey} is not JSON (${String(e)}); restore it or delete it and the log replays from its start`);
      }
      const m = ManifestSchema.safeParse(parsed);
      if (!m.success) {
        throw new Error(`group coordinator snapshot manifest ${this.manifestKey} is invalid: ${m.error.message}`);
      }
      const chunks: Buffer[] = [];
      for (let i = 0; i < m.data.chunks; i++) {
        const c = kv.get(this.chunkKey(m.data.id, i));
        if (!c) throw new Error(`group coordinator snapshot ${m.data.id} is missing chunk ${i} (${this.chunkKey(m.data.id, i)}); the KV store lost data`);
        chunks.push(c);
      }
      const body = Buffer.concat(chunks);
      if (body.length !== m.data.bytes) {
        throw new Error(`group coordinator snapshot ${m.data.id} has ${body.length} bytes, manifest says ${m.data.bytes}`);
      }
      for (const rec of decodeSnapshotBody(body)) this.apply(rec);
      this.manifest = m.data;
      if (m.data.coveredOffset < from) {
        this.log('warn', 'offsets log was trimmed past the group snapshot; records in between are lost', {
          snapshotCovered: m.data.coveredOffset,
          logStart: from,
        });
      }
      from = Math.max(from, m.data.coveredOffset);
    }
    const end = stream.confirmOffset();
    const maxBytes = this.opts.replayFetchBytes ?? 1024 * 1024;
    let next = from;
    while (next < end) {
      const batches = await stream.fetch(next, end, maxBytes);
      if (batches.length === 0) {
        throw new Error(`offsets log stream ${stream.id} returned no data at ${next} below its confirmed end ${end}`);
      }
      for (const b of batches) {
        if (b.baseOffset + b.count <= next) continue;
        this.apply(decodeRecord(b.payload));
        this.replayedRecords++;
        next = b.baseOffset + b.count;
      }
    }
    this.appliedEnd = Math.max(next, from);
    this.recordsSinceSnapshot = this.replayedRecords;
    this.log('info', 'group coordinator state recovered', {
      groups: this.groups.size,
      groupsWithOffsets: this.offsets.size,
      snapshotCovered: this.manifest?.coveredOffset ?? 0,
      replayedRecords: this.replayedRecords,
    });
  }

  /**
   * Appends a record; resolves after it is durable and applied to the view. Rejects with the
   * stream's error (StreamFencedError when another broker took the log over).
   */
  write(rec: LogRecord): Promise<void> {
    if (this.closed) return Promise.reject(new Error('group store is closed'));
    let result: { baseOffset: number; durable: Promise<void> };
    try {
      result = this.opts.stream.append(encodeRecord(rec), 1);
    } catch (e) {
      if (e instanceof StreamFencedError) this.fenced = true;
      return Promise.reject(e);
    }
    const p = result.durable.then(() => {
      this.apply(rec);
      this.appliedEnd = Math.max(this.appliedEnd, result.baseOffset + 1);
      this.recordsSinceSnapshot++;
      const threshold = Math.max(this.opts.snapshotEveryRecords, this.liveEntries + this.groups.size);
      if (this.recordsSinceSnapshot >= threshold && !this.snapshotting && !this.closed) {
        this.snapshot().catch((e: unknown) => this.log('warn', 'group coordinator snapshot failed; will retry', { error: String(e) }));
      }
    });
    this.inflight.add(p);
    const done = (): void => {
      this.inflight.delete(p);
    };
    p.then(done, (e: unknown) => {
      if (e instanceof StreamFencedError) this.fenced = true;
      done();
    });
    return p;
  }

  private apply(rec: LogRecord): void {
    switch (rec.type) {
      case 'offsetCommit': {
        let g = this.offsets.get(rec.groupId);
        if (!g) this.offsets.set(rec.groupId, (g = new Map()));
        for (const p of rec.partitions) {
          let t = g.get(p.topic);
          if (!t) g.set(p.topic, (t = new Map()));
          if (!t.has(p.partition)) this.liveEntries++;
          t.set(p.partition, {
            offset: p.offset,
            leaderEpoch: p.leaderEpoch,
            metadata: p.metadata,
            commitTimestamp: p.commitTimestamp,
            expireTimestamp: p.expireTimestamp,
          });
        }
        return;
      }
      case 'groupMetadata':
        this.groups.set(rec.group.groupId, rec.group);
        return;
      case 'offsetDelete': {
        const g = this.offsets.get(rec.groupId);
        if (!g) return;
        for (const p of rec.partitions) {
          const t = g.get(p.topic);
          if (!t) continue;
          if (t.delete(p.partition)) this.liveEntries--;
          if (t.size === 0) g.delete(p.topic);
        }
        if (g.size === 0) this.offsets.delete(rec.groupId);
        return;
      }
      case 'groupTombstone':
        this.groups.delete(rec.groupId);
        for (const t of this.offsets.get(rec.groupId)?.values() ?? []) this.liveEntries -= t.size;
        this.offsets.delete(rec.groupId);
        return;
    }
  }

  /** Durable committed offsets of a group (topic -> partition -> entry). */
  offsetsOf(groupId: string): ReadonlyMap<string, ReadonlyMap<number, OffsetEntry>> | undefined {
    return this.offsets.get(groupId);
  }

  hasOffsets(groupId: string): boolean {
    return this.offsets.has(groupId);
  }

  /** Group ids that have committed offsets. */
  groupsWithOffsets(): IterableIterator<string> {
    return this.offsets.keys();
  }

  /** The last durable metadata of every group that has one. */
  persistedGroups(): ReadonlyMap<string, GroupMetadataRecord> {
    return this.groups;
  }

  stats(): GroupStoreStats {
    return {
      replayedRecords: this.replayedRecords,
      recordsSinceSnapshot: this.recordsSinceSnapshot,
      snapshotsWritten: this.snapshotsWritten,
      snapshotCoveredOffset: this.manifest?.coveredOffset ?? 0,
    };
  }

  /** True when records were applied since the last snapshot. */
  get dirty(): boolean {
    return this.recordsSinceSnapshot > 0;
  }

  /**
   * The durable view as records whose replay rebuilds it (what a snapshot holds), optionally only
   * for some groups (used to split the legacy single log into shards).
   */
  *records(only: (groupId: string) => boolean = () => true): Generator<LogRecord> {
    for (const g of this.groups.values()) if (only(g.groupId)) yield { type: 'groupMetadata', group: g };
    for (const [groupId, topics] of this.offsets) {
      if (!only(groupId)) continue;
      const partitions = [];
      for (const [topic, parts] of topics) {
        for (const [partition, e] of parts) partitions.push({ topic, partition, ...e });
      }
      yield { type: 'offsetCommit', groupId, partitions };
    }
  }

  /**
   * Writes a snapshot of the durable view and trims the log below it. Concurrent calls share
   * the snapshot in progress.
   */
  snapshot(): Promise<void> {
    if (!this.snapshotting) {
      this.snapshotting = this.doSnapshot().finally(() => {
        this.snapshotting = undefined;
      });
    }
    return this.snapshotting;
  }

  private async doSnapshot(): Promise<void> {
    const { kv, stream, snapshotChunkBytes } = this.opts;
    this.checkStillOwner();
    // Taken synchronously: the body reflects exactly the records below `covered`.
    const covered = this.appliedEnd;
    const recordsCovered = this.recordsSinceSnapshot;
    const body = encodeSnapshotBody(this.records());
    const id = (this.manifest?.id ?? 0) + 1;
    const chunks = Math.ceil(body.length / snapshotChunkBytes);
    await Promise.all(
      Array.from({ length: chunks }, (_, i) =>
        kv.put(this.chunkKey(id, i), body.subarray(i * snapshotChunkBytes, Math.min(body.length, (i + 1) * snapshotChunkBytes))),
      ),
    );
    const manifest: Manifest = { version: 1, id, coveredOffset: covered, chunks, bytes: body.length };
    this.checkStillOwner();
    await kv.put(this.manifestKey, Buffer.from(JSON.stringify(manifest), 'utf8'));
    this.manifest = manifest;
    this.recordsSinceSnapshot -= recordsCovered;
    this.snapshotsWritten++;
    if (covered > stream.startOffset()) await stream.trim(covered);
    const keep = `${this.opts.kvPrefix}snapshot/${id}/`;
    for (const key of kv.list(`${this.opts.kvPrefix}snapshot/`)) {
      if (!key.startsWith(keep)) await kv.delete(key);
    }
    this.log('debug', 'group coordinator snapshot written', { id, coveredOffset: covered, bytes: body.length, chunks });
  }

  /**
   * A snapshot must never replace one written by a newer owner of the log (a broker that took the
   * shard over while this one still had it loaded): the newer one may cover records this view
   * lacks and have trimmed them from the log. Not atomic with the put (the KV has no conditional
   * put); it narrows the window to a snapshot racing the new owner's first one.
   */
  private checkStillOwner(): void {
    if (this.fenced) {
      throw new Error(`offsets log stream ${this.opts.stream.id} was opened by a newer owner; not writing a snapshot from this stale view`);
    }
    const raw = this.opts.kv.get(this.manifestKey);
    let id = 0;
    if (raw) {
      try {
        id = ManifestSchema.parse(JSON.parse(raw.toString('utf8'))).id;
      } catch {
        id = -1;
      }
    }
    if (id !== (this.manifest?.id ?? 0)) {
      throw new Error(
        `group snapshot ${this.manifestKey} was replaced by another coordinator (snapshot ${id}, this one last wrote ${this.manifest?.id ?? 0}); this view is stale, not writing over it`,
      );
    }
  }

  /**
   * Waits for in-flight writes and any snapshot, optionally writes a final snapshot (so the next
   * start replays nothing), then refuses further writes. Does not close the stream.
   */
  async close(opts: { snapshot?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    await Promise.allSettled([...this.inflight]);
    if (this.snapshotting) await this.snapshotting.catch(() => undefined);
    if (opts.snapshot && this.dirty) {
      await this.snapshot().catch((e: unknown) => this.log('warn', 'final group coordinator snapshot failed', { error: String(e) }));
    }
    this.closed = true;
  }
}
