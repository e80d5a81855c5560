/**
 * Carries out compaction plans: reads the source ranges block run by block run, writes each output
 * object (create-if-absent, so a stale writer can never overwrite one), then commits ONE metadata
 * record replacing the sources' ranges with the outputs'. Memory is bounded by one output object
 * plus one block run, whatever the data volume.
 */
import type { ObjectStore } from '../object-store/object-store.js';
import type { IndexCache } from '../cache/block-cache.js';
import { ObjectWriter, decodeBlock } from '../object/format.js';
import { contiguousRuns, entriesFor, readRawBlockRun } from '../object/reader.js';
import type { MetadataLog } from '../metadata/metadata-log.js';
import type { NewObject } from '../metadata/records.js';
import { rangeRecordsOf } from '../metadata/records.js';
import type { MetadataState } from '../metadata/state.js';
import { padSeq } from '../util/binary.js';
import type { CompactionPlan, PlannerObject } from './planner.js';

export const DATA_PREFIX = 'data/';
export function dataKey(objectId: number): string {
  return DATA_PREFIX + padSeq(objectId);
}
export function parseDataKey(key: string): number | undefined {
  const m = /^data\/(\d{20})$/.exec(key);
  return m === null ? undefined : Number(m[1]);
}

const READ_RUN_BYTES = 8 * 1024 * 1024;

type Log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface ExecutorContext {
  readonly store: ObjectStore;
  readonly metadata: MetadataLog;
  readonly indexCache: IndexCache;
  readonly blockBytes: number;
  readonly log?: Log | undefined;
}

/** Live objects with their live ranges, the planner's input. */
export function plannerView(state: MetadataState): PlannerObject[] {
  const ranges = new Map<number, { streamId: number; start: number; end: number; bytes: number }[]>();
  for (const s of state.streams.values()) {
    for (const r of s.ranges) {
      let list = ranges.get(r.objectId);
      if (list === undefined) ranges.set(r.objectId, (list = []));
      list.push({ streamId: s.id, start: r.start, end: r.end, bytes: r.bytes });
    }
  }
  const out: PlannerObject[] = [];
  for (const o of state.objects.values()) {
    if (o.releasedAtMs !== undefined) continue;
    out.push({ id: o.id, kind: o.kind, size: o.size, ranges: ranges.get(o.id) ?? [] });
  }
  return out;
}

/** True when `covering` (sorted or not) covers every offset of [start, end). */
function covers(covering: readonly { start: number; end: number }[], start: number, end: number): boolean {
  let pos = start;
  for (const c of [...covering].sort((a, b) => a.start - b.start)) {
    if (c.start > pos) break;
    if (c.end > pos) pos = c.end;
    if (pos >= end) return true;
  }
  return pos >= end;
}

/** Returns the number of objects committed, or 0 if the plan was abandoned (state changed under it). */
export async function executePlan(ctx: ExecutorContext, plan: CompactionPlan): Promise<number> {
  const { store, metadata } = ctx;
  const spec = metadata.spec;
  const uploaded: NewObject[] = [];
  const abandon = async (why: string): Promise<number> => {
    ctx.log?.('info', 'compaction plan abandoned', { kind: plan.kind, sources: plan.sources.length, reason: why });
    await store.delete(uploaded.map((u) => u.key)).catch(() => undefined);
    return 0;
  };

  try {
    await writeOutputs(ctx, plan, uploaded);
  } catch (err) {
    if (err instanceof SourceGone) return abandon(err.message);
    // Do not leave uncommitted outputs behind (the startup sweep would find them, but later).
    await store.delete(uploaded.map((u) => u.key)).catch(() => undefined);
    throw err;
  }

  // The state may have moved while we copied (trims, deletes, other plans): re-check, then commit
  // without yielding so nothing can change between the check and the record.
  const sources = new Set(plan.sources);
  for (const id of plan.sources) {
    const o = spec.objects.get(id);
    if (o === undefined || o.releasedAtMs !== undefined) return abandon(`source object ${id} was released meanwhile`);
  }
  for (const s of spec.streams.values()) {
    const mine = uploaded.flatMap((u) => u.ranges.filter((r) => r.s === s.id));
    for (const r of s.ranges) {
      if (sources.has(r.objectId) && r.end > s.startOffset && !covers(mine, Math.max(r.start, s.startOffset), r.end)) {
        return abandon(`outputs do not cover stream ${s.id} [${r.start}, ${r.end}) of object ${r.objectId}`);
      }
    }
  }
  await metadata.append([{ t: 'compact', remove: [...plan.sources], add: uploaded }]);
  return uploaded.length;
}

class SourceGone extends Error {}

async function writeOutputs(ctx: ExecutorContext, plan: CompactionPlan, uploaded: NewObject[]): Promise<void> {
  const { store, metadata } = ctx;
  const spec = metadata.spec;
  for (const output of plan.outputs) {
    const writer = new ObjectWriter(ctx.blockBytes);
    for (const piece of output.pieces) {
      const src = spec.objects.get(piece.objectId);
      if (src === undefined || src.releasedAtMs !== undefined) throw new SourceGone(`source object ${piece.objectId} is gone`);
      const index = await ctx.indexCache.get(src);
      const entries = entriesFor(index.entries, output.streamId, piece.start, piece.end);
      for (const run of contiguousRuns(entries, READ_RUN_BYTES)) {
        for (const { entry, raw } of await readRawBlockRun(store, src.key, run)) {
          // Full-size blocks move as they are (no decode, no re-encode). Small ones (WAL flushes of a
          // slow stream) are re-blocked record by record so outputs keep few, big blocks; so is a
          // block straddling the piece's edge.
          if (entry.size >= ctx.blockBytes / 2 && entry.startOffset >= piece.start && entry.endOffset <= piece.end) {
            writer.addBlock(entry, raw);
            continue;
          }
          for (const r of decodeBlock(raw, entry, src.key)) {
            if (r.baseOffset >= piece.start && r.baseOffset < piece.end) writer.add(output.streamId, r);
          }
        }
      }
    }
    if (writer.isEmpty) continue;
    const { body, index } = writer.finish();
    let id = spec.nextObjectId++;
    // Ids can collide with an object a crashed predecessor uploaded but never committed.
    while (!(await store.putIfAbsent(dataKey(id), body))) id = spec.nextObjectId++;
    uploaded.push({
      id,
      key: dataKey(id),
      size: body.length,
      kind: 'stream',
      ranges: rangeRecordsOf(index),
    });
  }
}
