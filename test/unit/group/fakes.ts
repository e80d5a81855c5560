/**
 * Test doubles for the group coordinator: a fake clock with timers, an in-memory S3Stream
 * stream (durability either immediate or held until flush()), and an in-memory KV store.
 */
import type { AppendResult, FetchedBatch, Stream, StreamClient } from '../../../broker/src/s3stream/api.js';
import { OffsetOutOfRangeError, StreamClosedError, StreamFencedError } from '../../../broker/src/s3stream/api.js';
import type { CancelTimer, Timers } from '../../../broker/src/group/timers.js';
import { GROUP_SHARDS_TOPIC, type ClusterView, type PartitionLeadership } from '../../../broker/src/kafka/cluster/cluster-view.js';
import type { NodeInfo } from '../../../broker/src/kafka/context.js';
import { MemoryKv } from '../../helpers/memory-kv.js';

export { MemoryKv };

interface Task {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class FakeClock implements Timers {
  now = 1_000_000;
  private seq = 0;
  private tasks: Task[] = [];

  schedule(delayMs: number, fn: () => void): CancelTimer {
    const t: Task = { at: this.now + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    this.tasks.push(t);
    return () => {
      t.cancelled = true;
    };
  }

  /** Live (not cancelled, not yet run) timers. */
  get pending(): number {
    return this.tasks.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward, running every timer due on the way at its own due time, in order. */
  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      this.tasks = this.tasks.filter((t) => !t.cancelled);
      let next: Task | undefined;
      for (const t of this.tasks) {
        if (t.at <= target && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      }
      if (!next) break;
      next.cancelled = true;
      this.now = next.at;
      next.fn();
    }
    this.now = target;
  }

  /** advance() then let the promise callbacks it triggered run. */
  async tick(ms: number): Promise<void> {
    this.advance(ms);
    await settle();
  }
}

/** Lets pending promise callbacks (durable appends and what follows them) run. Not a sleep. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}

interface Pending {
  end: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** The durable content of a stream, shared by every handle "opened" on it. */
export class StreamData {
  batches: FetchedBatch[] = [];
  start = 0;
  next = 0;
  confirm = 0;
  epoch = 0;
}

export class MemoryStream implements Stream {
  readonly epoch: number;
  /** When false, appends become durable only on flush(). */
  autoDurable = true;
  /** Records read through fetch(), to check replay length. */
  fetchedRecords = 0;
  appends = 0;
  private pending: Pending[] = [];
  private closed = false;

  constructor(
    readonly data: StreamData = new StreamData(),
    readonly id = 7,
  ) {
    this.epoch = ++data.epoch;
  }

  /** A new handle over the same durable data (what a restarted broker opens); fences this one. */
  reopen(): MemoryStream {
    // Non-durable appends are lost, as with a crash.
    this.data.batches = this.data.batches.filter((b) => b.baseOffset < this.data.confirm);
    this.data.next = this.data.confirm;
    return new MemoryStream(this.data, this.id);
  }

  startOffset(): number {
    return this.data.start;
  }
  nextOffset(): number {
    return this.data.next;
  }
  confirmOffset(): number {
    return this.data.confirm;
  }

  append(payload: Buffer, count: number): AppendResult {
    if (this.closed) throw new StreamClosedError('stream closed');
    if (this.epoch !== this.data.epoch) throw new StreamFencedError(`stream ${this.id} fenced by epoch ${this.data.epoch}`);
    const baseOffset = this.data.next;
    this.data.next += count;
    this.data.batches.push({ baseOffset, count, payload: Buffer.from(payload) });
    this.appends++;
    if (this.autoDurable) {
      this.data.confirm = this.data.next;
      return { baseOffset, durable: Promise.resolve() };
    }
    const durable = new Promise<void>((resolve, reject) => this.pending.push({ end: baseOffset + count, resolve, reject }));
    return { baseOffset, durable };
  }

  /** Makes every pending append durable, in order. */
  flush(): void {
    for (const p of this.pending) {
      this.data.confirm = Math.max(this.data.confirm, p.end);
      p.resolve();
    }
    this.pending = [];
  }

  /** Fails every pending append (a lost WAL write). */
  failPending(e: Error): void {
    for (const p of this.pending) p.reject(e);
    this.pending = [];
  }

  get pendingAppends(): number {
    return this.pending.length;
  }

  async ready(): Promise<void> {}

  async fetch(startOffset: number, endOffset: number, maxBytes: number): Promise<FetchedBatch[]> {
    if (startOffset < this.data.start || startOffset > this.data.confirm) {
      throw new OffsetOutOfRangeError(`offset ${startOffset} outside [${this.data.start}, ${this.data.confirm}]`, this.data.start, this.data.confirm);
    }
    const end = Math.min(endOffset, this.data.confirm);
    const out: FetchedBatch[] = [];
    let bytes = 0;
    for (const b of this.data.batches) {
      if (b.baseOffset + b.count <= startOffset || b.baseOffset >= end) continue;
      if (out.length > 0 && bytes + b.payload.length > maxBytes) break;
      out.push(b);
      bytes += b.payload.length;
    }
    this.fetchedRecords += out.length;
    return out;
  }

  async waitForData(): Promise<void> {}

  async trim(newStartOffset: number): Promise<void> {
    if (newStartOffset > this.data.confirm) throw new Error(`trim to ${newStartOffset} beyond confirmed ${this.data.confirm}`);
    this.data.start = Math.max(this.data.start, newStartOffset);
    this.data.batches = this.data.batches.filter((b) => b.baseOffset + b.count > this.data.start);
  }

  async retainSince(): Promise<number> {
    return this.data.start;
  }
  async retainBytes(): Promise<number> {
    return this.data.start;
  }
  sizeBytes(): number {
    return this.data.batches.reduce((n, b) => n + b.payload.length, 0);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * The storage a group coordinator needs of a StreamClient, in memory: streams by id whose handles
 * are fenced by the next open (as S3Stream does), and one KV store. Several coordinators sharing
 * one instance behave like brokers sharing one object store.
 */
export class MemoryStreamClient implements Pick<StreamClient, 'createStream' | 'openStream' | 'deleteStream' | 'kv'> {
  readonly kv = new MemoryKv();
  readonly streams = new Map<number, StreamData>();
  /** Every handle handed out, newest last (tests hold appends of a handle with autoDurable = false). */
  readonly handles: MemoryStream[] = [];
  opens = 0;
  /** When set, openStream/createStream throw it (a failing object store). */
  failOpens: Error | undefined;
  /** When set, openStream/createStream wait for it (a slow object store: the shard stays loading). */
  openGate: Promise<void> | undefined;
  private nextId = 100;

  async createStream(): Promise<MemoryStream> {
    if (this.openGate) await this.openGate;
    if (this.failOpens) throw this.failOpens;
    const id = this.nextId++;
    this.streams.set(id, new StreamData());
    return this.openStream(id);
  }

  async openStream(id: number): Promise<MemoryStream> {
    if (this.openGate) await this.openGate;
    if (this.failOpens) throw this.failOpens;
    const data = this.streams.get(id);
    if (!data) throw new Error(`stream ${id} does not exist`);
    // Appends that never became durable are lost when another handle takes the stream over.
    data.batches = data.batches.filter((b) => b.baseOffset < data.confirm);
    data.next = data.confirm;
    this.opens++;
    const h = new MemoryStream(data, id);
    this.handles.push(h);
    return h;
  }

  async deleteStream(id: number): Promise<void> {
    this.streams.delete(id);
  }

  /** The newest handle of a stream. */
  handle(id: number): MemoryStream | undefined {
    return this.handles.filter((h) => h.id === id).at(-1);
  }
}

/**
 * Leadership of a cluster as the controller would publish it, seen through one ClusterView per
 * broker (same state, different localNodeId). Changes notify every view's listeners, batched per
 * publish() like a replicated metadata update.
 */
export class FakeCluster {
  readonly nodes = new Map<number, NodeInfo>();
  private readonly leaders = new Map<string, PartitionLeadership>();
  private readonly listeners = new Set<() => void>();

  constructor(nodeIds: readonly number[]) {
    for (const id of nodeIds) this.nodes.set(id, { nodeId: id, host: `broker${id}.local`, port: 9000 + id, rack: null });
  }

  /** Sets who leads each shard (-1: nobody), bumping each changed shard's leader epoch, then notifies. */
  publish(shardLeaders: Readonly<Record<number, number>>): void {
    for (const [shard, leader] of Object.entries(shardLeaders)) {
      const key = `${GROUP_SHARDS_TOPIC}/${shard}`;
      const cur = this.leaders.get(key);
      this.leaders.set(key, { leader, leaderEpoch: cur ? cur.leaderEpoch + 1 : 0 });
    }
    for (const l of [...this.listeners]) l();
  }

  /** Every shard in [0, shards) led by `leader`. */
  publishAll(shards: number, leader: number): void {
    this.publish(Object.fromEntries(Array.from({ length: shards }, (_, i) => [i, leader])));
  }

  leadership(shard: number): PartitionLeadership | undefined {
    return this.leaders.get(`${GROUP_SHARDS_TOPIC}/${shard}`);
  }

  view(localNodeId: number): ClusterView {
    return {
      localNodeId: () => localNodeId,
      controllerId: () => Math.min(...this.nodes.keys()),
      brokers: () => [...this.nodes.values()].sort((a, b) => a.nodeId - b.nodeId),
      broker: (id) => this.nodes.get(id),
      leadership: (topic, partition) => this.leaders.get(`${topic}/${partition}`),
      onChange: (listener) => {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
      },
    };
  }
}
