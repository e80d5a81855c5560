import type { ByteRange } from './object-store.js';

/**
 * Validates a byte range against an object size with S3 semantics: the end is clamped to the
 * object size, a start past the end is an error (S3 answers 416).
 */
export function clampRange(size: number, range: ByteRange | undefined, key: string): { start: number; end: number } {
  if (range === undefined) return { start: 0, end: size };
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RangeError(`invalid byte range [${start}, ${end}) for ${key}`);
  }
  if (start > size || (start === size && end > start)) {
    throw new RangeError(`byte range [${start}, ${end}) starts past the end of ${key} (${size} bytes)`);
  }
  return { start, end: Math.min(end, size) };
}

export function sliceRange(body: Buffer, size: number, range: ByteRange | undefined, key: string): Buffer {
  const { start, end } = clampRange(size, range, key);
  return body.subarray(start, end);
}
