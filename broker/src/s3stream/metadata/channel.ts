/**
 * What a stream client needs from the metadata owner. The owner (a MetadataOwner, run by the
 * cluster's active controller) is the only writer of the metadata log; every node's stream client
 * sends its changes through this channel and keeps a replica of the state fed by `fetch`.
 *
 * Standalone wires it in-process (MetadataOwner implements it); a cluster carries the same calls
 * over RPC. Every method may fail with MetadataFencedError (this node's writer was fenced: stop and
 * register again) or with a transport error (the owner is unreachable: retry, maybe at a new owner).
 */
import type { MetaRecord, SnapshotState } from './records.js';

export interface NodeRegistration {
  readonly node: number;
  /** Stamped into the node's WAL objects; recovery accepts only the current writer's. */
  readonly writerEpoch: number;
  /** First WAL seq of this writer. */
  readonly walStartSeq: number;
}

export interface ReplicatedBatch {
  readonly seq: number;
  readonly ts: number;
  readonly records: readonly MetaRecord[];
}

/** Batches after the asked seq, or `reload` when the owner no longer has them (take a snapshot). */
export type FetchResult = { readonly batches: readonly ReplicatedBatch[] } | { readonly reload: true };

export interface StateSnapshot {
  /** The state after this log seq. */
  readonly seq: number;
  readonly state: SnapshotState;
}

export interface MetadataChannel {
  /**
   * Starts a new WAL writer for `node`: fences the previous writer of the node (if any), recovers
   * what it made durable, and returns the new writer's epoch and first seq.
   */
  registerNode(node: number): Promise<NodeRegistration>;
  /**
   * Appends records on behalf of the node's current writer. Resolves with the log seq once durable
   * (lazy: whenever the owner writes next, at most its commit delay later).
   */
  append(node: number, writerEpoch: number, records: readonly MetaRecord[], lazy: boolean): Promise<number>;
  /** Reserves ids for the node: [start, start + count). */
  allocateIds(node: number, writerEpoch: number, kind: 'stream' | 'object', count: number): Promise<{ start: number; count: number }>;
  /** Long poll: batches after `afterSeq`, waiting up to maxWaitMs for one. */
  fetch(afterSeq: number, maxWaitMs: number, signal?: AbortSignal): Promise<FetchResult>;
  /** The owner's whole durable state (a new replica, or one too far behind). */
  snapshot(): Promise<StateSnapshot>;
  /**
   * The node's writer stopped cleanly: its WAL is closed and every object up to `lastSeq` is acked
   * and committed. The writer is retired without a tombstone (refused, harmlessly, when the owner has
   * not got every commit yet: the next registration then fences it).
   */
  retireNode(node: number, writerEpoch: number, lastSeq: number): Promise<void>;
  /** Makes every queued record durable now (lazy WAL commits included). */
  flush(): Promise<void>;
  /** Runs one compaction round now (tests and benchmarks); resolves with the log seq after it. */
  compactNow(): Promise<number>;
  /**
   * Called when another owner took over (remote channels only): lazily sent WAL commits may have
   * died with the previous owner, so the node sends again what the log has not brought back.
   */
  onOwnerChange?(listener: () => void): () => void;
}
