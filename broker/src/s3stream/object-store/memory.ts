import type { ByteRange, ObjectInfo, ObjectStore } from './object-store.js';
import { ObjectNotFoundError } from './object-store.js';
import { sliceRange } from './range.js';

/** In-process object store for tests and `memory://`. Copies bodies in and out like a real store would. */
export class MemoryObjectStore implements ObjectStore {
  readonly description = 'memory://';
  private readonly objects = new Map<string, Buffer>();

  async put(key: string, body: Buffer): Promise<void> {
    this.objects.set(key, Buffer.from(body));
  }

  async putIfAbsent(key: string, body: Buffer): Promise<boolean> {
    if (this.objects.has(key)) return false;
    this.objects.set(key, Buffer.from(body));
    return true;
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    const body = this.objects.get(key);
    if (body === undefined) throw new ObjectNotFoundError(key);
    return Buffer.from(sliceRange(body, body.length, range, key));
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const body = this.objects.get(key);
    return body === undefined ? undefined : { key, size: body.length };
  }

  async list(prefix: string, startAfter?: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    for (const [key, body] of this.objects) {
      if (key.startsWith(prefix) && (startAfter === undefined || key > startAfter)) out.push({ key, size: body.length });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.objects.delete(k);
  }

  async close(): Promise<void> {}

  /** Total bytes stored (tests). */
  totalBytes(): number {
    let n = 0;
    for (const b of this.objects.values()) n += b.length;
    return n;
  }
}
