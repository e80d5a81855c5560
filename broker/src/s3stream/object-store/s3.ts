/**
 * S3 (and S3-compatible) backend. Implements only the primitives; retries and accounting live in
 * InstrumentedObjectStore. Credentials come from the SDK's default provider chain (env, profile,
 * web identity / IRSA, instance metadata), never from the URL.
 *
 * Every request has a deadline (base + time to move its bytes at a minimum throughput): a stalled
 * connection must turn into a retryable TimeoutError, never into a hang that blocks the WAL.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import type { ByteRange, CompletedPart, MultipartUploads, ObjectInfo, ObjectStore } from './object-store.js';
import { ConditionalConflictError, NoSuchUploadError, ObjectNotFoundError } from './object-store.js';

const MiB = 1024 * 1024;

export interface S3ObjectStoreOptions {
  bucket: string;
  /** Prepended to every key (e.g. "cluster-a/"); lets several clusters share a bucket. */
  keyPrefix?: string;
  region?: string;
  /** Custom endpoint (MinIO, LocalStack...), e.g. http://127.0.0.1:9000. */
  endpoint?: string;
  /** Path-style addressing (http://host/bucket/key), needed by most S3-compatible servers. */
  forcePathStyle?: boolean;
  /** Multipart part size (default 16 MiB; S3's minimum is 5 MiB). */
  partBytes?: number;
  /** Bodies at least this big are uploaded in parts (default 2 x partBytes, so one part never holds a tiny tail). */
  multipartThresholdBytes?: number;
  /** Deadline of a request carrying no body (default 10 s). */
  requestTimeoutMs?: number;
  /** Bodies add size / this to the deadline (default 1 MiB/s: an 8 MiB WAL object gets 18 s). */
  minThroughputBytesPerSec?: number;
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

function isPreconditionFailed(err: unknown): boolean {
  return httpStatus(err) === 412 || errName(err) === 'PreconditionFailed';
}

function isConditionalConflict(err: unknown): boolean {
  return httpStatus(err) === 409 && errName(err) !== 'BucketAlreadyOwnedByYou';
}

/**
 * The store is unusable as configured (missing bucket, rejected credentials, no permission):
 * retrying never helps. The message says what to fix, in one line.
 */
export class ObjectStoreConfigError extends Error {
  override readonly name = 'ObjectStoreConfigError';
}

/** A request that missed its deadline; retryable (the wrapper classifies it as transient by name). */
export class S3TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/**
 * Errors that say the store itself is unusable (missing bucket, bad credentials, no permission):
 * retrying never helps, and the operator must fix the configuration. The message says what to do.
 */
export function describeFatalS3Error(err: unknown, bucket: string, endpoint: string | undefined): string | undefined {
  const name = errName(err);
  const status = httpStatus(err);
  const where = endpoint !== undefined ? ` at ${endpoint}` : '';
  if (name === 'NoSuchBucket') return `S3 bucket '${bucket}'${where} does not exist: create it or fix the bucket in --object-store`;
  if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'InvalidToken' || name === 'ExpiredToken') {
    return `S3${where} rejected the credentials (${name}): check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the AWS profile / role`;
  }
  if (name === 'AccessDenied' || status === 403) return `S3${where} denied access to bucket '${bucket}' (${name ?? status}): grant the broker's identity s3:GetObject, PutObject, DeleteObject and ListBucket on it`;
  if (name === 'CredentialsProviderError') return `no AWS credentials found for S3${where}: set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, an AWS profile or a web identity role`;
  return undefined;
}

export class S3ObjectStore implements ObjectStore {
  readonly description: string;
  readonly multipart: MultipartUploads;
  private readonly client: S3Client;
  readonly bucket: string;
  readonly endpoint: string | undefined;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly bytesPerMs: number;

  constructor(opts: S3ObjectStoreOptions) {
    if (opts.bucket.length === 0) throw new Error('S3 object store needs a bucket name');
    const partBytes = opts.partBytes ?? 16 * MiB;
    if (!Number.isInteger(partBytes) || partBytes < 5 * MiB) throw new RangeError(`S3 multipart part size must be at least 5 MiB, got ${partBytes}`);
    this.bucket = opts.bucket;
    this.endpoint = opts.endpoint;
    this.prefix = opts.keyPrefix ?? '';
    this.timeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.bytesPerMs = (opts.minThroughputBytesPerSec ?? MiB) / 1000;
    this.client =
      opts.client ??
      new S3Client({
        region: opts.region ?? process.env['AWS_REGION'] ?? process.env['AWS_DEFAULT_REGION'] ?? 'us-east-1',
        ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint } : {}),
        forcePathStyle: opts.forcePathStyle ?? false,
        // Retries are done once, by the wrapper, with its own classification and accounting.
        maxAttempts: 1,
        // Every object carries its own CRC32C (checked on every read), so the SDK's response
        // checksum is redundant CPU. Uploads keep the SDK's checksum: a body corrupted on the way
        // is then refused by S3 (and retried) instead of being stored and acked.
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
    this.description = `s3://${this.bucket}/${this.prefix}${opts.endpoint !== undefined ? ` (endpoint ${opts.endpoint})` : ''}`;
    const threshold = opts.multipartThresholdBytes ?? 2 * partBytes;
    this.multipart = {
      partBytes,
      thresholdBytes: threshold,
      create: (key) => this.createMultipart(key),
      uploadPart: (key, uploadId, n, body) => this.uploadPart(key, uploadId, n, body),
      complete: (key, uploadId, parts, ifAbsent) => this.completeMultipart(key, uploadId, parts, ifAbsent),
      abort: (key, uploadId) => this.abortMultipart(key, uploadId),
    };
  }

  /**
   * Runs one request under a deadline. The abort signal makes the SDK destroy the socket; `body`
   * also reads the response body (if any) under the same deadline, since a stalled body is as bad
   * as a stalled header.
   */
  private async call<T>(what: string, bytes: number, op: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ms = Math.ceil(this.timeoutMs + bytes / this.bytesPerMs);
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new S3TimeoutError(`S3 ${what} timed out after ${ms} ms`));
        ac.abort();
      }, ms);
    });
    try {
      return await Promise.race([op(ac.signal), deadline]);
    } catch (err) {
      if (ac.signal.aborted) throw new S3TimeoutError(`S3 ${what} timed out after ${ms} ms`);
      const fatal = describeFatalS3Error(err, this.bucket, this.endpoint);
      if (fatal !== undefined) throw new ObjectStoreConfigError(fatal, { cause: err });
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  async put(key: string, body: Buffer): Promise<void> {
    await this.call(`PUT ${key}`, body.length, (abortSignal) =>
      this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, Body: body, ContentLength: body.length }), {
        abortSignal,
      }),
    );
  }

  async putIfAbsent(key: string, body: Buffer): Promise<boolean> {
    try {
      await this.call(`PUT ${key} (If-None-Match)`, body.length, (abortSignal) =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: this.prefix + key,
            Body: body,
            ContentLength: body.length,
            IfNoneMatch: '*',
          }),
          { abortSignal },
        ),
      );
      return true;
    } catch (err) {
      // 412: the key exists.
      if (isPreconditionFailed(err)) return false;
      // 409: a concurrent conditional write to the same key is in progress; the caller decides.
      if (isConditionalConflict(err)) throw new ConditionalConflictError(`conditional PUT of ${key} conflicted with a concurrent write (409)`);
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
    const expected = range !== undefined ? range.end - range.start : 0;
    try {
      return await this.call(`GET ${key}`, expected, async (abortSignal) => {
        const resp = await this.client.send(
          new GetObjectCommand({
            Bucket: this.bucket,
            Key: this.prefix + key,
            ...(range !== undefined ? { Range: `bytes=${range.start}-${range.end - 1}` } : {}),
          }),
          { abortSignal },
        );
        if (resp.Body === undefined) return Buffer.alloc(0);
        const stream = resp.Body as unknown as Readable;
        abortSignal.addEventListener('abort', () => stream.destroy?.(), { once: true });
        const bytes = await resp.Body.transformToByteArray();
        const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        if (resp.ContentLength !== undefined && buf.length !== resp.ContentLength) {
          // A connection cut mid-body can end the stream early on some paths; never hand out a short read.
          throw Object.assign(new Error(`S3 GET ${key} returned ${buf.length} of ${resp.ContentLength} bytes`), { code: 'ECONNRESET' });
        }
        return buf;
      });
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(key);
      if (httpStatus(err) === 416) throw new RangeError(`byte range [${range?.start}, ${range?.end}) starts past the end of ${key}`);
      throw err;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const resp = await this.call(`HEAD ${key}`, 0, (abortSignal) =>
        this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }), { abortSignal }),
      );
      return { key, size: resp.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err) && errName(err) !== 'NoSuchBucket') return undefined;
      throw err;
    }
  }

  async list(prefix: string, startAfter?: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const resp = await this.call(`LIST ${prefix}`, 0, (abortSignal) =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            ...(token !== undefined
              ? { ContinuationToken: token }
              : startAfter !== undefined
                ? { StartAfter: this.prefix + startAfter }
                : {}),
          }),
          { abortSignal },
        ),
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
      const resp = await this.call(`DELETE ${chunk.length} keys`, 0, (abortSignal) =>
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: chunk.map((k) => ({ Key: this.prefix + k })), Quiet: true },
          }),
          { abortSignal },
        ),
      );
      const failed = (resp.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        const first = failed[0]!;
        const err = new Error(
          `S3 DeleteObjects failed for ${failed.length} of ${chunk.length} keys in ${this.bucket}, first: ${first.Key}: ${first.Code} ${first.Message ?? ''}`,
        );
        // A per-key InternalError / SlowDown is as retryable as a 5xx of the whole request.
        (err as Error & { code?: string }).code = first.Code;
        throw err;
      }
    }
  }

  private async createMultipart(key: string): Promise<string> {
    const resp = await this.call(`CreateMultipartUpload ${key}`, 0, (abortSignal) =>
      this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.prefix + key }), { abortSignal }),
    );
    if (resp.UploadId === undefined) throw new Error(`S3 CreateMultipartUpload ${key} returned no UploadId`);
    return resp.UploadId;
  }

  private async uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<string> {
    try {
      const resp = await this.call(`UploadPart ${key} #${partNumber}`, body.length, (abortSignal) =>
        this.client.send(
          new UploadPartCommand({
            Bucket: this.bucket,
            Key: this.prefix + key,
            UploadId: uploadId,
            PartNumber: partNumber,
            Body: body,
            ContentLength: body.length,
          }),
          { abortSignal },
        ),
      );
      if (resp.ETag === undefined) throw new Error(`S3 UploadPart ${key} #${partNumber} returned no ETag`);
      return resp.ETag;
    } catch (err) {
      if (errName(err) === 'NoSuchUpload') throw new NoSuchUploadError(`multipart upload ${uploadId} of ${key} is gone`);
      throw err;
    }
  }

  private async completeMultipart(key: string, uploadId: string, parts: readonly CompletedPart[], ifAbsent: boolean): Promise<boolean> {
    try {
      await this.call(`CompleteMultipartUpload ${key}`, 0, (abortSignal) =>
        this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: this.prefix + key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
            ...(ifAbsent ? { IfNoneMatch: '*' } : {}),
          }),
          { abortSignal },
        ),
      );
      return true;
    } catch (err) {
      if (ifAbsent && isPreconditionFailed(err)) return false;
      if (ifAbsent && isConditionalConflict(err)) throw new ConditionalConflictError(`conditional completion of ${key} conflicted with a concurrent write (409)`);
      if (errName(err) === 'NoSuchUpload') throw new NoSuchUploadError(`multipart upload ${uploadId} of ${key} is gone (completed or aborted)`);
      throw err;
    }
  }

  private async abortMultipart(key: string, uploadId: string): Promise<void> {
    try {
      await this.call(`AbortMultipartUpload ${key}`, 0, (abortSignal) =>
        this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.prefix + key, UploadId: uploadId }), { abortSignal }),
      );
    } catch (err) {
      if (errName(err) === 'NoSuchUpload' || httpStatus(err) === 404) return;
      throw err;
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
