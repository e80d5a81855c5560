/**
 * Hands out producer ids from blocks reserved in the metadata KV, so ids stay unique across
 * restarts (a restarted broker never hands out an id a live producer still uses) and, in a
 * cluster, across brokers (the controller reserves the blocks, one at a time).
 */
import type { KvStore } from '../../s3stream/api.js';

const KEY = 'producer-ids/next-block-start';
const BLOCK = 1000;

/** Reserves the next block of ids. */
export type ProducerIdBlocks = () => Promise<{ start: number; count: number }>;

/** Blocks reserved directly in the KV: for the process that alone writes it (standalone, the controller). */
export function kvProducerIdBlocks(kv: KvStore): ProducerIdBlocks {
  let chain: Promise<unknown> = Promise.resolve();
  return () => {
    const run = chain.then(async () => {
      const raw = kv.get(KEY);
      const start = raw ? Number(raw.toString('utf8')) : 0;
      await kv.put(KEY, Buffer.from(String(start + BLOCK)));
      return { start, count: BLOCK };
    });
    chain = run.catch(() => undefined);
    return run;
  };
}

export class ProducerIdManager {
  private next = 0;
  private end = 0;
  private pending: Promise<void> | undefined;

  constructor(private readonly blocks: ProducerIdBlocks) {}

  async allocate(): Promise<bigint> {
    while (this.next >= this.end) {
      this.pending ??= this.reserveBlock().finally(() => (this.pending = undefined));
      await this.pending;
    }
    return BigInt(this.next++);
  }

  private async reserveBlock(): Promise<void> {
    const b = await this.blocks();
    this.next = b.start;
    this.end = b.start + b.count;
  }
}
