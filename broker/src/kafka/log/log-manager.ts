/**
 * Owns the open PartitionLogs of this broker: the partitions it leads. Partitions are opened and
 * released only through `converge`, one operation at a time per partition, each deciding from the
 * wanted state at the moment it runs, so any interleaving of lead/release requests ends in the
 * last wanted state. The LeadershipReconciler is what decides (from the ClusterView); this class
 * is the mechanism.
 *
 * Lookups are synchronous so produce requests keep their arrival order; they return only logs that
 * still accept appends (a partition being opened or released is not served).
 */
import type { KvStore, StreamClient } from '../../s3stream/api.js';
import type { TopicRecord } from '../topics/topic-registry.js';
import { PartitionLog } from './partition-log.js';

/** What a partition should be on this broker: open at this leader epoch, or (undefined) not open. */
export interface WantedPartition {
  readonly topic: TopicRecord;
  readonly leaderEpoch: number;
}

interface Slot {
  log: PartitionLog | undefined;
  /** Stream the log was opened on (a topic deleted and created again under the same name has new streams). */
  streamId: number;
  /** Tail of this partition's operations. */
  tail: Promise<void>;
  /** An operation queued and not started yet: later requests join it (it reads the wanted state when it runs). */
  queued: Promise<void> | undefined;
  /** The latest caller's wanted state: it is what the queued operation applies. */
  want: () => WantedPartition | undefined;
}

export interface LogManagerEvents {
  opened?(log: PartitionLog): void;
  released?(topic: string, partition: number): void;
  failed?(topic: string, partition: number, action: 'open' | 'release', err: Error): void;
  snapshotFailed?(topic: string, partition: number, err: Error): void;
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export class LogManager {
  private readonly slots = new Map<string, Slot>();
  /** Open logs by topic, partition -> log; kept apart from slots for cheap lookups. */
  private readonly open = new Map<string, Map<number, PartitionLog>>();

  constructor(
    private readonly streams: StreamClient,
    private readonly kv: KvStore,
    private readonly events: LogManagerEvents = {},
  ) {}

  /** The log of a partition this broker serves now, or undefined (not led, opening, or releasing). */
  get(topic: string, partition: number): PartitionLog | undefined {
    const log = this.open.get(topic)?.get(partition);
    return log?.isOpen() ? log : undefined;
  }

  /**
   * Resolves when no open or release of the partition is queued or running (at once when none is).
   * Never rejects.
   */
  settled(topic: string, partition: number): Promise<void> {
    return this.slots.get(key(topic, partition))?.tail.catch(() => undefined) ?? Promise.resolve();
  }

  /** Served logs of a topic, by partition. */
  partitions(topic: string): readonly PartitionLog[] {
    const byPartition = this.open.get(topic);
    if (!byPartition) return [];
    return [...byPartition.values()].filter((l) => l.isOpen()).sort((a, b) => a.partition - b.partition);
  }

  all(): PartitionLog[] {
    return [...this.open.keys()].flatMap((t) => this.partitions(t));
  }

  /** True when the partition's log is open on this stream at this leader epoch, with nothing pending. */
  serving(topic: string, partition: number, leaderEpoch: number, streamId: number): boolean {
    const slot = this.slots.get(key(topic, partition));
    return slot !== undefined && !slot.queued && slot.log !== undefined && slot.log.isOpen() && slot.log.leaderEpoch === leaderEpoch && slot.streamId === streamId;
  }

  /** True when the partition has a log (open or releasing) or an operation pending. */
  has(topic: string, partition: number): boolean {
    return this.slots.has(key(topic, partition));
  }

  /** Partitions with a log open or an operation pending (what a reconciliation must look at besides the wanted ones). */
  known(): { topic: string; partition: number }[] {
    const out: { topic: string; partition: number }[] = [];
    for (const [k] of this.slots) {
      const at = k.lastIndexOf('\u0000');
      out.push({ topic: k.slice(0, at), partition: Number(k.slice(at + 1)) });
    }
    return out;
  }

  /**
   * Brings a partition to the state `want()` returns when the operation runs: opens its log at the
   * wanted leader epoch (releasing first a log open at another epoch or on another stream), or
   * releases it. The latest caller's `want` wins: a request queued behind a running one joins any
   * request already queued. Resolves when done; never rejects (failures go to `events.failed` and leave the
   * partition not served, for the next converge to retry).
   */
  converge(topic: string, partition: number, want: () => WantedPartition | undefined): Promise<void> {
    const k = key(topic, partition);
    let slot = this.slots.get(k);
    if (!slot) {
      slot = { log: undefined, streamId: -1, tail: Promise.resolve(), queued: undefined, want };
      this.slots.set(k, slot);
    }
    slot.want = want;
    if (slot.queued) return slot.queued;
    const s = slot;
    const run = s.tail.then(async () => {
      s.queued = undefined;
      await this.apply(topic, partition, s, s.want());
    });
    s.queued = run;
    s.tail = run;
    void run.then(() => {
      // Forget idle slots of partitions not open so known() stays small.
      if (s.tail === run && !s.log && this.slots.get(k) === s) this.slots.delete(k);
    });
    return run;
  }

  private async apply(topic: string, partition: number, slot: Slot, wanted: WantedPartition | undefined): Promise<void> {
    const record = wanted?.topic.partitions[partition];
    const current = slot.log;
    if (current && wanted && record && current.leaderEpoch === wanted.leaderEpoch && slot.streamId === record.streamId && current.isOpen()) return;
    if (current) {
      this.forget(topic, partition);
      slot.log = undefined;
      try {
        await current.release((err) => this.events.snapshotFailed?.(topic, partition, err));
        this.events.released?.(topic, partition);
      } catch (err) {
        this.events.failed?.(topic, partition, 'release', err as Error);
      }
    }
    if (!wanted || !record) return;
    try {
      const stream = await this.streams.openStream(record.streamId);
      const log = await PartitionLog.open({
        topic,
        topicId: wanted.topic.id,
        partition,
        stream,
        leaderEpoch: wanted.leaderEpoch,
        kv: this.kv,
      });
      slot.log = log;
      slot.streamId = record.streamId;
      let byPartition = this.open.get(topic);
      if (!byPartition) {
        byPartition = new Map();
        this.open.set(topic, byPartition);
      }
      byPartition.set(partition, log);
      this.events.opened?.(log);
    } catch (err) {
      this.events.failed?.(topic, partition, 'open', err as Error);
    }
  }

  private forget(topic: string, partition: number): void {
    const byPartition = this.open.get(topic);
    byPartition?.delete(partition);
    if (byPartition?.size === 0) this.open.delete(topic);
  }

  /** Releases every partition (broker stop). */
  async releaseAll(): Promise<void> {
    await Promise.all(this.known().map((p) => this.converge(p.topic, p.partition, () => undefined)));
  }
}
