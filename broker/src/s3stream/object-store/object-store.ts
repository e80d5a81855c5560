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
  /**
   * Multipart upload primitives, for backends that have them (S3). The retrying wrapper uses them
   * for bodies of at least `thresholdBytes`, in parts of `partBytes`, retrying each part on its own.
   */
  readonly multipart?: MultipartUploads;
}

export interface CompletedPart {
  readonly partNumber: number;
  readonly etag: string;
}

export interface MultipartUploads {
  /** Part size (every part but the last). S3 needs at least 5 MiB. */
  readonly partBytes: number;
  /** Bodies at least this big are uploaded in parts. */
  readonly thresholdBytes: number;
  /** Starts an upload; returns its upload id. */
  create(key: string): Promise<string>;
  /** Uploads one part (numbers start at 1); returns its ETag. Re-uploading a part number replaces it. */
  uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<string>;
  /**
   * Completes the upload. With ifAbsent, returns false (and creates nothing) when the key exists
   * (S3: 412 on If-None-Match: *). Throws NoSuchUploadError when the upload id is unknown (already
   * completed or aborted).
   */
  complete(key: string, uploadId: string, parts: readonly CompletedPart[], ifAbsent: boolean): Promise<boolean>;
  /** Aborts an upload and frees its parts; unknown ids are not an error. */
  abort(key: string, uploadId: string): Promise<void>;
}

/** The multipart upload id is unknown: completed or aborted already (or never created). */
export class NoSuchUploadError extends Error {
  override readonly name = 'NoSuchUploadError';
}

/**
 * A conditional write raced with another conditional write on the same key that was still in
 * progress (S3 409 ConditionalRequestConflict). Which one wins is not known yet.
 */
export class ConditionalConflictError extends Error {
  override readonly name = 'ConditionalConflictError';
}

export class ObjectNotFoundError extends Error {
  override readonly name = 'ObjectNotFoundError';
  constructor(readonly key: string) {
    super(`object not found: ${key}`);
  }
}
