/**
 * Unsigned 64-bit helpers for offsets, ids and positions. Values are JS numbers; anything past
 * 2^53 cannot be represented exactly, so it is rejected on write and reported as corruption on read.
 */
const TWO_32 = 0x1_0000_0000;

export function writeU64(buf: Buffer, offset: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`cannot encode ${value} as an unsigned 64-bit integer (must be a safe non-negative integer)`);
  }
  buf.writeUInt32BE(Math.floor(value / TWO_32), offset);
  buf.writeUInt32BE(value % TWO_32, offset + 4);
}

/** Returns undefined when the stored value does not fit a safe integer (the caller reports corruption). */
export function readU64(buf: Buffer, offset: number): number | undefined {
  const hi = buf.readUInt32BE(offset);
  const lo = buf.readUInt32BE(offset + 4);
  if (hi >= 0x20_0000) return undefined;
  return hi * TWO_32 + lo;
}

/** Zero-padded decimal, so lexicographic key order equals numeric order. */
export function padSeq(n: number): string {
  return n.toString().padStart(20, '0');
}
