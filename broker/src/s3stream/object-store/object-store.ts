/**
 * The object store seam. Backends (file, s3, memory) implement only these primitives; retries,
 * throttling and request accounting live in one wrapper around them, not in each backend.
 */
export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
}

export interface ByteRange {
  /** Inclusive start. */
  readonly start: number;
  /** Exclusive end. */
  readonly end: number;
}

export interface ObjectStore {
  /** A short description for logs, e.g. "file:///data/objects" (never credentials). */
  readonly description: string;
  /** Writes (or overwrites) an object; durable when resolved. */
  put(key: string, body: Buffer): Promise<void>;
  /**
   * Creates the object only if no object has the key; durable when resolved. Returns false when
   * the key already exists (S3: 412 Precondition Failed on If-None-Match: *). Never overwrites.
   */
  putIfAbsent(key: string, body: Buffer): Promise<boolean>;
  /** Reads a whole object or a byte range of it. Throws ObjectNotFoundError when missing. */
  get(key: string, range?: ByteRange): Promise<Buffer>;
  /** Size of an object, or undefined when missing. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** All objects whose key starts with prefix, sorted by key, optionally starting after a key. */
  list(prefix: string, startAfter?: string): Promise<ObjectInfo[]>;
  /** Deletes objects; missing keys are not an error. */
  delete(keys: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export class ObjectNotFoundError extends Error {
  override readonly name = 'ObjectNotFoundError';
  constructor(readonly key: string) {
    super(`object not found: ${key}`);
  }
}
