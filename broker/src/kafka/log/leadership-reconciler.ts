/**
 * Partition ownership: keeps the set of open PartitionLogs equal to the partitions the ClusterView
 * says this broker leads. It is the only way partitions get opened and released (startup, topic
 * creation and deletion, added partitions, moves, stop), so a partition is never served twice or
 * at two epochs on one broker.
 *
 * On every change of the view (or of the topic catalogue) each partition whose wanted state
 * differs from what is open is converged, one operation at a time per partition (LogManager), each
 * operation reading the wanted state when it runs: a lead-release-lead flap ends open at the last
 * epoch, whatever the timing.
 *
 * `release(topic, partition)` is the controller's move protocol step on the old leader: once it
 * resolves, every append this broker accepted for the partition is durable, the producer state is
 * saved and the stream closed. The partition stays released while the view still shows this
 * broker leading at the epoch it had when released (the controller has not recorded the new
 * leader yet); any other leadership, or a new epoch for this broker, applies normally.
 */
import type { Logger } from 'winston';
import { GROUP_SHARDS_TOPIC, type ClusterView } from '../cluster/cluster-view.js';
import type { TopicRecord } from '../topics/topic-registry.js';
import type { LogManager, WantedPartition } from './log-manager.js';

/** The topic catalogue as the reconciler reads it: which partitions exist and their streams. */
export interface TopicCatalogue {
  get(name: string): TopicRecord | undefined;
  list(): readonly TopicRecord[];
  /** Optional: catalogue changes not already signalled by the ClusterView. */
  onChange?(listener: () => void): () => void;
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export class LeadershipReconciler {
  /** Partitions given up by release(), with the leader epoch they had then. */
  private readonly released = new Map<string, number>();
  private readonly unsubscribe: (() => void)[] = [];
  private pending: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly view: ClusterView,
    private readonly topics: TopicCatalogue,
    private readonly logs: LogManager,
  ) {}

  /** Subscribes to changes and opens what this broker leads now; resolves once those are open (or failed to open). */
  start(): Promise<void> {
    this.unsubscribe.push(this.view.onChange(() => void this.reconcile()));
    if (this.topics.onChange) this.unsubscribe.push(this.topics.onChange(() => void this.reconcile()));
    return this.reconcile();
  }

  /**
   * Converges every partition whose wanted state differs from what is open. Resolves when those
   * partitions are done (opened, released, or failed: a failure is logged and retried at the next
   * change).
   */
  reconcile(): Promise<void> {
    if (this.stopped) return this.pending;
    const work: Promise<void>[] = [];
    const seen = new Set<string>();
    const visit = (topic: string, partition: number) => {
      const k = key(topic, partition);
      if (seen.has(k)) return;
      seen.add(k);
      const w = this.wanted(topic, partition);
      if (!w && !this.logs.has(topic, partition)) return;
      if (w && this.logs.serving(topic, partition, w.leaderEpoch, w.topic.partitions[partition]!.streamId)) return;
      work.push(this.logs.converge(topic, partition, () => this.wanted(topic, partition)));
    };
    for (const t of this.topics.list()) for (let p = 0; p < t.partitions.length; p++) visit(t.name, p);
    for (const p of this.logs.known()) visit(p.topic, p.partition);
    const done = Promise.all(work).then(() => undefined);
    this.pending = Promise.all([this.pending, done]).then(() => undefined);
    return done;
  }

  /** Resolves once every reconciliation started so far is done (topic admin awaits it after changing the catalogue). */
  settled(): Promise<void> {
    return this.pending;
  }

  /**
   * Gives up a partition this broker leads (see the class comment). Idempotent; resolves at once
   * for a partition not open here, after any open in progress finished and was undone.
   */
  release(topic: string, partition: number): Promise<void> {
    const l = this.view.leadership(topic, partition);
    if (l && l.leader === this.view.localNodeId()) this.released.set(key(topic, partition), l.leaderEpoch);
    return this.logs.converge(topic, partition, () => this.wanted(topic, partition));
  }

  /** Stops following the view and releases every partition (broker stop). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const u of this.unsubscribe.splice(0)) u();
    await this.pending;
    await this.logs.releaseAll();
  }

  private wanted(topic: string, partition: number): WantedPartition | undefined {
    if (this.stopped || topic === GROUP_SHARDS_TOPIC) return undefined;
    const k = key(topic, partition);
    const l = this.view.leadership(topic, partition);
    const record = this.topics.get(topic);
    if (!l || l.leader < 0 || l.leader !== this.view.localNodeId() || !record || partition >= record.partitions.length) {
      this.released.delete(k);
      return undefined;
    }
    const releasedAt = this.released.get(k);
    if (releasedAt === l.leaderEpoch) return undefined;
    if (releasedAt !== undefined) this.released.delete(k);
    return { topic: record, leaderEpoch: l.leaderEpoch };
  }

  /** Logger hooks for LogManager events. */
  static events(log: Logger) {
    return {
      // Info: leadership changes are rare and these lines are what explains a client's errors then.
      opened: (l: { topic: string; partition: number; leaderEpoch: number; highWatermark(): number; producerCount: number }) =>
        log.info('partition opened', { topic: l.topic, partition: l.partition, leaderEpoch: l.leaderEpoch, endOffset: l.highWatermark(), producers: l.producerCount }),
      released: (topic: string, partition: number) => log.info('partition released', { topic, partition }),
      failed: (topic: string, partition: number, action: 'open' | 'release', err: Error) =>
        log.warn(`partition ${action} failed; it is not served until the next leadership change`, { topic, partition, error: err.message }),
      snapshotFailed: (topic: string, partition: number, err: Error) =>
        log.warn('producer snapshot at release failed; the next leader replays more of the log', { topic, partition, error: err.message }),
    };
  }
}
