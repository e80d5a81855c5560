/**
 * Retention decisions: pure functions over a stream's ranges. They only ever move the start offset
 * to a range boundary, so whole ranges (and, once unreferenced, whole objects) are freed.
 */
import type { RangeMeta } from '../metadata/state.js';

export interface RetentionView {
  readonly startOffset: number;
  readonly ranges: readonly RangeMeta[];
}

/** New start offset dropping the leading ranges whose data was all appended before `appendedBeforeMs`. */
export function startForRetainSince(view: RetentionView, appendedBeforeMs: number, confirmOffset: number): number {
  let start = view.startOffset;
  for (const r of view.ranges) {
    if (r.end <= start) continue;
    if (r.ts >= appendedBeforeMs || r.end > confirmOffset) break;
    start = r.end;
  }
  return start;
}

/** New start offset dropping the oldest whole ranges until at most `maxBytes` remain. */
export function startForRetainBytes(view: RetentionView, maxBytes: number, confirmOffset: number): number {
  const live = view.ranges.filter((r) => r.end > view.startOffset);
  let total = live.reduce((n, r) => n + r.bytes, 0);
  let start = view.startOffset;
  for (const r of live) {
    if (total <= maxBytes || r.end > confirmOffset) break;
    total -= r.bytes;
    start = r.end;
  }
  return start;
}

export function liveBytes(view: RetentionView): number {
  let n = 0;
  for (const r of view.ranges) if (r.end > view.startOffset) n += r.bytes;
  return n;
}
