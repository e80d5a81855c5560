import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { ByteRange, ObjectInfo, ObjectStore } from '../../../broker/src/s3stream/object-store/object-store.js';
import { MemoryObjectStore } from '../../../broker/src/s3stream/object-store/memory.js';
import { TransientObjectStoreError } from '../../../broker/src/s3stream/object-store/instrumented.js';
import type { Timers } from '../../../broker/src/s3stream/util/async.js';
import type { StreamClientOptions } from '../../../broker/src/s3stream/api.js';
import type { InternalOptions } from '../../../broker/src/s3stream/stream-client.js';

/** Polls `cond` until true; fails with `what` after `timeoutMs` (a bounded wait, not a sleep). */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Resolves with 'pending' if `p` has not settled after the event loop drained a few times. */
export async function stateOf(p: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  p.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
  return state;
}

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 's3stream-test-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function never<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}

/**
 * A store wrapper for fault injection: transient PUT failures, gated PUTs (to reorder uploads),
 * and severing (every later call hangs forever: the process "died" mid-flight).
 */
export class TestStore implements ObjectStore {
  readonly description = 'test://';
  failNextPuts = 0;
  /** Keys matching this are held until release(key). */
  holdPuts: ((key: string) => boolean) | undefined;
  private held = new Map<string, () => void>();
  private severed = false;
  puts: string[] = [];
  gets = 0;

  constructor(readonly inner: ObjectStore = new MemoryObjectStore()) {}

  sever(): void {
    this.severed = true;
  }

  heldKeys(): string[] {
    return [...this.held.keys()];
  }

  release(key: string): void {
    const r = this.held.get(key);
    if (r === undefined) throw new Error(`no held put for ${key}; held: ${[...this.held.keys()].join(', ')}`);
    this.held.delete(key);
    r();
  }

  private async gate(key: string): Promise<void> {
    if (this.severed) return never();
    if (this.failNextPuts > 0) {
      this.failNextPuts--;
      throw new TransientObjectStoreError(`injected failure for ${key}`);
    }
    if (this.holdPuts?.(key) === true) await new Promise<void>((resolve) => this.held.set(key, resolve));
    if (this.severed) return never();
  }

  async put(key: string, body: Buffer): Promise<void> {
    await this.gate(key);
    this.puts.push(key);
    return this.inner.put(key, body);
  }
  async putIfAbsent(key: string, body: Buffer): Promise<boolean> {
    await this.gate(key);
    this.puts.push(key);
    return this.inner.putIfAbsent(key, body);
  }
  get(key: string, range?: ByteRange): Promise<Buffer> {
    if (this.severed) return never();
    this.gets++;
    return this.inner.get(key, range);
  }
  head(key: string): Promise<ObjectInfo | undefined> {
    if (this.severed) return never();
    return this.inner.head(key);
  }
  list(prefix: string, startAfter?: string): Promise<ObjectInfo[]> {
    if (this.severed) return never();
    return this.inner.list(prefix, startAfter);
  }
  delete(keys: readonly string[]): Promise<void> {
    if (this.severed) return never();
    return this.inner.delete(keys);
  }
  async close(): Promise<void> {}
}

/** Manual clock for timer-driven code: nothing fires until advance(). */
export class FakeTimers implements Timers {
  now = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.pending.set(id, { at: this.now + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  get scheduled(): number {
    return this.pending.size;
  }
  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.pending) if (e[1].at <= target && (next === undefined || e[1].at < next[1].at)) next = e;
      if (next === undefined) break;
      this.pending.delete(next[0]);
      this.now = next[1].at;
      next[1].fn();
    }
    this.now = target;
  }
}

/** A recognizable payload: n in the first 4 bytes, then a byte pattern depending on n. */
export function payload(n: number, size: number): Buffer {
  const b = Buffer.alloc(size, (n * 31 + 7) % 251);
  if (size >= 4) b.writeUInt32BE(n >>> 0, 0);
  return b;
}

/** Small, fast settings: 5 ms WAL flushes, no periodic compaction, immediate deletion. */
export function fastOptions(store: StreamClientOptions['store'], over: Partial<StreamClientOptions> = {}): StreamClientOptions {
  return { store, nodeId: 1, walFlushIntervalMs: 5, compactionIntervalMs: 0, objectDeleteGraceMs: 0, ...over };
}
export const fastInternal: InternalOptions = { metadataCommitDelayMs: 20, sweepOrphans: false };
