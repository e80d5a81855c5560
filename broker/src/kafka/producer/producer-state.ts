/**
 * Idempotent-producer bookkeeping for one partition, following Kafka's ProducerStateManager:
 * per producer id the current epoch and the metadata of its last 5 batches, so a retried batch
 * is recognised (answered with its original offset) and a gap is refused
 * (OUT_OF_ORDER_SEQUENCE_NUMBER). The state is rebuilt from the partition's stream (batch
 * headers carry producer id, epoch and sequence) starting at the last snapshot.
 */
import { ErrorCode } from '../../protocol/errors.js';

export const MAX_BATCHES_PER_PRODUCER = 5;
const NO_EPOCH = -1;

export interface BatchMeta {
  firstSeq: number;
  lastSeq: number;
  firstOffset: number;
  lastOffset: number;
  /** In memory only: resolves when the batch is durable (a duplicate must not be acked before). */
  durable?: Promise<void>;
}

export interface ProducerEntry {
  producerId: string;
  epoch: number;
  batches: BatchMeta[];
  lastTimestamp: number;
}

export type SequenceCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; batch: BatchMeta }
  | { kind: 'error'; code: number; message: string };

export interface SnapshotEntry {
  producerId: string;
  epoch: number;
  batches: Omit<BatchMeta, 'durable'>[];
  lastTimestamp: number;
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === 0x7fffffff);
}

export class ProducerStateTable {
  private readonly producers = new Map<string, ProducerEntry>();

  get size(): number {
    return this.producers.size;
  }

  /** Decides what to do with an idempotent batch before it is appended. */
  check(producerId: bigint, epoch: number, firstSeq: number, lastSeq: number): SequenceCheck {
    const entry = this.producers.get(producerId.toString());
    const currentEpoch = entry?.epoch ?? NO_EPOCH;
    if (entry && epoch < currentEpoch) {
      return {
        kind: 'error',
        code: ErrorCode.INVALID_PRODUCER_EPOCH,
        message: `producer ${producerId} epoch ${epoch} is older than the current epoch ${currentEpoch}`,
      };
    }
    if (entry && epoch === currentEpoch) {
      const dup = entry.batches.find((b) => b.firstSeq === firstSeq && b.lastSeq === lastSeq);
      if (dup) return { kind: 'duplicate', batch: dup };
      const last = entry.batches[entry.batches.length - 1];
      if (last && !inSequence(last.lastSeq, firstSeq)) {
        return {
          kind: 'error',
          code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          message: `producer ${producerId} epoch ${epoch}: expected sequence ${(last.lastSeq + 1) | 0}, got ${firstSeq}`,
        };
      }
      return { kind: 'append' };
    }
    // A new epoch (or a producer without state here) must start at sequence 0, unless this
    // partition has no epoch for it at all (its state was lost to retention): then accept.
    if (entry && firstSeq !== 0) {
      return {
        kind: 'error',
        code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        message: `producer ${producerId} new epoch ${epoch} must start at sequence 0, got ${firstSeq}`,
      };
    }
    return { kind: 'append' };
  }

  /** Records an appended batch (also used when replaying the stream). */
  record(producerId: bigint, epoch: number, batch: BatchMeta, timestamp: number): void {
    const key = producerId.toString();
    let entry = this.producers.get(key);
    if (!entry || entry.epoch !== epoch) {
      entry = { producerId: key, epoch, batches: [], lastTimestamp: timestamp };
      this.producers.set(key, entry);
    }
    entry.batches.push(batch);
    if (entry.batches.length > MAX_BATCHES_PER_PRODUCER) entry.batches.shift();
    entry.lastTimestamp = timestamp;
  }

  /** Drops producers idle for longer than the expiration (transactional.id.expiration-like). */
  expire(olderThanMs: number): void {
    for (const [k, e] of this.producers) if (e.lastTimestamp < olderThanMs) this.producers.delete(k);
  }

  snapshot(): SnapshotEntry[] {
    return [...this.producers.values()].map((e) => ({
      producerId: e.producerId,
      epoch: e.epoch,
      lastTimestamp: e.lastTimestamp,
      batches: e.batches.map(({ firstSeq, lastSeq, firstOffset, lastOffset }) => ({ firstSeq, lastSeq, firstOffset, lastOffset })),
    }));
  }

  restore(entries: readonly SnapshotEntry[]): void {
    this.producers.clear();
    for (const e of entries) this.producers.set(e.producerId, { ...e, batches: e.batches.map((b) => ({ ...b })) });
  }
}
