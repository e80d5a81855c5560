/**
 * Object store from a URL (flag/config input):
 *   file:///absolute/path
 *   s3://bucket[/key/prefix]?endpoint=http://host:port&region=r&pathStyle=true
 *        [&partSize=16MiB][&timeoutMs=10000]   (multipart part size; per-request base deadline)
 *   memory://            (tests, throwaway dev runs)
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { ObjectStore } from './object-store.js';
import { FileObjectStore } from './file.js';
import { MemoryObjectStore } from './memory.js';
import { S3ObjectStore } from './s3.js';

const USAGE = 'expected file:///absolute/path, s3://bucket[/prefix]?endpoint=http://host:port&region=r&pathStyle=true, or memory://';

function parseSize(v: string): number {
  const m = /^(\d+)(KiB|MiB|GiB)?$/.exec(v)!;
  const unit = m[2] === 'KiB' ? 1024 : m[2] === 'MiB' ? 1024 ** 2 : m[2] === 'GiB' ? 1024 ** 3 : 1;
  return Number(m[1]) * unit;
}

export class ObjectStoreUrlError extends Error {
  override readonly name = 'ObjectStoreUrlError';
}

const s3Query = z
  .object({
    endpoint: z
      .string()
      .refine((v) => {
        try {
          const u = new URL(v);
          return u.protocol === 'http:' || u.protocol === 'https:';
        } catch {
          return false;
        }
      }, 'endpoint must be an http:// or https:// URL, e.g. http://127.0.0.1:9000')
      .optional(),
    region: z.string().regex(/^[a-z0-9-]+$/, 'region must look like us-east-1').optional(),
    pathStyle: z.enum(['true', 'false'], { message: "pathStyle must be 'true' or 'false'" }).optional(),
    partSize: z
      .string()
      .regex(/^\d+(KiB|MiB|GiB)?$/, 'partSize must be bytes or a size like 16MiB')
      .transform(parseSize)
      .refine((n) => n >= 5 * 1024 * 1024 && n <= 5 * 1024 * 1024 * 1024, 'partSize must be between 5MiB and 5GiB (S3 limits)')
      .optional(),
    timeoutMs: z
      .string()
      .regex(/^\d+$/, 'timeoutMs must be a whole number of milliseconds')
      .transform(Number)
      .refine((n) => n >= 100 && n <= 600_000, 'timeoutMs must be between 100 and 600000')
      .optional(),
  })
  .strict();

export function createObjectStore(url: string): ObjectStore {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ObjectStoreUrlError(`invalid object store URL '${url}': ${USAGE}`);
  }
  switch (u.protocol) {
    case 'file:': {
      if (u.host !== '' && u.host !== 'localhost') {
        throw new ObjectStoreUrlError(
          `file object store URL '${url}' names host '${u.host}'; use three slashes and an absolute path: file:///data/objects`,
        );
      }
      if (u.search !== '' || u.hash !== '') throw new ObjectStoreUrlError(`file object store URL '${url}' takes no query or fragment`);
      const dir = fileURLToPath(u);
      if (!path.isAbsolute(dir) || dir === '/') {
        throw new ObjectStoreUrlError(`file object store URL '${url}' must name an absolute directory other than '/': ${USAGE}`);
      }
      return new FileObjectStore(dir);
    }
    case 's3:': {
      const bucket = u.hostname;
      if (bucket.length === 0) throw new ObjectStoreUrlError(`S3 URL '${url}' has no bucket: ${USAGE}`);
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
        throw new ObjectStoreUrlError(`S3 URL '${url}': '${bucket}' is not a valid bucket name (3-63 chars: lowercase letters, digits, '.', '-')`);
      }
      if (u.port !== '' || u.username !== '' || u.password !== '') {
        throw new ObjectStoreUrlError(
          `S3 URL '${url}' must not carry a port or credentials; use ?endpoint=http://host:port and the AWS default credential chain`,
        );
      }
      const params: Record<string, string> = {};
      for (const [k, v] of u.searchParams) {
        if (k in params) throw new ObjectStoreUrlError(`S3 URL '${url}' repeats query parameter '${k}'`);
        params[k] = v;
      }
      const parsed = s3Query.safeParse(params);
      if (!parsed.success) {
        const issues = parsed.error.issues
          .map((i) => (i.code === 'unrecognized_keys' ? `unknown parameter(s) ${i.keys.join(', ')} (allowed: endpoint, region, pathStyle, partSize, timeoutMs)` : `${i.path.join('.')}: ${i.message}`))
          .join('; ');
        throw new ObjectStoreUrlError(`invalid S3 URL '${url}': ${issues}`);
      }
      let keyPrefix = decodeURIComponent(u.pathname.replace(/^\/+/, ''));
      if (keyPrefix.length > 0 && !keyPrefix.endsWith('/')) keyPrefix += '/';
      const q = parsed.data;
      return new S3ObjectStore({
        bucket,
        keyPrefix,
        ...(q.region !== undefined ? { region: q.region } : {}),
        ...(q.endpoint !== undefined ? { endpoint: q.endpoint } : {}),
        forcePathStyle: q.pathStyle === 'true',
        ...(q.partSize !== undefined ? { partBytes: q.partSize } : {}),
        ...(q.timeoutMs !== undefined ? { requestTimeoutMs: q.timeoutMs } : {}),
      });
    }
    case 'memory:':
      return new MemoryObjectStore();
    default:
      throw new ObjectStoreUrlError(`unsupported object store URL scheme '${u.protocol}' in '${url}': ${USAGE}`);
  }
}
