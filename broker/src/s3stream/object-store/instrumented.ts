/**
 * The one place that retries, classifies errors and counts object store traffic. Backends stay
 * dumb: they only implement the primitives.
 */
import type { ByteRange, CompletedPart, MultipartUploads, ObjectInfo, ObjectStore } from './object-store.js';
import { ConditionalConflictError, NoSuchUploadError, ObjectNotFoundError } from './object-store.js';
import { backoffMs, sleep } from '../util/async.js';

/**
 * Billable request types. A multipart upload costs one create, one request per part and one
 * complete (all PUT-class in S3 pricing); abort is free but counted.
 */
export type RequestKind = 'put' | 'get' | 'list' | 'delete' | 'head' | 'multipartCreate' | 'multipartPart' | 'multipartComplete' | 'multipartAbort';
export const REQUEST_KINDS: readonly RequestKind[] = ['put', 'get', 'list', 'delete', 'head', 'multipartCreate', 'multipartPart', 'multipartComplete', 'multipartAbort'];

function zeroCounts(): Record<RequestKind, number> {
  return Object.fromEntries(REQUEST_KINDS.map((k) => [k, 0])) as Record<RequestKind, number>;
}

export interface ObjectStoreCounters {
  readonly requests: Record<RequestKind, number>;
  /** Requests that failed (every attempt counts). */
  readonly errors: Record<RequestKind, number>;
  readonly retries: number;
  readonly bytesUploaded: number;
  readonly bytesDownloaded: number;
}

export interface RetryPolicy {
  /** Attempts per call, including the first (default 6). */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Thrown by test doubles to simulate a transient failure (timeouts, 503s). */
export class TransientObjectStoreError extends Error {
  override readonly name = 'TransientObjectStoreError';
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'EBUSY',
  'EMFILE',
  'ENFILE',
  'InternalError',
  'SlowDown',
  'ServiceUnavailable',
  'RequestTimeout',
  'ThrottlingException',
]);
const TRANSIENT_NAMES = new Set([
  'TransientObjectStoreError',
  'TimeoutError',
  'AbortError',
  'RequestTimeout',
  'RequestTimeoutException',
  'SlowDown',
  'InternalError',
  'ServiceUnavailable',
  'ThrottlingException',
  'NetworkingError',
]);

/** Transient = worth retrying: network trouble, throttling, 5xx. Not found, bad requests and auth errors are not. */
export function isTransient(err: unknown): boolean {
  if (err instanceof ObjectNotFoundError || err instanceof RangeError) return false;
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; code?: unknown; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (e.$retryable !== undefined && e.$retryable !== null) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429 || status === 408)) return true;
  if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
  if (typeof e.name === 'string' && TRANSIENT_NAMES.has(e.name)) return true;
  return false;
}

export interface InstrumentedOptions {
  retry?: Partial<RetryPolicy>;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

export class InstrumentedObjectStore implements ObjectStore {
  readonly description: string;
  private readonly policy: RetryPolicy;
  private readonly sleepFn: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly log: InstrumentedOptions['log'];
  private readonly c = {
    requests: zeroCounts(),
    errors: zeroCounts(),
    retries: 0,
    bytesUploaded: 0,
    bytesDownloaded: 0,
  };

  constructor(
    readonly inner: ObjectStore,
    opts: InstrumentedOptions = {},
  ) {
    this.description = inner.description;
    this.policy = { maxAttempts: 6, baseDelayMs: 50, maxDelayMs: 2000, ...opts.retry };
    this.sleepFn = opts.sleep ?? ((ms) => sleep(ms));
    this.random = opts.random ?? Math.random;
    this.log = opts.log;
  }

  counters(): ObjectStoreCounters {
    return { requests: { ...this.c.requests }, errors: { ...this.c.errors }, retries: this.c.retries, bytesUploaded: this.c.bytesUploaded, bytesDownloaded: this.c.bytesDownloaded };
  }

  /**
   * Runs op with retries on transient errors. `requests` is how many billable requests one attempt
   * costs (list and delete are paged by 1000 keys).
   */
  private async run<T>(kind: RequestKind, what: string, op: (attempt: number) => Promise<T>, requests = 1): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      this.c.requests[kind] += requests;
      try {
        return await op(attempt);
      } catch (err) {
        if (!(err instanceof ObjectNotFoundError)) this.c.errors[kind] += 1;
        if (!isTransient(err) || attempt + 1 >= this.policy.maxAttempts) throw err;
        this.c.retries += 1;
        const delay = backoffMs(attempt, this.policy.baseDelayMs, this.policy.maxDelayMs, this.random);
        this.log?.('debug', 'object store request failed, retrying', { what, attempt, delayMs: delay, error: String(err) });
        await this.sleepFn(delay);
      }
    }
  }

  async put(key: string, body: Buffer): Promise<void> {
    const mp = this.inner.multipart;
    if (mp !== undefined && body.length >= mp.thresholdBytes) {
      await this.putMultipart(mp, key, body, false);
      return;
    }
    await this.run('put', `put ${key}`, () => this.inner.put(key, body));
    this.c.bytesUploaded += body.length;
  }

  async putIfAbsent(key: string, body: Buffer): Promise<boolean> {
    const mp = this.inner.multipart;
    if (mp !== undefined && body.length >= mp.thresholdBytes) return this.putMultipart(mp, key, body, true);
    const created = await this.run('put', `putIfAbsent ${key}`, (attempt) => this.conditional(() => this.inner.putIfAbsent(key, body), attempt));
    if (created) {
      this.c.bytesUploaded += body.length;
      return true;
    }
    if (!(await this.isOurs(key, body))) return false;
    this.c.bytesUploaded += body.length;
    return true;
  }

  /**
   * A 409 on a first attempt means someone else is creating the key: we did not create it. On a
   * retry it may be our own earlier attempt, still in progress at the server: retry until the
   * server settles on 412 or success.
   */
  private async conditional(op: () => Promise<boolean>, attempt: number): Promise<boolean> {
    try {
      return await op();
    } catch (err) {
      if (err instanceof ConditionalConflictError && attempt === 0) return false;
      if (err instanceof ConditionalConflictError) throw Object.assign(err, { $retryable: {} });
      throw err;
    }
  }

  /**
   * "Exists" may be our own write: a failed attempt may have created the object before its
   * response got lost, in this call or in an earlier call of the caller's own retry loop (the WAL
   * and metadata log retry forever, beyond this wrapper's attempts, and cannot tell us). So every
   * 412 is checked: only identical content proves it is ours (callers embed a writer id/epoch).
   * Costs one GET per refused create, which only happens on races and takeovers.
   */
  private async isOurs(key: string, body: Buffer): Promise<boolean> {
    const existing = await this.get(key).catch((err: unknown) => {
      if (err instanceof ObjectNotFoundError) return undefined;
      throw err;
    });
    return existing !== undefined && existing.equals(body);
  }

  /**
   * Multipart upload, each request retried on its own (a failed part does not restart the object).
   * Any failure aborts the upload so no parts are left behind (S3 bills stored parts).
   */
  private async putMultipart(mp: MultipartUploads, key: string, body: Buffer, ifAbsent: boolean): Promise<boolean> {
    const uploadId = await this.run('multipartCreate', `create multipart ${key}`, () => mp.create(key));
    let done = false;
    try {
      const partCount = Math.ceil(body.length / mp.partBytes);
      const parts: CompletedPart[] = new Array<CompletedPart>(partCount);
      // Up to 4 parts in flight: enough to fill a link, bounded so memory is not multiplied.
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < partCount) {
          const i = next++;
          const chunk = body.subarray(i * mp.partBytes, Math.min(body.length, (i + 1) * mp.partBytes));
          const etag = await this.run('multipartPart', `upload part ${i + 1} of ${key}`, () => mp.uploadPart(key, uploadId, i + 1, chunk));
          this.c.bytesUploaded += chunk.length;
          parts[i] = { partNumber: i + 1, etag };
        }
      };
      await Promise.all(Array.from({ length: Math.min(4, partCount) }, () => worker()));
      let ambiguous = false;
      let created: boolean;
      try {
        created = await this.run('multipartComplete', `complete multipart ${key}`, (attempt) => {
          if (attempt > 0) ambiguous = true;
          return this.conditional(() => mp.complete(key, uploadId, parts, ifAbsent), attempt);
        });
      } catch (err) {
        // The upload id is gone after an attempt whose answer we lost: that attempt completed it.
        if (!(err instanceof NoSuchUploadError) || !ambiguous) throw err;
        done = true;
        if (!ifAbsent) return true;
        const existing = await this.get(key).catch(() => undefined);
        return existing !== undefined && existing.equals(body);
      }
      done = created;
      if (created) return true;
      const mine = await this.isOurs(key, body);
      done = mine;
      return mine;
    } finally {
      if (!done) {
        await this.run('multipartAbort', `abort multipart ${key}`, () => mp.abort(key, uploadId)).catch((err: unknown) =>
          this.log?.('warn', 'could not abort a multipart upload; its parts stay billed until a lifecycle rule removes them', {
            key,
            uploadId,
            error: String(err),
          }),
        );
      }
    }
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    const body = await this.run('get', `get ${key}`, () => this.inner.get(key, range));
    this.c.bytesDownloaded += body.length;
    return body;
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return this.run('head', `head ${key}`, () => this.inner.head(key));
  }

  async list(prefix: string, startAfter?: string): Promise<ObjectInfo[]> {
    const out = await this.run('list', `list ${prefix}`, () => this.inner.list(prefix, startAfter));
    // One attempt was counted up front; S3 pages by 1000 keys.
    this.c.requests.list += Math.max(0, Math.ceil(out.length / 1000) - 1);
    return out;
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.run('delete', `delete ${keys.length} keys`, () => this.inner.delete(keys), Math.ceil(keys.length / 1000));
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
