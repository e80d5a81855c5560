/**
 * Prometheus metrics of a broker: request rates and latencies per API, per-partition bytes in/out
 * (the load figures the operator's auto balancer reads), and storage counters (S3 requests by
 * type, bytes moved, cache use), plus Node process metrics (RSS, GC, event loop lag).
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StorageStats } from '../s3stream/api.js';

export class BrokerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'api' | 'version'>;
  private readonly requestSeconds: Histogram<'api'>;
  private readonly bytesIn: Counter<'topic' | 'partition'>;
  private readonly bytesOut: Counter<'topic' | 'partition'>;
  private readonly messagesIn: Counter<'topic' | 'partition'>;
  private server: Server | undefined;

  constructor(storageStats: () => StorageStats, partitionGauges: () => { topic: string; partition: number; highWatermark: number; logStartOffset: number; sizeBytes: number }[]) {
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({ name: 'kafka_server_requests_total', help: 'Kafka requests handled, by API and version.', labelNames: ['api', 'version'], registers: [this.registry] });
    this.requestSeconds = new Histogram({
      name: 'kafka_server_request_duration_seconds',
      help: 'Time from request decode to response encode, by API.',
      labelNames: ['api'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.bytesIn = new Counter({ name: 'kafka_partition_bytes_in_total', help: 'Record batch bytes appended, by partition.', labelNames: ['topic', 'partition'], registers: [this.registry] });
    this.bytesOut = new Counter({ name: 'kafka_partition_bytes_out_total', help: 'Record batch bytes served to fetches, by partition.', labelNames: ['topic', 'partition'], registers: [this.registry] });
    this.messagesIn = new Counter({ name: 'kafka_partition_records_in_total', help: 'Records appended, by partition.', labelNames: ['topic', 'partition'], registers: [this.registry] });

    const reg = [this.registry];
    const storageGauge = (name: string, help: string, pick: (s: StorageStats) => number) =>
      new Gauge({ name, help, registers: reg, collect() { this.set(pick(storageStats())); } });
    new Gauge({
      name: 's3stream_object_store_requests',
      help: 'Object store requests made since start, by type (monotonic).',
      labelNames: ['type'],
      registers: reg,
      collect() {
        for (const [type, n] of Object.entries(storageStats().objectStoreRequests)) this.set({ type }, n);
      },
    });
    // Cost accounting as true counters (rate()-able): S3 bills per request type; bytes show transfer.
    const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    const storageCounter = (name: string, help: string, labelNames: string[], fill: (c: Counter<string>, s: StorageStats) => void) =>
      new Counter({ name, help, labelNames, registers: reg, collect() { this.reset(); fill(this, storageStats()); } });
    storageCounter('s3stream_requests_total', 'Object store requests by type (put, get, list, delete, head, multipart_create, multipart_part, multipart_complete, multipart_abort); every attempt counts.', ['type'], (c, s) => {
      for (const [type, n] of Object.entries(s.objectStoreRequests)) c.inc({ type: snake(type) }, n);
    });
    storageCounter('s3stream_request_errors_total', 'Failed object store requests by type (every failed attempt).', ['type'], (c, s) => {
      for (const [type, n] of Object.entries(s.objectStoreErrors)) c.inc({ type: snake(type) }, n);
    });
    storageCounter('s3stream_request_retries_total', 'Object store requests retried after a transient failure (5xx, throttling, network, timeout).', [], (c, s) => c.inc(s.objectStoreRetries));
    storageCounter('s3stream_transfer_bytes_total', 'Bytes moved to (direction="up") and from (direction="down") the object store.', ['direction'], (c, s) => {
      c.inc({ direction: 'up' }, s.bytesUploaded);
      c.inc({ direction: 'down' }, s.bytesDownloaded);
    });
    storageGauge('s3stream_bytes_uploaded', 'Bytes written to the object store since start.', (s) => s.bytesUploaded);
    storageGauge('s3stream_bytes_downloaded', 'Bytes read from the object store since start.', (s) => s.bytesDownloaded);
    storageGauge('s3stream_wal_objects_written', 'WAL objects written since start.', (s) => s.walObjectsWritten);
    storageGauge('s3stream_wal_unflushed_bytes', 'Bytes appended but not yet durable.', (s) => s.walUnflushedBytes);
    storageGauge('s3stream_wal_flush_latency_p99_ms', 'WAL flush latency (first append to ack), p99 over the last 256 flushes.', (s) => s.walFlushLatencyP99Ms);
    storageGauge('s3stream_wal_flush_latency_max_ms', 'WAL flush latency (first append to ack), max over the last 256 flushes.', (s) => s.walFlushLatencyMaxMs);
    storageGauge('s3stream_log_cache_bytes', 'Bytes held by the LogCache.', (s) => s.logCacheBytes);
    storageGauge('s3stream_block_cache_bytes', 'Bytes held by the BlockCache.', (s) => s.blockCacheBytes);
    storageGauge('s3stream_block_cache_hits', 'BlockCache hits since start.', (s) => s.blockCacheHits);
    storageGauge('s3stream_block_cache_misses', 'BlockCache misses since start.', (s) => s.blockCacheMisses);
    storageGauge('s3stream_stream_objects', 'Live per-stream objects.', (s) => s.streamObjects);
    storageGauge('s3stream_wal_objects_live', 'Live WAL objects (not yet compacted away).', (s) => s.walObjectsLive);
    new Gauge({
      name: 'kafka_partition_high_watermark',
      help: 'High watermark (end of durable data), by partition.',
      labelNames: ['topic', 'partition'],
      registers: reg,
      collect() {
        this.reset();
        for (const p of partitionGauges()) this.set({ topic: p.topic, partition: String(p.partition) }, p.highWatermark);
      },
    });
    new Gauge({
      name: 'kafka_partition_size_bytes',
      help: 'Approximate stored bytes, by partition.',
      labelNames: ['topic', 'partition'],
      registers: reg,
      collect() {
        this.reset();
        for (const p of partitionGauges()) this.set({ topic: p.topic, partition: String(p.partition) }, p.sizeBytes);
      },
    });
  }

  observeRequest(api: string, version: number, seconds: number): void {
    this.requests.inc({ api, version: String(version) });
    this.requestSeconds.observe({ api }, seconds);
  }

  recordIn(topic: string, partition: number, bytes: number, records: number): void {
    const labels = { topic, partition: String(partition) };
    this.bytesIn.inc(labels, bytes);
    this.messagesIn.inc(labels, records);
  }

  recordOut(topic: string, partition: number, bytes: number): void {
    if (bytes > 0) this.bytesOut.inc({ topic, partition: String(partition) }, bytes);
  }

  /** Serves GET /metrics; resolves with the bound port. */
  async listen(host: string, port: number): Promise<number> {
    const server = createServer((req, res) => {
      if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
        this.registry.metrics().then(
          (body) => {
            res.writeHead(200, { 'content-type': this.registry.contentType });
            res.end(body);
          },
          (err: unknown) => {
            res.writeHead(500);
            res.end(String(err));
          },
        );
      } else if (req.url === '/healthz' || req.url === '/readyz') {
        res.writeHead(200);
        res.end('ok');
      } else {
        res.writeHead(404);
        res.end('not found: try /metrics\n');
      }
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const addr = server.address();
    return typeof addr === 'object' && addr ? addr.port : port;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
