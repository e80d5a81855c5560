/**
 * Startup recovery of WAL objects that are durable (their appends may have been acked) but not yet
 * recorded in the metadata, because WAL commits are batched. For every node the metadata knows,
 * and for this node, objects after the node's committed seq are listed and their ranges read from
 * their index (footer + index, one ranged GET each).
 *
 * Only objects stamped with the node's registered writer epoch, at or after that writer's first
 * seq, are accepted: anything else was written by a writer that had already been fenced and never
 * acked it.
 */
import type { ObjectStore } from '../object-store/object-store.js';
import { readObjectIndex } from '../object/reader.js';
import { rangeRecordsOf } from '../metadata/records.js';
import type { MetadataState } from '../metadata/state.js';
import type { NewObject } from '../metadata/records.js';
import { padSeq } from '../util/binary.js';
import { parseWalKey, walNodePrefix } from './wal.js';

type Log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface WalRecovery {
  /** Accepted objects, in (node, seq) order, with ids allocated from the state. */
  readonly objects: { node: number; seq: number; object: NewObject }[];
  /** Per node, the highest seq seen (accepted or not). */
  readonly committed: { node: number; seq: number }[];
  /** Highest seq seen for this client's node (0 if none). */
  readonly maxSeqForNode: number;
}

const INDEX_CONCURRENCY = 8;

export async function recoverWal(store: ObjectStore, state: MetadataState, nodeId: number, log?: Log): Promise<WalRecovery> {
  const nodes = new Set<number>([...state.nodes.keys(), nodeId]);
  const objects: WalRecovery['objects'] = [];
  const committed: WalRecovery['committed'] = [];
  let maxSeqForNode = 0;
  for (const node of [...nodes].sort((a, b) => a - b)) {
    const meta = state.nodes.get(node);
    const after = meta?.committedSeq ?? 0;
    const listed = (await store.list(walNodePrefix(node), walNodePrefix(node) + padSeq(after)))
      .map((o) => ({ ...o, parsed: parseWalKey(o.key) }))
      .filter((o) => o.parsed !== undefined && o.parsed.node === node && o.parsed.seq > after)
      .sort((a, b) => a.parsed!.seq - b.parsed!.seq);
    let maxSeq = after;
    for (let i = 0; i < listed.length; i += INDEX_CONCURRENCY) {
      const chunk = listed.slice(i, i + INDEX_CONCURRENCY);
      const indexes = await Promise.all(
        chunk.map((o) =>
          readObjectIndex(store, o.key, o.size).catch((err: unknown) => {
            log?.('error', 'unreadable WAL object skipped during recovery', { key: o.key, error: String(err) });
            return undefined;
          }),
        ),
      );
      chunk.forEach((o, n) => {
        const seq = o.parsed!.seq;
        maxSeq = Math.max(maxSeq, seq);
        const index = indexes[n];
        if (index === undefined) return;
        if (meta === undefined || meta.writerEpoch < 0 || index.footer.writerEpoch !== meta.writerEpoch || seq < meta.walStartSeq) {
          log?.('warn', 'WAL object from a fenced or unknown writer ignored', {
            key: o.key,
            writerEpoch: index.footer.writerEpoch,
            expectedEpoch: meta?.writerEpoch,
          });
          return;
        }
        objects.push({
          node,
          seq,
          object: {
            id: state.nextObjectId++,
            key: o.key,
            size: o.size,
            kind: 'wal',
            ranges: rangeRecordsOf(index.entries),
          },
        });
      });
    }
    if (listed.length > 0 || meta !== undefined) committed.push({ node, seq: maxSeq });
    if (node === nodeId) maxSeqForNode = maxSeq;
  }
  return { objects, committed, maxSeqForNode };
}
