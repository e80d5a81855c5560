/**
 * BlockCache: LRU of decoded data blocks fetched from objects by ranged GETs, bounded by bytes.
 * A miss fetches the needed block plus the following blocks of the same stream up to the reader's
 * readahead size in ONE ranged GET (the blocks of a stream are adjacent inside an object).
 * Concurrent readers of the same block share one GET.
 */
import type { ObjectStore } from '../object-store/object-store.js';
import type { IndexEntry, StoredRecord } from '../object/format.js';
import type { ObjectIndex } from '../object/reader.js';
import { parseRangeBlocks, readBlockRun, readObjectIndex } from '../object/reader.js';
import { INDEX_ENTRY_BYTES } from '../object/format.js';

export interface ObjectRef {
  readonly id: number;
  readonly key: string;
  readonly size: number;
}

interface CachedBlock {
  readonly records: StoredRecord[];
  readonly bytes: number;
}

/** Generic byte-bounded LRU on Map insertion order. */
class Lru<V extends { bytes: number }> {
  private readonly map = new Map<string, V>();
  bytes = 0;
  constructor(private readonly maxBytes: number) {}
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  has(key: string): boolean {
    return this.map.has(key);
  }
  set(key: string, v: V): void {
    if (v.bytes > this.maxBytes) return; // would evict everything for one entry: serve it uncached
    const old = this.map.get(key);
    if (old !== undefined) {
      this.map.delete(key);
      this.bytes -= old.bytes;
    }
    while (this.bytes + v.bytes > this.maxBytes) {
      const oldest = this.map.entries().next();
      if (oldest.done === true) break;
      this.map.delete(oldest.value[0]);
      this.bytes -= oldest.value[1].bytes;
    }
    this.map.set(key, v);
    this.bytes += v.bytes;
  }
  deleteWhere(pred: (key: string) => boolean): void {
    for (const [k, v] of this.map) {
      if (pred(k)) {
        this.map.delete(k);
        this.bytes -= v.bytes;
      }
    }
  }
}

/** How many stream ranges' block layouts are remembered (a few dozen bytes each). */
const RANGE_LAYOUTS = 16_384;

/** A stream's range inside an object, as kept in metadata (see RangeRecord.pos). */
export interface RangeRef {
  readonly streamId: number;
  readonly pos: number;
  readonly bytes: number;
}

export class BlockCache {
  private readonly lru: Lru<CachedBlock>;
  private readonly loading = new Map<string, Promise<CachedBlock>>();
  /**
   * Block layouts (index entries) of stream ranges read whole, learnt from the blocks' own headers:
   * a later read inside the range finds its blocks without the object's index.
   */
  private readonly layouts = new Map<string, IndexEntry[]>();
  private readonly rangeLoads = new Map<string, Promise<IndexEntry[]>>();
  hits = 0;
  misses = 0;

  constructor(
    private readonly store: ObjectStore,
    maxBytes: number,
  ) {
    this.lru = new Lru(maxBytes);
  }

  get bytes(): number {
    return this.lru.bytes;
  }

  private static key(objectId: number, position: number): string {
    return `${objectId}:${position}`;
  }

  /**
   * Records of `entries[i]`. On a miss, also loads the following entries (which must be the same
   * stream's blocks of the same object, in order) up to `readaheadBytes` in the same GET.
   */
  async block(obj: ObjectRef, entries: readonly IndexEntry[], i: number, readaheadBytes: number): Promise<StoredRecord[]> {
    const key = BlockCache.key(obj.id, entries[i]!.position);
    const hit = this.lru.get(key);
    if (hit !== undefined) {
      this.hits++;
      return hit.records;
    }
    const pending = this.loading.get(key);
    if (pending !== undefined) {
      this.hits++;
      return (await pending).records;
    }
    this.misses++;
    const run: IndexEntry[] = [entries[i]!];
    let bytes = entries[i]!.size;
    for (let j = i + 1; j < entries.length; j++) {
      const e = entries[j]!;
      const prev = entries[j - 1]!;
      const k = BlockCache.key(obj.id, e.position);
      if (prev.position + prev.size !== e.position || bytes + e.size > readaheadBytes) break;
      if (this.lru.has(k) || this.loading.has(k)) break;
      run.push(e);
      bytes += e.size;
    }
    const load = readBlockRun(this.store, obj.key, run);
    const promises = run.map((e, n) => {
      const p = load.then((blocks) => {
        const b = blocks[n]!;
        const cached: CachedBlock = { records: b.records, bytes: b.raw.length };
        this.lru.set(BlockCache.key(obj.id, e.position), cached);
        return cached;
      });
      const k = BlockCache.key(obj.id, e.position);
      this.loading.set(k, p);
      void p.then(
        () => this.loading.delete(k),
        () => this.loading.delete(k),
      );
      return p;
    });
    return (await promises[0]!).records;
  }

  /** The block layout of a range read whole before (see loadRange), if remembered. */
  rangeLayout(obj: ObjectRef, range: RangeRef): IndexEntry[] | undefined {
    const k = `${obj.id}@${range.pos}`;
    const hit = this.layouts.get(k);
    if (hit !== undefined) {
      this.layouts.delete(k);
      this.layouts.set(k, hit);
    }
    return hit;
  }

  /**
   * Fetches a whole stream range (all its blocks, adjacent in the object) with ONE ranged GET,
   * without the object's index: the blocks' headers give their sizes. Caches the blocks and the
   * layout; returns the layout. Concurrent loads of the same range share the GET.
   */
  loadRange(obj: ObjectRef, range: RangeRef): Promise<IndexEntry[]> {
    return this.loadRanges(obj, [range])[0]!;
  }

  /**
   * Like loadRange for several ranges of one object (sorted by position, near each other), with
   * ONE GET spanning them all: a WAL object read by several catch-up readers at once (the
   * partitions of one topic) costs one GET, not one per stream. Ranges already cached or loading
   * are not fetched again. Returns the layouts, aligned with `ranges`.
   */
  loadRanges(obj: ObjectRef, ranges: readonly RangeRef[], maxGapBytes = 0): Promise<IndexEntry[]>[] {
    const out: (Promise<IndexEntry[]> | undefined)[] = ranges.map((range) => {
      const k = `${obj.id}@${range.pos}`;
      const known = this.layouts.get(k);
      if (known !== undefined) return Promise.resolve(known);
      const pending = this.rangeLoads.get(k);
      if (pending !== undefined) this.hits++;
      return pending;
    });
    // One GET per run of missing ranges less than maxGapBytes apart: a range already cached or
    // loading in between splits the run rather than being fetched again.
    let run: number[] = [];
    const flush = (): void => {
      if (run.length > 0) this.fetchRun(obj, ranges, run, out);
      run = [];
    };
    ranges.forEach((range, i) => {
      if (out[i] !== undefined) return flush();
      const prev = run.length > 0 ? ranges[run[run.length - 1]!]! : undefined;
      if (prev !== undefined && (run[run.length - 1] !== i - 1 || range.pos - (prev.pos + prev.bytes) > maxGapBytes)) flush();
      run.push(i);
    });
    flush();
    return out as Promise<IndexEntry[]>[];
  }

  private fetchRun(obj: ObjectRef, ranges: readonly RangeRef[], run: readonly number[], out: (Promise<IndexEntry[]> | undefined)[]): void {
    this.misses++;
    const start = ranges[run[0]!]!.pos;
    const last = ranges[run[run.length - 1]!]!;
    const end = last.pos + last.bytes;
    const body = this.store.get(obj.key, { start, end }).then((b) => {
      if (b.length !== end - start) throw new Error(`short read of ${obj.key} [${start}, ${end}): got ${b.length} bytes`);
      return b;
    });
    for (const i of run) {
      const range = ranges[i]!;
      const k = `${obj.id}@${range.pos}`;
      const p = body.then((b) => {
        const layout: IndexEntry[] = [];
        for (const blk of parseRangeBlocks(b.subarray(range.pos - start, range.pos - start + range.bytes), obj.key, range.streamId, range.pos)) {
          // Views into one response: the blocks of a range are inserted (and so evicted) together.
          this.lru.set(BlockCache.key(obj.id, blk.entry.position), { records: blk.records, bytes: blk.entry.size });
          layout.push(blk.entry);
        }
        this.layouts.set(k, layout);
        if (this.layouts.size > RANGE_LAYOUTS) this.layouts.delete(this.layouts.keys().next().value!);
        return layout;
      });
      this.rangeLoads.set(k, p);
      void p.then(
        () => this.rangeLoads.delete(k),
        () => this.rangeLoads.delete(k),
      );
      out[i] = p;
    }
  }

  /** Drops blocks of deleted objects (their ids are never reused, this only frees memory early). */
  forgetObject(objectId: number): void {
    const prefix = `${objectId}:`;
    this.lru.deleteWhere((k) => k.startsWith(prefix));
    const layoutPrefix = `${objectId}@`;
    for (const k of this.layouts.keys()) if (k.startsWith(layoutPrefix)) this.layouts.delete(k);
  }
}

/** Parsed object indexes, LRU-bounded by an estimate of their memory. */
export class IndexCache {
  private readonly lru: Lru<{ index: ObjectIndex; bytes: number }>;
  private readonly loading = new Map<number, Promise<ObjectIndex>>();

  constructor(
    private readonly store: ObjectStore,
    maxBytes: number,
  ) {
    this.lru = new Lru(maxBytes);
  }

  get bytes(): number {
    return this.lru.bytes;
  }

  async get(obj: ObjectRef): Promise<ObjectIndex> {
    const k = String(obj.id);
    const hit = this.lru.get(k);
    if (hit !== undefined) return hit.index;
    const pending = this.loading.get(obj.id);
    if (pending !== undefined) return pending;
    const p = readObjectIndex(this.store, obj.key, obj.size).then((index) => {
      // Decoded entries cost roughly twice their encoded size in JS objects.
      this.lru.set(k, { index, bytes: 256 + index.entries.length * INDEX_ENTRY_BYTES * 2 });
      return index;
    });
    this.loading.set(obj.id, p);
    try {
      return await p;
    } finally {
      this.loading.delete(obj.id);
    }
  }

  forgetObject(objectId: number): void {
    this.lru.deleteWhere((k) => k === String(objectId));
  }
}
