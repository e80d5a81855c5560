/**
 * The metadata state machine. `apply` is deterministic: replaying the same records over the same
 * snapshot gives the same state, which is what makes "latest snapshot + later log objects" a
 * faithful load.
 */
import type { MetaRecord, NewObject, SnapshotState } from './records.js';

export interface RangeMeta {
  readonly objectId: number;
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
  /** Bytes of the stream's blocks for this range in the object. */
  readonly bytes: number;
  /** Latest append time in the range. */
  readonly ts: number;
  /** Position of the range's first block in the object, when its blocks are adjacent (see records.ts). */
  readonly pos?: number;
}

export interface StreamMeta {
  readonly id: number;
  epoch: number;
  startOffset: number;
  /** End of the data recorded in metadata (committed). */
  nextOffset: number;
  /** Sorted by start, non-overlapping. */
  ranges: RangeMeta[];
}

export type ObjectKind = 'wal' | 'stream';

export interface ObjectMeta {
  readonly id: number;
  readonly key: string;
  readonly size: number;
  readonly kind: ObjectKind;
  /** undefined while live; set when no stream range references the object any more. */
  releasedAtMs: number | undefined;
  /** Streams holding ranges in this object (derived, not persisted). */
  readonly refs: Set<number>;
}

export interface NodeMeta {
  /** Epoch of the writer allowed to add WAL objects for this node; -1 once retired. */
  writerEpoch: number;
  /** First WAL seq of the current writer; objects below it belong to earlier writers. */
  walStartSeq: number;
  /** WAL objects up to this seq are applied (or were rejected) already. */
  committedSeq: number;
}

export interface MetadataState {
  nextStreamId: number;
  nextObjectId: number;
  readonly streams: Map<number, StreamMeta>;
  readonly objects: Map<number, ObjectMeta>;
  readonly kv: Map<string, Buffer>;
  readonly nodes: Map<number, NodeMeta>;
  /** Log seqs of 'open' records (most recent last); never deleted so fenced writers stay fenced. */
  openSeqs: number[];
}

/** How many open records are protected from log cleanup. */
const KEPT_OPEN_SEQS = 100;

export function emptyState(): MetadataState {
  return {
    nextStreamId: 0,
    nextObjectId: 0,
    streams: new Map(),
    objects: new Map(),
    kv: new Map(),
    nodes: new Map(),
    openSeqs: [],
  };
}

function release(state: MetadataState, objectId: number, ts: number): void {
  const o = state.objects.get(objectId);
  if (o !== undefined && o.refs.size === 0 && o.releasedAtMs === undefined) o.releasedAtMs = ts;
}

/** Re-derives whether `stream` references each touched object. Callers release afterwards. */
function rebuildRefs(state: MetadataState, stream: StreamMeta, touched: Iterable<number>): void {
  const still = new Set(stream.ranges.map((r) => r.objectId));
  for (const objectId of touched) {
    const o = state.objects.get(objectId);
    if (o === undefined) continue;
    if (still.has(objectId)) o.refs.add(stream.id);
    else o.refs.delete(stream.id);
  }
}

function insertObject(state: MetadataState, obj: NewObject): ObjectMeta {
  // Idempotent: a node applies its own WAL commits before the owner writes them, then again when
  // they come back through the log; the second time must not reset the object's references.
  const existing = state.objects.get(obj.id);
  if (existing !== undefined && existing.key === obj.key) return existing;
  const o: ObjectMeta = { id: obj.id, key: obj.key, size: obj.size, kind: obj.kind, releasedAtMs: undefined, refs: new Set() };
  state.objects.set(obj.id, o);
  if (obj.id >= state.nextObjectId) state.nextObjectId = obj.id + 1;
  return o;
}

/**
 * Appends a WAL object's ranges at the streams' ends. Ranges that the stream already has (a replay)
 * or that belong to deleted streams are ignored; the object is released if nothing references it.
 */
function appendObject(state: MetadataState, obj: NewObject, ts: number): void {
  const o = insertObject(state, obj);
  for (const r of obj.ranges) {
    const s = state.streams.get(r.s);
    if (s === undefined || r.end <= s.nextOffset || r.start < s.nextOffset) continue;
    s.ranges.push({ objectId: obj.id, start: r.start, end: r.end, bytes: r.bytes, ts: r.ts, ...(r.pos !== undefined ? { pos: r.pos } : {}) });
    s.nextOffset = r.end;
    o.refs.add(s.id);
  }
  release(state, obj.id, ts);
}

function trimStream(state: MetadataState, s: StreamMeta, startOffset: number, ts: number): void {
  if (startOffset <= s.startOffset) return;
  s.startOffset = startOffset;
  if (s.nextOffset < startOffset) s.nextOffset = startOffset;
  const dropped = s.ranges.filter((r) => r.end <= startOffset).map((r) => r.objectId);
  if (dropped.length === 0) return;
  s.ranges = s.ranges.filter((r) => r.end > startOffset);
  rebuildRefs(state, s, dropped);
  for (const id of dropped) release(state, id, ts);
}

/**
 * Applies one record. `seq` is the log position when known (replay of durable records); the
 * speculative state applies records before they have one.
 */
export function applyRecord(state: MetadataState, rec: MetaRecord, ts: number, seq: number | undefined): void {
  switch (rec.t) {
    case 'open':
      if (seq !== undefined) {
        state.openSeqs.push(seq);
        if (state.openSeqs.length > KEPT_OPEN_SEQS) state.openSeqs.splice(0, state.openSeqs.length - KEPT_OPEN_SEQS);
      }
      return;
    case 'recover': {
      for (const { object } of rec.objects) appendObject(state, object, ts);
      for (const { node, seq: committed } of rec.committed) {
        const n = state.nodes.get(node);
        if (n === undefined) state.nodes.set(node, { writerEpoch: -1, walStartSeq: 0, committedSeq: committed });
        else {
          n.committedSeq = Math.max(n.committedSeq, committed);
          if (node !== rec.node) n.writerEpoch = -1; // another node's writer is gone for good
        }
      }
      const mine = state.nodes.get(rec.node);
      const committedSeq = Math.max(mine?.committedSeq ?? 0, rec.walStartSeq - 1);
      state.nodes.set(rec.node, { writerEpoch: rec.writerEpoch, walStartSeq: rec.walStartSeq, committedSeq });
      return;
    }
    case 'fenceNode': {
      for (const { object } of rec.objects) appendObject(state, object, ts);
      const n = state.nodes.get(rec.node);
      if (n === undefined) state.nodes.set(rec.node, { writerEpoch: -1, walStartSeq: 0, committedSeq: rec.committedSeq });
      else {
        n.writerEpoch = -1;
        n.committedSeq = Math.max(n.committedSeq, rec.committedSeq);
      }
      return;
    }
    case 'registerNode': {
      const n = state.nodes.get(rec.node);
      state.nodes.set(rec.node, {
        writerEpoch: rec.writerEpoch,
        walStartSeq: rec.walStartSeq,
        committedSeq: Math.max(n?.committedSeq ?? 0, rec.walStartSeq - 1),
      });
      return;
    }
    case 'ids':
      if (rec.kind === 'stream') state.nextStreamId = Math.max(state.nextStreamId, rec.start + rec.count);
      else state.nextObjectId = Math.max(state.nextObjectId, rec.start + rec.count);
      return;
    case 'createStream':
      if (!state.streams.has(rec.id)) state.streams.set(rec.id, { id: rec.id, epoch: 0, startOffset: 0, nextOffset: 0, ranges: [] });
      if (rec.id >= state.nextStreamId) state.nextStreamId = rec.id + 1;
      return;
    case 'openStream': {
      const s = state.streams.get(rec.id);
      if (s !== undefined && rec.epoch > s.epoch) s.epoch = rec.epoch;
      return;
    }
    case 'deleteStream': {
      const s = state.streams.get(rec.id);
      if (s === undefined) return;
      state.streams.delete(rec.id);
      const touched = s.ranges.map((r) => r.objectId);
      s.ranges = [];
      rebuildRefs(state, s, touched);
      for (const id of touched) release(state, id, ts);
      return;
    }
    case 'trim': {
      const s = state.streams.get(rec.id);
      if (s !== undefined) trimStream(state, s, rec.startOffset, ts);
      return;
    }
    case 'commitWal': {
      appendObject(state, rec.object, ts);
      const n = state.nodes.get(rec.node);
      if (n !== undefined && rec.seq > n.committedSeq) n.committedSeq = rec.seq;
      return;
    }
    case 'compact': {
      const removed = new Set(rec.remove);
      const affected = new Set<number>();
      for (const id of rec.remove) for (const s of state.objects.get(id)?.refs ?? []) affected.add(s);
      const added = rec.add.map((a) => insertObject(state, a));
      for (const a of rec.add) for (const r of a.ranges) affected.add(r.s);
      for (const sid of affected) {
        const s = state.streams.get(sid);
        if (s === undefined) continue;
        const kept = s.ranges.filter((r) => !removed.has(r.objectId));
        for (const a of rec.add) {
          for (const r of a.ranges) {
            if (r.s === sid && r.end > s.startOffset && r.start < s.nextOffset) {
              kept.push({ objectId: a.id, start: r.start, end: r.end, bytes: r.bytes, ts: r.ts, ...(r.pos !== undefined ? { pos: r.pos } : {}) });
            }
          }
        }
        kept.sort((x, y) => x.start - y.start);
        s.ranges = kept;
        rebuildRefs(state, s, [...rec.remove, ...rec.add.map((a) => a.id)]);
      }
      for (const id of rec.remove) {
        const o = state.objects.get(id);
        if (o === undefined) continue;
        o.refs.clear();
        release(state, id, ts);
      }
      for (const o of added) release(state, o.id, ts);
      return;
    }
    case 'kv':
      for (const [k, v] of rec.put) state.kv.set(k, Buffer.from(v, 'base64'));
      for (const k of rec.del) state.kv.delete(k);
      return;
    case 'deleted':
      for (const id of rec.ids) {
        const o = state.objects.get(id);
        if (o !== undefined && o.releasedAtMs !== undefined) state.objects.delete(id);
      }
      return;
  }
}

export function toSnapshot(state: MetadataState): SnapshotState {
  const kv: [string, string][] = [...state.kv]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => [k, v.toString('base64')]);
  return {
    nextStreamId: state.nextStreamId,
    nextObjectId: state.nextObjectId,
    streams: [...state.streams.values()].map((s) => ({
      id: s.id,
      epoch: s.epoch,
      startOffset: s.startOffset,
      nextOffset: s.nextOffset,
      ranges: s.ranges.map((r) => ({ ...r })),
    })),
    objects: [...state.objects.values()].map((o) => ({ id: o.id, key: o.key, size: o.size, kind: o.kind, releasedAtMs: o.releasedAtMs ?? null })),
    kv,
    nodes: [...state.nodes].map(([node, n]) => ({ node, ...n })),
    openSeqs: [...state.openSeqs],
  };
}

export function fromSnapshot(snap: SnapshotState): MetadataState {
  const state = emptyState();
  state.nextStreamId = snap.nextStreamId;
  state.nextObjectId = snap.nextObjectId;
  for (const o of snap.objects) {
    state.objects.set(o.id, { id: o.id, key: o.key, size: o.size, kind: o.kind, releasedAtMs: o.releasedAtMs ?? undefined, refs: new Set() });
  }
  for (const s of snap.streams) {
    state.streams.set(s.id, { id: s.id, epoch: s.epoch, startOffset: s.startOffset, nextOffset: s.nextOffset, ranges: s.ranges.map((r) => ({ ...r })) });
    for (const r of s.ranges) state.objects.get(r.objectId)?.refs.add(s.id);
  }
  for (const [k, v] of snap.kv) state.kv.set(k, Buffer.from(v, 'base64'));
  for (const n of snap.nodes) state.nodes.set(n.node, { writerEpoch: n.writerEpoch, walStartSeq: n.walStartSeq, committedSeq: n.committedSeq });
  state.openSeqs = [...snap.openSeqs];
  return state;
}
