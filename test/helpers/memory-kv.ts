/**
 * An in-memory KvStore (the S3Stream KV contract: get/list synchronous, put/delete notify
 * onChange listeners), with a put counter and an injectable failure for crash-point tests.
 */
import type { KvStore } from '../../broker/src/s3stream/api.js';

export class MemoryKv implements KvStore {
  readonly map = new Map<string, Buffer>();
  private readonly listeners = new Set<(keys: readonly string[] | undefined) => void>();
  onChange(listener: (keys: readonly string[] | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  private changed(key: string): void {
    for (const l of [...this.listeners]) l([key]);
  }
  puts = 0;
  /** Makes the next put/delete of a matching key throw (a crash point); cleared when it fires. */
  failNext: { key: (key: string) => boolean; op: 'put' | 'delete' } | undefined;
  private maybeFail(op: 'put' | 'delete', key: string): void {
    if (this.failNext && this.failNext.op === op && this.failNext.key(key)) {
      this.failNext = undefined;
      throw new Error(`injected failure: ${op} ${key}`);
    }
  }
  get(key: string): Buffer | undefined {
    return this.map.get(key);
  }
  list(prefix: string): string[] {
    return [...this.map.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
  async put(key: string, value: Buffer): Promise<void> {
    this.maybeFail('put', key);
    this.puts++;
    this.map.set(key, Buffer.from(value));
    this.changed(key);
  }
  async delete(key: string): Promise<void> {
    this.maybeFail('delete', key);
    this.map.delete(key);
    this.changed(key);
  }
}
