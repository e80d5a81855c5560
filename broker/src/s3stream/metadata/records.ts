/**
 * Metadata log records and snapshot shape. Everything read back from the object store is validated
 * with these schemas: a malformed record stops the load with a clear error instead of silently
 * building a wrong state.
 */
import { z } from 'zod';
import type { IndexEntry } from '../object/format.js';
import { rangesOf } from '../object/format.js';

const id = z.number().int().nonnegative();
const offset = z.number().int().nonnegative();

export const rangeSchema = z.object({
  /** Stream id. */
  s: id,
  start: offset,
  end: offset,
  bytes: z.number().int().nonnegative(),
  /** Latest append time in the range (retention by time). */
  ts: z.number().int().nonnegative(),
  /**
   * Position of the range's first block in the object (its blocks are adjacent): readers fetch the
   * range with one ranged GET, without the object's index. Absent in metadata written before it
   * existed; readers then use the index.
   */
  pos: z.number().int().nonnegative().optional(),
});
export type RangeRecord = z.infer<typeof rangeSchema>;

/** The metadata ranges of an object, from its index. */
export function rangeRecordsOf(index: readonly IndexEntry[]): RangeRecord[] {
  return rangesOf(index).map((r) => ({
    s: r.streamId,
    start: r.startOffset,
    end: r.endOffset,
    bytes: r.bytes,
    ts: r.maxAppendTimeMs,
    ...(r.position !== undefined ? { pos: r.position } : {}),
  }));
}

export const newObjectSchema = z.object({
  id,
  key: z.string().min(1),
  size: z.number().int().nonnegative(),
  kind: z.enum(['wal', 'stream']),
  ranges: z.array(rangeSchema),
});
export type NewObject = z.infer<typeof newObjectSchema>;

export const recordSchema = z.discriminatedUnion('t', [
  /**
   * A metadata owner (the controller) took over the log, fencing the previous one. Its seq is the
   * owner's epoch. `info` is opaque data of the embedding application (e.g. the owner's address).
   */
  z.object({ t: z.literal('open'), node: id, writer: z.string(), info: z.string().optional() }),
  /**
   * A node's WAL writer is fenced: `objects` (its durable WAL objects up to `committedSeq`, found by
   * listing, ending just before the tombstone that stops it) are applied, and no object of the
   * fenced writer is accepted any more.
   */
  z.object({
    t: z.literal('fenceNode'),
    node: id,
    committedSeq: id,
    objects: z.array(z.object({ seq: id, object: newObjectSchema })),
  }),
  /** A node's new WAL writer: objects stamped with `writerEpoch`, seqs from `walStartSeq` on. */
  z.object({ t: z.literal('registerNode'), node: id, writerEpoch: id, walStartSeq: id }),
  /** Ids [start, start + count) of a kind are reserved for one node, which assigns them itself. */
  z.object({ t: z.literal('ids'), kind: z.enum(['stream', 'object']), node: id, start: id, count: id }),
  /** Result of startup WAL recovery: replayed WAL objects and the new per-node WAL positions. */
  z.object({
    t: z.literal('recover'),
    node: id,
    writerEpoch: id,
    walStartSeq: id,
    committed: z.array(z.object({ node: id, seq: id })),
    objects: z.array(z.object({ node: id, seq: id, object: newObjectSchema })),
  }),
  z.object({ t: z.literal('createStream'), id }),
  z.object({ t: z.literal('openStream'), id, epoch: id }),
  z.object({ t: z.literal('deleteStream'), id }),
  z.object({ t: z.literal('trim'), id, startOffset: offset }),
  /** A WAL object is durable: its ranges extend the streams. */
  z.object({ t: z.literal('commitWal'), node: id, seq: id, object: newObjectSchema }),
  /** Compaction: `add` objects replace every range held by the `remove` objects, atomically. */
  z.object({ t: z.literal('compact'), remove: z.array(id), add: z.array(newObjectSchema) }),
  /** KV changes; pairs rather than a JSON object so that any key (even '__proto__') is plain data. */
  z.object({ t: z.literal('kv'), put: z.array(z.tuple([z.string(), z.string()])), del: z.array(z.string()) }),
  /** Released objects that were physically deleted. */
  z.object({ t: z.literal('deleted'), ids: z.array(id) }),
]);
export type MetaRecord = z.infer<typeof recordSchema>;

export const logBodySchema = z.object({
  seq: id,
  writer: z.string(),
  ts: z.number().int().nonnegative(),
  records: z.array(recordSchema),
});
export type LogBody = z.infer<typeof logBodySchema>;

export const snapshotStateSchema = z.object({
  nextStreamId: id,
  nextObjectId: id,
  streams: z.array(
    z.object({
      id,
      epoch: id,
      startOffset: offset,
      nextOffset: offset,
      ranges: z.array(
        z.object({
          objectId: id,
          start: offset,
          end: offset,
          bytes: z.number().int().nonnegative(),
          ts: z.number().int().nonnegative(),
          pos: z.number().int().nonnegative().optional(),
        }),
      ),
    }),
  ),
  objects: z.array(
    z.object({
      id,
      key: z.string(),
      size: z.number().int().nonnegative(),
      kind: z.enum(['wal', 'stream']),
      releasedAtMs: z.number().int().nonnegative().nullable(),
    }),
  ),
  kv: z.array(z.tuple([z.string(), z.string()])),
  nodes: z.array(z.object({ node: id, writerEpoch: z.number().int(), walStartSeq: id, committedSeq: id })),
  openSeqs: z.array(id),
});
export type SnapshotState = z.infer<typeof snapshotStateSchema>;

export const snapshotBodySchema = z.object({
  seq: id,
  writer: z.string(),
  ts: z.number().int().nonnegative(),
  state: snapshotStateSchema,
});
