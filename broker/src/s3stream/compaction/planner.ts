/**
 * Compaction planner: a pure function from the live objects to a list of plans.
 *
 * - split: WAL objects (data of many streams) are rewritten into per-stream objects, so a stream's
 *   data ends up contiguous and a stream's retention can free whole objects.
 * - merge: runs of small per-stream objects of one stream are merged into one, bounding the object
 *   count and the metadata size.
 *
 * Every plan is committed with one metadata record that replaces all ranges of its sources.
 */

export interface PlannerRange {
  readonly streamId: number;
  readonly start: number;
  readonly end: number;
  readonly bytes: number;
}

export interface PlannerObject {
  readonly id: number;
  readonly kind: 'wal' | 'stream';
  readonly size: number;
  /** Live ranges referencing this object. */
  readonly ranges: readonly PlannerRange[];
}

export interface PlannerConfig {
  /** Output objects are cut at about this many bytes. */
  readonly targetObjectBytes: number;
  /** Stream objects below this size are merge candidates. */
  readonly smallObjectBytes: number;
  /** Bound on the WAL bytes one split plan reads (memory and time per round). */
  readonly maxWalBytesPerRound: number;
}

export interface OutputPiece {
  readonly objectId: number;
  readonly start: number;
  readonly end: number;
  readonly bytes: number;
}

export interface OutputObject {
  readonly streamId: number;
  readonly pieces: readonly OutputPiece[];
  readonly bytes: number;
}

export interface CompactionPlan {
  readonly kind: 'split' | 'merge';
  readonly sources: readonly number[];
  readonly outputs: readonly OutputObject[];
}

function cut(streamId: number, pieces: OutputPiece[], target: number): OutputObject[] {
  const out: OutputObject[] = [];
  let cur: OutputPiece[] = [];
  let bytes = 0;
  for (const p of pieces) {
    if (cur.length > 0 && bytes + p.bytes > target) {
      out.push({ streamId, pieces: cur, bytes });
      cur = [];
      bytes = 0;
    }
    cur.push(p);
    bytes += p.bytes;
  }
  if (cur.length > 0) out.push({ streamId, pieces: cur, bytes });
  return out;
}

export function planCompaction(objects: readonly PlannerObject[], cfg: PlannerConfig): CompactionPlan[] {
  const plans: CompactionPlan[] = [];

  // Split: oldest WAL objects first, within the per-round budget (always at least one).
  const wal = objects.filter((o) => o.kind === 'wal').sort((a, b) => a.id - b.id);
  const chosen: PlannerObject[] = [];
  let budget = 0;
  for (const o of wal) {
    if (chosen.length > 0 && budget + o.size > cfg.maxWalBytesPerRound) break;
    chosen.push(o);
    budget += o.size;
  }
  if (chosen.length > 0) {
    const byStream = new Map<number, OutputPiece[]>();
    for (const o of chosen) {
      for (const r of o.ranges) {
        let list = byStream.get(r.streamId);
        if (list === undefined) byStream.set(r.streamId, (list = []));
        list.push({ objectId: o.id, start: r.start, end: r.end, bytes: r.bytes });
      }
    }
    const outputs: OutputObject[] = [];
    for (const sid of [...byStream.keys()].sort((a, b) => a - b)) {
      outputs.push(...cut(sid, byStream.get(sid)!.sort((a, b) => a.start - b.start), cfg.targetObjectBytes));
    }
    plans.push({ kind: 'split', sources: chosen.map((o) => o.id), outputs });
  }

  // Merge: consecutive small objects of a stream (stream objects hold a single stream).
  const byStream = new Map<number, { obj: PlannerObject; range: PlannerRange }[]>();
  for (const o of objects) {
    if (o.kind !== 'stream' || o.ranges.length === 0) continue;
    const sid = o.ranges[0]!.streamId;
    if (o.ranges.some((r) => r.streamId !== sid)) continue;
    let list = byStream.get(sid);
    if (list === undefined) byStream.set(sid, (list = []));
    for (const r of o.ranges) list.push({ obj: o, range: r });
  }
  for (const sid of [...byStream.keys()].sort((a, b) => a - b)) {
    const list = byStream.get(sid)!.sort((a, b) => a.range.start - b.range.start);
    let group: { obj: PlannerObject; range: PlannerRange }[] = [];
    let bytes = 0;
    const flush = (): void => {
      const ids = [...new Set(group.map((g) => g.obj.id))];
      if (ids.length >= 2) {
        const pieces = group.map((g) => ({ objectId: g.obj.id, start: g.range.start, end: g.range.end, bytes: g.range.bytes }));
        plans.push({ kind: 'merge', sources: ids, outputs: [{ streamId: sid, pieces, bytes }] });
      }
      group = [];
      bytes = 0;
    };
    for (const item of list) {
      const small = item.obj.size < cfg.smallObjectBytes;
      const inGroup = group.length > 0 && group[group.length - 1]!.obj.id === item.obj.id;
      if (!small && !inGroup) {
        flush();
        continue;
      }
      if (!inGroup && bytes + item.range.bytes > cfg.targetObjectBytes) flush();
      group.push(item);
      bytes += item.range.bytes;
    }
    flush();
  }
  return plans;
}
