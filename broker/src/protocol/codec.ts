/**
 * The one generic encoder/decoder for every message schema (schema.ts).
 *
 * Non-flexible versions use classic encodings (int16 string lengths, int32 array/bytes lengths).
 * Flexible versions use compact encodings (unsigned varint length+1, 0 = null) and end every
 * struct with a tagged-field section; tagged fields are written only when they differ from
 * their default, and unknown tags are skipped on read.
 */
import { inRange, type Field, type Fields, type In, type MessageSchema, type Out, ZERO_UUID } from './schema.js';
import { ProtocolDecodeError, Reader } from './primitives/reader.js';
import { Writer } from './primitives/writer.js';

export class ProtocolEncodeError extends Error {
  override readonly name = 'ProtocolEncodeError';
}

export function isFlexible(schema: MessageSchema, version: number): boolean {
  return inRange(schema.flexible, version);
}

export function decodeMessage<F extends Fields>(schema: MessageSchema<F>, version: number, r: Reader): Out<F> {
  if (!inRange(schema.valid, version)) {
    throw new ProtocolDecodeError(`${schema.name} version ${version} is outside ${schema.valid.min}-${schema.valid.max}`);
  }
  return readStruct(schema.fields, version, isFlexible(schema, version), r) as Out<F>;
}

export function encodeMessage<F extends Fields>(schema: MessageSchema<F>, version: number, value: In<F>, w: Writer): void {
  if (!inRange(schema.valid, version)) {
    throw new ProtocolEncodeError(`${schema.name} version ${version} is outside ${schema.valid.min}-${schema.valid.max}`);
  }
  writeStruct(schema.fields, version, isFlexible(schema, version), value as Record<string, unknown>, w, schema.name);
}

/** Decoded value with every field present; used to fill in defaults for encode-side input too. */
export function withDefaults<F extends Fields>(fields: F, value: In<F>): Out<F> {
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(fields)) {
    const v = (value as Record<string, unknown>)[name];
    out[name] = v === undefined ? field.defaultValue() : v;
  }
  return out as Out<F>;
}

// ---------------------------------------------------------------- decode

function readStruct(fields: Fields, version: number, flexible: boolean, r: Reader): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const tagged = new Map<number, [string, Field<unknown>]>();
  for (const [name, field] of Object.entries(fields)) {
    if (field.tag !== undefined) {
      out[name] = field.defaultValue();
      if (flexible && inRange(field.versions, version)) tagged.set(field.tag, [name, field]);
      continue;
    }
    if (!inRange(field.versions, version)) {
      out[name] = field.defaultValue();
      continue;
    }
    out[name] = readValue(field, name, version, flexible, r);
  }
  if (flexible) {
    const count = r.uvarint();
    r.checkCount(count, 2, 'tagged fields');
    let lastTag = -1;
    for (let i = 0; i < count; i++) {
      const tag = r.uvarint();
      if (tag <= lastTag) throw new ProtocolDecodeError(`tagged fields out of order: ${tag} after ${lastTag}`);
      lastTag = tag;
      const size = r.uvarint();
      const known = tagged.get(tag);
      if (!known) {
        r.skip(size);
        continue;
      }
      const sub = new Reader(r.buf, r.offset, r.offset + size);
      r.skip(size);
      out[known[0]] = readValue(known[1], known[0], version, true, sub);
    }
  }
  return out;
}

function readLength(flexible: boolean, r: Reader, classic: 'int16' | 'int32'): number {
  if (flexible) return r.uvarint() - 1;
  return classic === 'int16' ? r.int16() : r.int32();
}

function nullCheck(field: Field<unknown>, name: string, version: number): null {
  if (!inRange(field.nullableVersions, version)) {
    throw new ProtocolDecodeError(`field ${name} is null but not nullable in version ${version}`);
  }
  return null;
}

function readValue(field: Field<unknown>, name: string, version: number, flexible: boolean, r: Reader): unknown {
  switch (field.kind) {
    case 'int8':
      return r.int8();
    case 'int16':
      return r.int16();
    case 'int32':
      return r.int32();
    case 'int64':
      return r.int64();
    case 'uint16':
      return r.uint16();
    case 'float64':
      return r.float64();
    case 'bool':
      return r.bool();
    case 'uuid':
      return r.bytes(16).toString('hex');
    case 'string': {
      const n = readLength(flexible, r, 'int16');
      if (n < 0) return nullCheck(field, name, version);
      return r.utf8(n);
    }
    case 'bytes':
    case 'records': {
      const n = readLength(flexible, r, 'int32');
      if (n < 0) return nullCheck(field, name, version);
      return r.bytes(n);
    }
    case 'array': {
      const n = readLength(flexible, r, 'int32');
      if (n < 0) return nullCheck(field, name, version);
      const element = field.element!;
      r.checkCount(n, minSize(element, flexible, version), name);
      const items: unknown[] = [];
      for (let i = 0; i < n; i++) {
        items.push(
          element.kind === 'struct'
            ? readStruct(element.fields!, version, flexible, r)
            : readValue(element, name, version, flexible, r),
        );
      }
      return items;
    }
    case 'struct': {
      if (inRange(field.nullableVersions, version)) {
        if (r.int8() < 0) return null;
      }
      return readStruct(field.fields!, version, flexible, r);
    }
  }
}

/** Smallest wire size of one element, to reject absurd array counts before looping. */
function minSize(field: Field<unknown>, flexible: boolean, version: number): number {
  switch (field.kind) {
    case 'int8':
    case 'bool':
      return 1;
    case 'int16':
    case 'uint16':
      return 2;
    case 'int32':
      return 4;
    case 'int64':
    case 'float64':
      return 8;
    case 'uuid':
      return 16;
    case 'string':
      return flexible ? 1 : 2;
    case 'bytes':
    case 'records':
    case 'array':
      return flexible ? 1 : 4;
    case 'struct': {
      let n = flexible ? 1 : 0;
      for (const member of Object.values(field.fields!)) {
        if (member.tag === undefined && inRange(member.versions, version)) n += minSize(member, flexible, version);
      }
      return n;
    }
  }
}

// ---------------------------------------------------------------- encode

function writeStruct(
  fields: Fields,
  version: number,
  flexible: boolean,
  value: Record<string, unknown>,
  w: Writer,
  path: string,
): void {
  const tagged: [number, string, Field<unknown>, unknown][] = [];
  for (const [name, field] of Object.entries(fields)) {
    if (!inRange(field.versions, version)) continue;
    const given = value[name];
    const v = given === undefined ? field.defaultValue() : given;
    if (field.tag !== undefined) {
      if (flexible && !isDefault(field, v)) tagged.push([field.tag, name, field, v]);
      continue;
    }
    writeValue(field, v, version, flexible, w, `${path}.${name}`);
  }
  if (flexible) {
    tagged.sort((a, b) => a[0] - b[0]);
    w.uvarint(tagged.length);
    for (const [tag, name, field, v] of tagged) {
      const sub = new Writer(64);
      writeValue(field, v, version, true, sub, `${path}.${name}`);
      const bytes = sub.toBuffer();
      w.uvarint(tag).uvarint(bytes.length).raw(bytes);
    }
  }
}

/**
 * Kafka omits a tagged field whose value equals its default, including structs equal to a
 * default-constructed struct; comparing deeply keeps our bytes identical to Kafka's.
 */
function isDefault(field: Field<unknown>, v: unknown): boolean {
  return sameValue(v, field.defaultValue());
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) {
    // an omitted member means "default", which bo (a default-constructed struct) already holds
    if (ao[k] === undefined) continue;
    if (!sameValue(ao[k], bo[k])) return false;
  }
  return true;
}

function writeLength(flexible: boolean, n: number, w: Writer, classic: 'int16' | 'int32'): void {
  if (flexible) w.uvarint(n + 1);
  else if (classic === 'int16') w.int16(n);
  else w.int32(n);
}

function writeValue(field: Field<unknown>, v: unknown, version: number, flexible: boolean, w: Writer, path: string): void {
  if (v === null) {
    if (!inRange(field.nullableVersions, version)) {
      throw new ProtocolEncodeError(`${path} is null but not nullable in version ${version}`);
    }
    if (field.kind === 'struct') w.int8(-1);
    else writeLength(flexible, -1, w, field.kind === 'string' ? 'int16' : 'int32');
    return;
  }
  switch (field.kind) {
    case 'int8':
      w.int8(v as number);
      return;
    case 'int16':
      w.int16(v as number);
      return;
    case 'int32':
      w.int32(v as number);
      return;
    case 'int64':
      w.int64(typeof v === 'bigint' ? v : BigInt(v as number));
      return;
    case 'uint16':
      w.uint16(v as number);
      return;
    case 'float64':
      w.float64(v as number);
      return;
    case 'bool':
      w.bool(v as boolean);
      return;
    case 'uuid': {
      const hex = (v as string) || ZERO_UUID;
      if (!/^[0-9a-f]{32}$/.test(hex)) throw new ProtocolEncodeError(`${path}: bad uuid ${hex}`);
      w.raw(Buffer.from(hex, 'hex'));
      return;
    }
    case 'string': {
      const b = Buffer.from(v as string, 'utf8');
      if (!flexible && b.length > 0x7fff) throw new ProtocolEncodeError(`${path}: string longer than 32767 bytes`);
      writeLength(flexible, b.length, w, 'int16');
      w.raw(b);
      return;
    }
    case 'bytes':
    case 'records': {
      const b = v as Buffer;
      writeLength(flexible, b.length, w, 'int32');
      w.raw(b);
      return;
    }
    case 'array': {
      const items = v as unknown[];
      const element = field.element!;
      writeLength(flexible, items.length, w, 'int32');
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        if (element.kind === 'struct') {
          writeStruct(element.fields!, version, flexible, (item ?? {}) as Record<string, unknown>, w, `${path}[${i}]`);
        } else {
          writeValue(element, item === undefined ? element.defaultValue() : item, version, flexible, w, `${path}[${i}]`);
        }
      }
      return;
    }
    case 'struct':
      if (inRange(field.nullableVersions, version)) w.int8(1);
      writeStruct(field.fields!, version, flexible, v as Record<string, unknown>, w, path);
      return;
  }
}
