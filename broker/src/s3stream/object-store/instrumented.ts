/**
 * The one place that retries, classifies errors and counts object store traffic. Backends stay
 * dumb: they only implement the primitives.
 */
import type { ByteRange, ObjectInfo, ObjectStore } from './object-store.js';
import { ObjectNotFoundError } from './object-store.js';
import { backoffMs, sleep } from '../util/async.js';

export type RequestKind = 'put' | 'get' | 'list' | 'delete' | 'head';

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
    requests: { put: 0, get: 0, list: 0, delete: 0, head: 0 } as Record<RequestKind, number>,
    errors: { put: 0, get: 0, list: 0, delete: 0, head: 0 } as Record<RequestKind, number>,
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
    await this.run('put', `put ${key}`, () => this.inner.put(key, body));
    this.c.bytesUploaded += body.length;
  }

  async putIfAbsent(key: string, body: Buffer): Promise<boolean> {
    let ambiguous = false;
    const created = await this.run('put', `putIfAbsent ${key}`, async (attempt) => {
      if (attempt > 0) ambiguous = true;
      return this.inner.putIfAbsent(key, body);
    });
    if (created) {
      this.c.bytesUploaded += body.length;
      return true;
    }
    if (!ambiguous) return false;
    // A failed attempt may have created the object before its response got lost; then the retry
    // sees our own object. Only identical content proves it is ours (callers embed a writer id).
    const existing = await this.get(key).catch((err: unknown) => {
      if (err instanceof ObjectNotFoundError) return undefined;
      throw err;
    });
    if (existing !== undefined && existing.equals(body)) {
      this.c.bytesUploaded += body.length;
      return true;
    }
    return false;
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
