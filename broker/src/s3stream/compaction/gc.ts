/**
 * Deleting objects: released objects after the grace period (readers that resolved ranges before
 * the release can still finish), and orphans (uploaded but never committed by a crashed or fenced
 * writer).
 */
import type { ObjectStore } from '../object-store/object-store.js';
import type { MetadataLog } from '../metadata/metadata-log.js';
import { parseWalKey, WAL_PREFIX } from '../wal/wal.js';
import { DATA_PREFIX, parseDataKey } from './executor.js';

type Log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/**
 * Deletes objects whose release is durable and older than the grace period, then records it.
 * Returns the ids deleted.
 */
export async function deleteReleased(store: ObjectStore, metadata: MetadataLog, now: number, graceMs: number): Promise<number[]> {
  const due: { id: number; key: string }[] = [];
  for (const o of metadata.durable.objects.values()) {
    // Decided on the durable state: a release that could still be lost must not delete data.
    // The speculative state drops an object once its 'deleted' record is queued.
    if (o.releasedAtMs !== undefined && o.releasedAtMs + graceMs <= now && metadata.spec.objects.has(o.id)) {
      due.push({ id: o.id, key: o.key });
    }
  }
  if (due.length === 0) return [];
  await store.delete(due.map((d) => d.key));
  void metadata.append([{ t: 'deleted', ids: due.map((d) => d.id) }], true).catch(() => undefined);
  return due.map((d) => d.id);
}

/**
 * Deletes objects nobody references: `data/` objects unknown to the metadata, and WAL objects at or
 * below their node's committed seq that are not live objects (rejected stale writes, leftovers).
 * Must not run concurrently with compaction (its uploads are unknown until committed).
 */
export async function sweepOrphans(store: ObjectStore, metadata: MetadataLog, log?: Log): Promise<number> {
  const state = metadata.spec;
  const known = new Set<string>();
  for (const o of state.objects.values()) known.add(o.key);
  const orphans: string[] = [];
  for (const o of await store.list(DATA_PREFIX)) {
    if (parseDataKey(o.key) !== undefined && !known.has(o.key)) orphans.push(o.key);
  }
  for (const o of await store.list(WAL_PREFIX)) {
    const k = parseWalKey(o.key);
    if (k === undefined || known.has(o.key)) continue;
    const node = state.nodes.get(k.node);
    if (node !== undefined && k.seq <= node.committedSeq) orphans.push(o.key);
  }
  if (orphans.length > 0) {
    log?.('info', 'deleting orphan objects', { count: orphans.length, first: orphans[0] });
    await store.delete(orphans);
  }
  return orphans.length;
}
