/**
 * An in-memory StreamClient for broker unit tests: same contract as S3Stream (synchronous offset
 * assignment, durable promises resolved on flush, confirmOffset = durable end), no object store.
 * `autoFlushMs` resolves durability on a timer like the WAL; `flush()` forces it.
 */
import type { AppendResult, FetchedBatch, StorageStats, Stream, StreamClient, StreamInfo } from '../../broker/src/s3stream/api.js';
import { OffsetOutOfRangeError, StreamClosedError } from '../../broker/src/s3stream/api.js';
import { MemoryKv } from './memory-kv.js';

interface Entry extends FetchedBatch {
  appendedAt: number;
}

class FakeStreamState {
  entries: Entry[] = [];
  start = 0;
  next = 0;
  confirm = 0;
  epoch = 0;
  pending: { end: number; resolve: () => void }[] = [];
  waiters: { offset: number; resolve: () => void }[] = [];
}

export class FakeStreamClient implements StreamClient {
  readonly kv = new MemoryKv();
  private readonly streams = new Map<number, FakeStreamState>();
  private nextId = 1;
  private timer: NodeJS.Timeout | undefined;

  constructor(autoFlushMs = 5) {
    if (autoFlushMs > 0) {
      this.timer = setInterval(() => void this.flush(), autoFlushMs);
      this.timer.unref();
    }
  }

  async createStream(): Promise<Stream> {
    const id = this.nextId++;
    this.streams.set(id, new FakeStreamState());
    return this.openStream(id);
  }

  async openStream(streamId: number): Promise<Stream> {
    const s = this.streams.get(streamId);
    if (!s) throw new Error(`no stream ${streamId}`);
    s.epoch++;
    return new FakeStream(streamId, s.epoch, s);
  }

  async deleteStream(streamId: number): Promise<void> {
    this.streams.delete(streamId);
  }

  listStreams(): StreamInfo[] {
    return [...this.streams.entries()].map(([id, s]) => ({ id, epoch: s.epoch, startOffset: s.start, nextOffset: s.next }));
  }

  async commit(): Promise<void> {
    await this.flush();
  }

  async flush(): Promise<void> {
    for (const s of this.streams.values()) {
      s.confirm = s.next;
      for (const p of s.pending.splice(0)) p.resolve();
      for (const w of s.waiters.splice(0)) w.resolve();
    }
  }

  async compactNow(): Promise<void> {}

  stats(): StorageStats {
    return {
      objectStoreRequests: { put: 0, get: 0, list: 0, delete: 0, head: 0, multipartCreate: 0, multipartPart: 0, multipartComplete: 0, multipartAbort: 0 },
      objectStoreErrors: { put: 0, get: 0, list: 0, delete: 0, head: 0, multipartCreate: 0, multipartPart: 0, multipartComplete: 0, multipartAbort: 0 },
      objectStoreRetries: 0,
      bytesUploaded: 0,
      bytesDownloaded: 0,
      walObjectsWritten: 0,
      walUnflushedBytes: 0,
      logCacheBytes: 0,
      blockCacheBytes: 0,
      blockCacheHits: 0,
      blockCacheMisses: 0,
      streamObjects: 0,
      walObjectsLive: 0,
      metadataRecords: 0,
      walFlushLatencyP99Ms: 0,
      walFlushLatencyMaxMs: 0,
    };
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.timer) clearInterval(this.timer);
  }
}

class FakeStream implements Stream {
  private closed = false;
  constructor(
    readonly id: number,
    readonly epoch: number,
    private readonly s: FakeStreamState,
  ) {}
  startOffset() {
    return this.s.start;
  }
  nextOffset() {
    return this.s.next;
  }
  confirmOffset() {
    return this.s.confirm;
  }
  append(payload: Buffer, count: number): AppendResult {
    if (this.closed) throw new StreamClosedError('closed');
    const baseOffset = this.s.next;
    this.s.entries.push({ baseOffset, count, payload: Buffer.from(payload), appendedAt: Date.now() });
    this.s.next += count;
    const durable = new Promise<void>((resolve) => this.s.pending.push({ end: this.s.next, resolve }));
    return { baseOffset, durable };
  }
  async ready() {}
  async fetch(startOffset: number, endOffset: number, maxBytes: number): Promise<FetchedBatch[]> {
    if (startOffset < this.s.start || startOffset > this.s.confirm) {
      throw new OffsetOutOfRangeError(`offset ${startOffset} out of range`, this.s.start, this.s.confirm);
    }
    const end = Math.min(endOffset, this.s.confirm);
    const out: FetchedBatch[] = [];
    let bytes = 0;
    for (const e of this.s.entries) {
      if (e.baseOffset + e.count <= startOffset || e.baseOffset >= end) continue;
      if (out.length > 0 && bytes + e.payload.length > maxBytes) break;
      out.push({ baseOffset: e.baseOffset, count: e.count, payload: e.payload });
      bytes += e.payload.length;
    }
    return out;
  }
  waitForData(offset: number, signal: AbortSignal): Promise<void> {
    if (this.s.confirm > offset || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      this.s.waiters.push({ offset, resolve });
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }
  async trim(newStartOffset: number) {
    this.s.start = Math.max(this.s.start, newStartOffset);
    this.s.entries = this.s.entries.filter((e) => e.baseOffset + e.count > this.s.start);
  }
  async retainSince(appendedBeforeMs: number) {
    const keep = this.s.entries.find((e) => e.appendedAt >= appendedBeforeMs);
    await this.trim(keep ? keep.baseOffset : this.s.confirm);
    return this.s.start;
  }
  async retainBytes() {
    return this.s.start;
  }
  sizeBytes() {
    return this.s.entries.reduce((n, e) => n + e.payload.length, 0);
  }
  async close() {
    this.closed = true;
  }
}
