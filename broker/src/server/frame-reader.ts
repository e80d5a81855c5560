/**
 * Splits a TCP byte stream into Kafka request frames (int32 size + payload).
 *
 * Chunks are kept as received and joined only once a whole frame is present, so a client that
 * announces a large size cannot make the broker allocate it up front; sizes above the limit
 * (socket.request.max.bytes) or below the smallest possible header are rejected.
 */
export class FrameError extends Error {
  override readonly name = 'FrameError';
}

/** apiKey + apiVersion + correlationId. */
const MIN_FRAME = 8;

export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Adds received bytes and returns every complete frame payload (without the size prefix). */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const size = this.peekSize();
      if (size < MIN_FRAME) throw new FrameError(`request size ${size} is smaller than a request header`);
      if (size > this.maxFrameBytes) {
        throw new FrameError(`request size ${size} exceeds socket.request.max.bytes (${this.maxFrameBytes})`);
      }
      if (this.buffered < 4 + size) break;
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
      frames.push(all.subarray(4, 4 + size));
      const rest = all.subarray(4 + size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
    }
    return frames;
  }

  private peekSize(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    const head = Buffer.concat(this.chunks, Math.min(this.buffered, 4));
    return head.readInt32BE(0);
  }
}
