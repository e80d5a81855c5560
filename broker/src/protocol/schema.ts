/**
 * The declarative message schema: one definition per Kafka message, one generic codec (codec.ts).
 *
 * A definition lists fields in wire order. Each field carries the versions it exists in, the
 * versions in which it may be null, its default, and (for tagged fields) its tag. Field names
 * are the camelCase of Apache Kafka's schema names, so definitions can be checked against the
 * official schemas by `npm run check:protocol` (a development script; nothing here reads them).
 *
 * Types are inferred from the definition: `Out<S>` is what decode returns (every field present,
 * defaults filled in), `In<S>` is what encode accepts (every field optional, default when absent).
 */

/** Inclusive version range; `max` is Infinity for "N+". An empty range has min > max. */
export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

export function parseVersions(spec: string): VersionRange {
  if (spec === 'none') return { min: 1, max: 0 };
  const plus = /^(\d+)\+$/.exec(spec);
  if (plus) return { min: Number(plus[1]), max: Infinity };
  const range = /^(\d+)-(\d+)$/.exec(spec);
  if (range) return { min: Number(range[1]), max: Number(range[2]) };
  const single = /^(\d+)$/.exec(spec);
  if (single) return { min: Number(single[1]), max: Number(single[1]) };
  throw new Error(`bad version spec "${spec}": use "N+", "N-M", "N" or "none"`);
}

export function inRange(r: VersionRange, v: number): boolean {
  return v >= r.min && v <= r.max;
}

export type Kind =
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint16'
  | 'float64'
  | 'bool'
  | 'uuid'
  | 'string'
  | 'bytes'
  | 'records'
  | 'array'
  | 'struct';

export interface FieldOptions<T> {
  /** Versions the field exists in; default "0+". */
  v?: string;
  /** Versions in which the field may be null. */
  nullable?: string;
  /** Tag number: the field is written in the tagged-field section of flexible versions. */
  tag?: number;
  /** Default used when the field is absent in a version or not given to encode. */
  default?: T;
}

export interface Field<T> {
  readonly kind: Kind;
  readonly versions: VersionRange;
  readonly nullableVersions: VersionRange;
  readonly tag: number | undefined;
  readonly defaultValue: () => T;
  /** For arrays: the element field. For structs: undefined. */
  readonly element?: Field<unknown>;
  /** For structs and arrays of structs: the member fields. */
  readonly fields?: Fields;
  /** Phantom member carrying the TypeScript type. */
  readonly _type?: T;
}

export type Fields = { readonly [name: string]: Field<unknown> };

export type Out<F extends Fields> = { -readonly [K in keyof F]: F[K] extends Field<infer T> ? T : never };

type InValue<T> = T extends Buffer
  ? T
  : T extends (infer E)[]
    ? InValue<E>[]
    : T extends object
      ? { [K in keyof T]?: InValue<T[K]> }
      : T;

export type In<F extends Fields> = { [K in keyof F]?: F[K] extends Field<infer T> ? InValue<T> : never };

const NONE: VersionRange = { min: 1, max: 0 };

function make<T>(kind: Kind, opts: FieldOptions<T> | undefined, zero: () => T, extra?: Partial<Field<T>>): Field<T> {
  const d = opts?.default;
  return {
    kind,
    versions: parseVersions(opts?.v ?? '0+'),
    nullableVersions: opts?.nullable ? parseVersions(opts.nullable) : NONE,
    tag: opts?.tag,
    // copy array defaults so a decoded message never shares (and mutates) the schema's instance
    defaultValue: d === undefined ? zero : Array.isArray(d) ? () => [...d] as T : () => d,
    ...extra,
  };
}

type Opt<T> = FieldOptions<T>;
type NOpt<T> = FieldOptions<T | null> & { nullable: string };

function structZero(fields: Fields): () => unknown {
  return () => {
    const o: Record<string, unknown> = {};
    for (const [k, f] of Object.entries(fields)) o[k] = f.defaultValue();
    return o;
  };
}

/** Field builders. Nullable variants (`n*`) require a `nullable` version spec and widen the type with null. */
export const f = {
  int8: (o?: Opt<number>) => make<number>('int8', o, () => 0),
  int16: (o?: Opt<number>) => make<number>('int16', o, () => 0),
  int32: (o?: Opt<number>) => make<number>('int32', o, () => 0),
  int64: (o?: Opt<bigint>) => make<bigint>('int64', o, () => 0n),
  uint16: (o?: Opt<number>) => make<number>('uint16', o, () => 0),
  float64: (o?: Opt<number>) => make<number>('float64', o, () => 0),
  bool: (o?: Opt<boolean>) => make<boolean>('bool', o, () => false),
  /** A UUID as 32 lowercase hex digits; the zero UUID is ZERO_UUID. */
  uuid: (o?: Opt<string>) => make<string>('uuid', o, () => ZERO_UUID),
  string: (o?: Opt<string>) => make<string>('string', o, () => ''),
  nstring: (o: NOpt<string>) => make<string | null>('string', o, () => null),
  bytes: (o?: Opt<Buffer>) => make<Buffer>('bytes', o, () => Buffer.alloc(0)),
  nbytes: (o: NOpt<Buffer>) => make<Buffer | null>('bytes', o, () => null),
  /** A record set (record batches), opaque bytes; always nullable on the wire in practice. */
  records: (o?: FieldOptions<Buffer | null>) =>
    make<Buffer | null>('records', { nullable: '0+', ...o }, () => null),
  /** Array of structs. */
  array: <F extends Fields>(fields: F, o?: Opt<Out<F>[]>) =>
    make<Out<F>[]>('array', o, () => [], { element: make('struct', undefined, structZero(fields), { fields }), fields }),
  narray: <F extends Fields>(fields: F, o: NOpt<Out<F>[]>) =>
    make<Out<F>[] | null>('array', o, () => null, { element: make('struct', undefined, structZero(fields), { fields }), fields }),
  /** Array of a primitive element, e.g. f.arrayOf(f.int32()). */
  arrayOf: <T>(element: Field<T>, o?: Opt<T[]>) => make<T[]>('array', o, () => [], { element: element as Field<unknown> }),
  narrayOf: <T>(element: Field<T>, o: NOpt<T[]>) =>
    make<T[] | null>('array', o, () => null, { element: element as Field<unknown> }),
  /** A nested struct (not an array). */
  struct: <F extends Fields>(fields: F, o?: Opt<Out<F>>) =>
    make<Out<F>>('struct', o, structZero(fields) as () => Out<F>, { fields }),
  nstruct: <F extends Fields>(fields: F, o: NOpt<Out<F>>) => make<Out<F> | null>('struct', o, () => null, { fields }),
};

export const ZERO_UUID = '00000000000000000000000000000000';

export interface MessageSchema<F extends Fields = Fields> {
  readonly name: string;
  readonly apiKey: number;
  readonly type: 'request' | 'response';
  readonly valid: VersionRange;
  readonly flexible: VersionRange;
  readonly fields: F;
}

export function message<F extends Fields>(def: {
  name: string;
  apiKey: number;
  type: 'request' | 'response';
  /** e.g. "0-12" */
  valid: string;
  /** e.g. "9+" or "none" */
  flexible: string;
  fields: F;
}): MessageSchema<F> {
  return {
    name: def.name,
    apiKey: def.apiKey,
    type: def.type,
    valid: parseVersions(def.valid),
    flexible: parseVersions(def.flexible),
    fields: def.fields,
  };
}

/** A request/response pair for one API key. */
export interface Api<Q extends Fields = Fields, R extends Fields = Fields> {
  readonly key: number;
  readonly name: string;
  readonly request: MessageSchema<Q>;
  readonly response: MessageSchema<R>;
}

export function api<Q extends Fields, R extends Fields>(request: MessageSchema<Q>, response: MessageSchema<R>): Api<Q, R> {
  if (request.apiKey !== response.apiKey) throw new Error(`api key mismatch for ${request.name}`);
  return { key: request.apiKey, name: request.name.replace(/Request$/, ''), request, response };
}

export type RequestOf<A> = A extends Api<infer Q, Fields> ? Out<Q> : never;
export type ResponseOf<A> = A extends Api<Fields, infer R> ? In<R> : never;
export type DecodedResponseOf<A> = A extends Api<Fields, infer R> ? Out<R> : never;
export type RequestInOf<A> = A extends Api<infer Q, Fields> ? In<Q> : never;
