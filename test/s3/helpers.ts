// Shared pieces of the MinIO-backed suites: stores with a unique key prefix per test (so tests
// share one bucket without seeing each other's objects), and small utilities.
import { randomBytes } from 'node:crypto';
import { S3ObjectStore } from '../../broker/src/s3stream/object-store/s3.js';
import type { S3ObjectStoreOptions } from '../../broker/src/s3stream/object-store/s3.js';
import type { Minio } from './minio.hooks.js';

export function uniquePrefix(name: string): string {
  return `t/${name}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}/`;
}

/** An S3 store on MinIO (or on a proxy in front of it: pass `endpoint`). */
export function s3Store(m: Minio, prefix: string, over: Partial<S3ObjectStoreOptions> = {}): S3ObjectStore {
  return new S3ObjectStore({
    bucket: m.bucket,
    keyPrefix: prefix,
    endpoint: m.endpoint,
    region: m.region,
    forcePathStyle: true,
    ...over,
  });
}

/** The s3:// URL the broker CLI takes for the same store. */
export function s3Url(m: Minio, prefix: string, endpoint = m.endpoint, extra = ''): string {
  return `s3://${m.bucket}/${prefix.replace(/\/$/, '')}?endpoint=${encodeURIComponent(endpoint)}&region=${m.region}&pathStyle=true${extra}`;
}

/** Polls `cond` until true; fails with `what` after `timeoutMs` (a bounded wait, not a sleep). */
export async function waitUntil(cond: () => boolean | Promise<boolean>, what: string | (() => string), timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function randomBody(n: number): Buffer {
  return randomBytes(n);
}
