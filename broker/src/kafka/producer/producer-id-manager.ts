/**
 * Allocates producer ids in blocks recorded in the metadata KV, so ids stay unique across
 * restarts (a restarted broker never hands out an id a live producer still uses).
 */
import type { KvStore } from '../../s3stream/api.js';

const KEY = 'producer-ids/next-block-start';
const BLOCK = 1000;

export class ProducerIdManager {
  private next = 0;
  private end = 0;
  private pending: Promise<void> | undefined;

  constructor(private readonly kv: KvStore) {}

  async allocate(): Promise<bigint> {
    while (this.next >= this.end) {
      this.pending ??= this.reserveBlock().finally(() => (this.pending = undefined));
      await this.pending;
    }
    return BigInt(this.next++);
  }

  private async reserveBlock(): Promise<void> {
    const raw = this.kv.get(KEY);
    const start = raw ? Number(raw.toString('utf8')) : 0;
    await this.kv.put(KEY, Buffer.from(String(start + BLOCK)));
    this.next = start;
    this.end = start + BLOCK;
  }
}
