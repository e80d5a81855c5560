/**
 * LogCache: the most recent durable appends of every stream, so tail reads (consumers keeping up)
 * never touch the object store. It only receives data once the WAL made it durable (reads never go
 * past the confirmed offset anyway), so everything in it can be evicted: the bound is strict.
 * Eviction is FIFO over flushes, oldest first, record by record.
 */
import type { StoredRecord } from '../object/format.js';
import { recordBytes } from '../object/format.js';

interface StreamEntries {
  records: StoredRecord[];
  /** Index of the first live record in `records`. */
  head: number;
  /** Absolute number of records ever removed from the front (eviction or drop). */
  removed: number;
}

interface Segment {
  readonly streamId: number;
  /** Absolute record count of the stream once this segment was added. */
  readonly absEnd: number;
}

export class LogCache {
  private readonly streams = new Map<number, StreamEntries>();
  private readonly fifo: Segment[] = [];
  private fifoHead = 0;
  private bytesHeld = 0;

  constructor(private readonly maxBytes: number) {}

  get bytes(): number {
    return this.bytesHeld;
  }

  /** Adds durable records of one stream; must continue where the previous put for that stream ended. */
  put(streamId: number, records: readonly StoredRecord[]): void {
    if (records.length === 0) return;
    let s = this.streams.get(streamId);
    if (s === undefined) this.streams.set(streamId, (s = { records: [], head: 0, removed: 0 }));
    const last = s.records[s.records.length - 1];
    if (s.records.length > s.head && last !== undefined && records[0]!.baseOffset !== last.baseOffset + last.count) {
      // Not contiguous (cannot happen with in-order flushes): start over rather than serve a gap.
      this.removeFront(s, s.records.length - s.head);
    }
    for (const r of records) {
      s.records.push(r);
      this.bytesHeld += recordBytes(r.payload.length);
    }
    this.fifo.push({ streamId, absEnd: s.removed + (s.records.length - s.head) });
    this.evict();
  }

  private removeFront(s: StreamEntries, n: number): void {
    const end = Math.min(s.head + n, s.records.length);
    for (let i = s.head; i < end; i++) this.bytesHeld -= recordBytes(s.records[i]!.payload.length);
    s.removed += end - s.head;
    s.head = end;
    if (s.head === s.records.length) {
      s.records = [];
      s.head = 0;
    } else if (s.head > 1024 && s.head * 2 > s.records.length) {
      s.records = s.records.slice(s.head);
      s.head = 0;
    }
  }

  private evict(): void {
    while (this.bytesHeld > this.maxBytes && this.fifoHead < this.fifo.length) {
      const seg = this.fifo[this.fifoHead]!;
      const s = this.streams.get(seg.streamId);
      // Record by record, so that a flush bigger than the cache still leaves its newest records.
      // Entries stay (tiny) when empty: their `removed` count keeps later segments meaningful.
      if (s !== undefined && seg.absEnd > s.removed) this.removeFront(s, 1);
      else this.fifoHead++;
    }
    if (this.fifoHead > 1024 && this.fifoHead * 2 > this.fifo.length) {
      this.fifo.splice(0, this.fifoHead);
      this.fifoHead = 0;
    }
  }

  /** Lowest offset this cache can serve for the stream, or undefined when it holds nothing. */
  firstOffset(streamId: number): number | undefined {
    const s = this.streams.get(streamId);
    return s === undefined || s.head >= s.records.length ? undefined : s.records[s.head]!.baseOffset;
  }

  /**
   * Records from the one containing `start` (or the first after it) while their base offset is
   * below `end`. Returns undefined when `start` is below what the cache holds.
   */
  read(streamId: number, start: number, end: number, visit: (r: StoredRecord) => boolean): boolean | undefined {
    const s = this.streams.get(streamId);
    if (s === undefined || s.head >= s.records.length || start < s.records[s.head]!.baseOffset) return undefined;
    // Binary search: last record with baseOffset <= start.
    let lo = s.head;
    let hi = s.records.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s.records[mid]!.baseOffset <= start) lo = mid;
      else hi = mid - 1;
    }
    for (let i = lo; i < s.records.length; i++) {
      const r = s.records[i]!;
      if (r.baseOffset + r.count <= start) continue;
      if (r.baseOffset >= end) break;
      if (!visit(r)) return false;
    }
    return true;
  }

  /** Forgets a stream (deleted; stream ids are never reused, so stale segments stay harmless). */
  drop(streamId: number): void {
    const s = this.streams.get(streamId);
    if (s === undefined) return;
    this.removeFront(s, s.records.length - s.head);
    this.streams.delete(streamId);
  }
}
