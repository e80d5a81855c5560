/**
 * Bounds-checked reader over a Kafka wire buffer.
 *
 * Every read checks the remaining length first and throws ProtocolDecodeError
 * instead of reading past the end, and no read allocates more than the bytes
 * actually present: lengths that come from the wire are untrusted input.
 */
export class ProtocolDecodeError extends Error {
  override readonly name = 'ProtocolDecodeError';
}

export class Reader {
  private pos: number;

  constructor(
    readonly buf: Buffer,
    offset = 0,
    private readonly end = buf.length,
  ) {
    this.pos = offset;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.end) {
      throw new ProtocolDecodeError(`truncated input: need ${n} bytes for ${what} at offset ${this.pos}, have ${this.remaining}`);
    }
  }

  int8(): number {
    this.need(1, 'int8');
    return this.buf.readInt8(this.pos++);
  }

  uint8(): number {
    this.need(1, 'uint8');
    return this.buf.readUInt8(this.pos++);
  }

  bool(): boolean {
    return this.int8() !== 0;
  }

  int16(): number {
    this.need(2, 'int16');
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  uint16(): number {
    this.need(2, 'uint16');
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4, 'int32');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint32(): number {
    this.need(4, 'uint32');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  int64(): bigint {
    this.need(8, 'int64');
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  float64(): number {
    this.need(8, 'float64');
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Unsigned LEB128 varint, at most 5 bytes (32 bits). */
  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.uint8();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
    throw new ProtocolDecodeError('unsigned varint longer than 5 bytes');
  }

  /** Zigzag-encoded signed varint (record fields). */
  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  /** Zigzag-encoded signed varlong, at most 10 bytes. */
  varlong(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.uint8();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return (result >> 1n) ^ -(result & 1n);
      shift += 7n;
    }
    throw new ProtocolDecodeError('varlong longer than 10 bytes');
  }

  bytes(n: number): Buffer {
    this.need(n, 'bytes');
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  skip(n: number): void {
    this.need(n, 'skip');
    this.pos += n;
  }

  utf8(n: number): string {
    return this.bytes(n).toString('utf8');
  }

  /** Checks a wire-supplied element count against the bytes left, so no array is pre-sized by a lie. */
  checkCount(n: number, minElementSize: number, what: string): void {
    if (n < 0) throw new ProtocolDecodeError(`negative length ${n} for ${what}`);
    if (n * Math.max(minElementSize, 0) > this.remaining) {
      throw new ProtocolDecodeError(`length ${n} for ${what} exceeds the ${this.remaining} bytes left`);
    }
  }
}
