// Per-broker load from the brokers' public Prometheus endpoint: bytes in/out per second (rate of
// the partition byte counters between two scrapes) and the number of partitions the broker hosts.
import http from 'node:http';

export interface BrokerSample {
  bytesIn: number;
  bytesOut: number;
  partitions: number;
  atMs: number;
}

export interface BrokerLoad {
  bytesInPerSec?: number;
  bytesOutPerSec?: number;
  partitions: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+([^\s]+)/;

/**
 * Sums the broker's partition byte counters and counts the partitions it hosts now. The count
 * comes from the high-watermark gauge alone, which the broker rebuilds on every scrape from the
 * partitions it leads: the byte counters keep a series for every partition the broker ever led,
 * so in a cluster they would still count partitions that moved away.
 */
export function parseBrokerMetrics(text: string, atMs: number): BrokerSample {
  let bytesIn = 0;
  let bytesOut = 0;
  const partitions = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const [, name, , labels = '', raw] = m;
    const value = Number(raw);
    if (!Number.isFinite(value)) continue;
    if (name === 'kafka_partition_bytes_in_total') bytesIn += value;
    else if (name === 'kafka_partition_bytes_out_total') bytesOut += value;
    if (name === 'kafka_partition_high_watermark') partitions.add(labels);
  }
  return { bytesIn, bytesOut, partitions: partitions.size, atMs };
}

export function loadBetween(prev: BrokerSample | undefined, cur: BrokerSample): BrokerLoad {
  if (!prev || cur.atMs <= prev.atMs || cur.bytesIn < prev.bytesIn || cur.bytesOut < prev.bytesOut) return { partitions: cur.partitions };
  const secs = (cur.atMs - prev.atMs) / 1000;
  return {
    bytesInPerSec: Math.round((cur.bytesIn - prev.bytesIn) / secs),
    bytesOutPerSec: Math.round((cur.bytesOut - prev.bytesOut) / secs),
    partitions: cur.partitions,
  };
}

export function fetchText(url: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`GET ${url}: HTTP ${res.statusCode}`));
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/**
 * Shortest window a rate is computed over. Reconciles come in bursts (the status write of one
 * triggers the next at once): a rate over the few milliseconds between two such scrapes is 0 or
 * noise, and it would overwrite the meaningful one just written.
 */
export const MIN_RATE_WINDOW_MS = 1000;

/** Remembers the previous sample per broker so each scrape yields a rate. */
export class BrokerLoadTracker {
  private readonly last = new Map<string, BrokerSample>();
  private readonly rates = new Map<string, BrokerLoad>();

  constructor(
    private readonly fetch: (url: string) => Promise<string> = (u) => fetchText(u, 2000),
    private readonly now: () => number = Date.now,
  ) {}

  async scrape(id: string, url: string): Promise<BrokerLoad | undefined> {
    let text: string;
    try {
      text = await this.fetch(url);
    } catch {
      return undefined;
    }
    const cur = parseBrokerMetrics(text, this.now());
    const prev = this.last.get(id);
    if (prev !== undefined && cur.atMs >= prev.atMs && cur.atMs - prev.atMs < MIN_RATE_WINDOW_MS) {
      // Too soon for a rate: keep the last one, and keep the window open from the older sample.
      const { partitions: _, ...rate } = this.rates.get(id) ?? { partitions: 0 };
      return { ...rate, partitions: cur.partitions };
    }
    const load = loadBetween(prev, cur);
    this.last.set(id, cur);
    this.rates.set(id, load);
    return load;
  }

  forgetExcept(ids: Set<string>): void {
    for (const k of [...this.last.keys()]) {
      if (ids.has(k)) continue;
      this.last.delete(k);
      this.rates.delete(k);
    }
  }
}
