/**
 * S3 (and S3-compatible) backend. Implements only the primitives; retries and accounting live in
 * InstrumentedObjectStore. Credentials come from the SDK's default provider chain (env, profile,
 * web identity / IRSA, instance metadata), never from the URL.
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { ByteRange, ObjectInfo, ObjectStore } from './object-store.js';
import { ObjectNotFoundError } from './object-store.js';

export interface S3ObjectStoreOptions {
  bucket: string;
  /** Prepended to every key (e.g. "cluster-a/"); lets several clusters share a bucket. */
  keyPrefix?: string;
  region?: string;
  /** Custom endpoint (MinIO, LocalStack...), e.g. http://127.0.0.1:9000. */
  endpoint?: string;
  /** Path-style addressing (http://host/bucket/key), needed by most S3-compatible servers. */
  forcePathStyle?: boolean;
  /** For tests: a preconfigured client. */
  client?: S3Client;
}

/** DeleteObjects accepts at most 1000 keys per request. */
const DELETE_BATCH = 1000;

function httpStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const meta = (err as { $metadata?: { httpStatusCode?: number } }).$metadata;
  return meta?.httpStatusCode;
}

function errName(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'name' in err ? String((err as { name: unknown }).name) : undefined;
}

function isNotFound(err: unknown): boolean {
  const name = errName(err);
  return name === 'NoSuchKey' || name === 'NotFound' || httpStatus(err) === 404;
}

export class S3ObjectStore implements ObjectStore {
  readonly description: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(opts: S3ObjectStoreOptions) {
    if (opts.bucket.length === 0) throw new Error('S3 object store needs a bucket name');
    this.bucket = opts.bucket;
    this.prefix = opts.keyPrefix ?? '';
    this.client =
      opts.client ??
      new S3Client({
        region: opts.region ?? process.env['AWS_REGION'] ?? process.env['AWS_DEFAULT_REGION'] ?? 'us-east-1',
        ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint } : {}),
        forcePathStyle: opts.forcePathStyle ?? false,
        // Retries are done once, by the wrapper, with its own classification and accounting.
        maxAttempts: 1,
      });
    this.description = `s3://${this.bucket}/${this.prefix}${opts.endpoint !== undefined ? ` (endpoint ${opts.endpoint})` : ''}`;
  }

  async put(key: string, body: Buffer): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, Body: body, ContentLength: body.length }),
    );
  }

  async putIfAbsent(key: string, body: Buffer): Promise<boolean> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          Body: body,
          ContentLength: body.length,
          IfNoneMatch: '*',
        }),
      );
      return true;
    } catch (err) {
      const status = httpStatus(err);
      // 412: the key exists. 409: a concurrent conditional write to the same key is in progress,
      // so someone else is creating it: either way we did not create it.
      if (status === 412 || status === 409 || errName(err) === 'PreconditionFailed') return false;
      throw err;
    }
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    if (range !== undefined && range.end <= range.start) {
      if (range.end < range.start || range.start < 0) throw new RangeError(`invalid byte range [${range.start}, ${range.end}) for ${key}`);
      // An empty HTTP range cannot be expressed; still check existence like a real read would.
      if ((await this.head(key)) === undefined) throw new ObjectNotFoundError(key);
      return Buffer.alloc(0);
    }
    try {
      const resp = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          ...(range !== undefined ? { Range: `bytes=${range.start}-${range.end - 1}` } : {}),
        }),
      );
      if (resp.Body === undefined) return Buffer.alloc(0);
      const bytes = await resp.Body.transformToByteArray();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(key);
      if (httpStatus(err) === 416) throw new RangeError(`byte range [${range?.start}, ${range?.end}) starts past the end of ${key}`);
      throw err;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const resp = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      return { key, size: resp.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list(prefix: string, startAfter?: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const resp = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix + prefix,
          ...(token !== undefined
            ? { ContinuationToken: token }
            : startAfter !== undefined
              ? { StartAfter: this.prefix + startAfter }
              : {}),
        }),
      );
      for (const o of resp.Contents ?? []) {
        if (o.Key === undefined || !o.Key.startsWith(this.prefix)) continue;
        out.push({ key: o.Key.slice(this.prefix.length), size: o.Size ?? 0 });
      }
      token = resp.IsTruncated === true ? resp.NextContinuationToken : undefined;
    } while (token !== undefined);
    return out;
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const chunk = keys.slice(i, i + DELETE_BATCH);
      const resp = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: chunk.map((k) => ({ Key: this.prefix + k })), Quiet: true },
        }),
      );
      const failed = (resp.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        const first = failed[0]!;
        const err = new Error(
          `S3 DeleteObjects failed for ${failed.length} of ${chunk.length} keys in ${this.bucket}, first: ${first.Key}: ${first.Code} ${first.Message ?? ''}`,
        );
        (err as Error & { code?: string }).code = first.Code;
        throw err;
      }
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
