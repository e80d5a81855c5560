/**
 * Fencing a node's WAL writer and recovering what it made durable.
 *
 * A writer acks its WAL objects strictly in seq order, and only after its own put-if-absent of the
 * object succeeded. So the metadata owner fences a writer without its cooperation by creating a
 * tombstone at the first seq missing after the writer's committed ones (put-if-absent too):
 *
 *   listed:   1001 1002 1003 ____ 1005          (1005 uploaded early, never acked: 1004 is missing)
 *   tombstone:                1004              (the writer's PUT of 1004 now fails: it is fenced)
 *   recovered: 1001 1002 1003                   (everything it can ever have acked)
 *
 * If the writer wins the race for that seq, the tombstone PUT fails and the owner lists again. The
 * objects after the tombstone were never acked; the recorded committed seq covers them, so the
 * orphan sweep deletes them together with the tombstone.
 *
 * Only objects stamped with the node's registered writer epoch, at or after that writer's first
 * seq, are accepted: anything else was left by an earlier writer that had been fenced already.
 */
import type { ObjectStore } from '../object-store/object-store.js';
import { readObjectIndex } from '../object/reader.js';
import { rangeRecordsOf } from '../metadata/records.js';
import type { MetadataState } from '../metadata/state.js';
import type { NewObject } from '../metadata/records.js';
import { padSeq } from '../util/binary.js';
import { parseWalKey, walKey, walNodePrefix } from './wal.js';

type Log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** Body of a tombstone: not a valid object, so nothing ever reads it as data. */
export const WAL_TOMBSTONE = Buffer.from('S3STREAM WAL TOMBSTONE: the writer of this node was fenced\n', 'utf8');

export interface WalFence {
  /** The fenced writer's durable objects, in seq order, with ids allocated from the state. */
  readonly objects: { seq: number; object: NewObject }[];
  /** Every seq up to this one is now decided (recovered, never acked, or the tombstone). */
  readonly committedSeq: number;
}

const INDEX_CONCURRENCY = 8;
const MAX_TOMBSTONE_RACES = 100;

async function listSeqs(store: ObjectStore, node: number, after: number): Promise<Map<number, { key: string; size: number }>> {
  const out = new Map<number, { key: string; size: number }>();
  for (const o of await store.list(walNodePrefix(node), walNodePrefix(node) + padSeq(after))) {
    const k = parseWalKey(o.key);
    if (k !== undefined && k.node === node && k.seq > after) out.set(k.seq, { key: o.key, size: o.size });
  }
  return out;
}

/**
 * Fences the current WAL writer of `node` (if any) and returns what it made durable. Also used for
 * a node with no live writer: then it only reports the highest seq in use (nothing is accepted).
 */
export async function fenceWal(store: ObjectStore, state: MetadataState, node: number, log?: Log): Promise<WalFence> {
  const meta = state.nodes.get(node);
  const after = meta?.committedSeq ?? 0;
  const live = meta !== undefined && meta.writerEpoch >= 0;
  const first = Math.max(after + 1, meta?.walStartSeq ?? 0);
  let listed = await listSeqs(store, node, after);
  let gap = first;
  if (live) {
    for (let race = 0; ; race++) {
      gap = first;
      while (listed.has(gap)) gap++;
      if (await store.putIfAbsent(walKey(node, gap), WAL_TOMBSTONE)) break;
      if (race >= MAX_TOMBSTONE_RACES) {
        throw new Error(`cannot fence the WAL of node ${node}: its writer keeps creating ${walKey(node, gap)}; retry later`);
      }
      listed = await listSeqs(store, node, after);
    }
  }
  const maxListed = Math.max(after, gap, ...listed.keys());
  const objects: WalFence['objects'] = [];
  if (!live) return { objects, committedSeq: maxListed };
  const run = [...listed.entries()].filter(([seq]) => seq >= first && seq < gap).sort((a, b) => a[0] - b[0]);
  for (let i = 0; i < run.length; i += INDEX_CONCURRENCY) {
    const chunk = run.slice(i, i + INDEX_CONCURRENCY);
    const indexes = await Promise.all(
      chunk.map(([, o]) =>
        readObjectIndex(store, o.key, o.size).catch((err: unknown) => {
          log?.('error', 'unreadable WAL object skipped during recovery', { key: o.key, error: String(err) });
          return undefined;
        }),
      ),
    );
    chunk.forEach(([seq, o], n) => {
      const index = indexes[n];
      if (index === undefined) return;
      if (index.footer.writerEpoch !== meta.writerEpoch) {
        log?.('warn', 'WAL object from an earlier writer ignored', { key: o.key, writerEpoch: index.footer.writerEpoch, expectedEpoch: meta.writerEpoch });
        return;
      }
      objects.push({ seq, object: { id: state.nextObjectId++, key: o.key, size: o.size, kind: 'wal', ranges: rangeRecordsOf(index.entries) } });
    });
  }
  return { objects, committedSeq: maxListed };
}
