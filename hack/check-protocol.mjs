#!/usr/bin/env node
// Development check: compares every compiled message definition (dist/.../protocol/messages/*.js)
// with Apache Kafka's official JSON schemas in ../shared/kafka-protocol. Not part of the build or
// of npm test; the broker never reads those files.
//
// Usage: npx tsc -p . && node hack/check-protocol.mjs [--verbose]
// Exit code 1 when any mismatch is found (or a module fails to load).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const messagesDir = path.join(root, 'dist/broker/src/protocol/messages');
const schemaDir = path.resolve(root, '../shared/kafka-protocol');
const verbose = process.argv.includes('--verbose');

const PRIMITIVES = new Set(['int8', 'int16', 'int32', 'int64', 'uint16', 'float64', 'bool', 'uuid', 'string', 'bytes', 'records']);
const NONE = { min: 1, max: 0 };
const ZERO_UUID = '0'.repeat(32);

const mismatches = [];
const mismatch = (where, what) => mismatches.push(`${where}: ${what}`);

// ------------------------------------------------------------------ JSON loading

/** Removes // comments outside string literals (the schemas contain URLs in comments and in texts). */
function stripComments(text) {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}

const jsonCache = new Map();
function loadJson(name) {
  if (!jsonCache.has(name)) {
    const file = path.join(schemaDir, `${name}.json`);
    jsonCache.set(name, fs.existsSync(file) ? JSON.parse(stripComments(fs.readFileSync(file, 'utf8'))) : null);
  }
  return jsonCache.get(name);
}

// ------------------------------------------------------------------ helpers

function parseVersions(spec) {
  if (spec === undefined || spec === 'none') return NONE;
  const s = String(spec).trim();
  let m;
  if ((m = /^(\d+)\+$/.exec(s))) return { min: Number(m[1]), max: Infinity };
  if ((m = /^(\d+)-(\d+)$/.exec(s))) return { min: Number(m[1]), max: Number(m[2]) };
  if ((m = /^(\d+)$/.exec(s))) return { min: Number(m[1]), max: Number(m[1]) };
  throw new Error(`unparseable version spec ${JSON.stringify(spec)}`);
}

const isEmpty = (r) => r.min > r.max;
const sameRange = (a, b) => (isEmpty(a) && isEmpty(b)) || (a.min === b.min && a.max === b.max);
const fmtRange = (r) => (isEmpty(r) ? 'none' : r.max === Infinity ? `${r.min}+` : r.min === r.max ? `${r.min}` : `${r.min}-${r.max}`);
const camel = (name) => name.charAt(0).toLowerCase() + name.slice(1);

function fmtValue(v) {
  if (typeof v === 'bigint') return `${v}n`;
  if (Buffer.isBuffer(v)) return `<Buffer ${v.toString('hex')}>`;
  if (v === undefined) return 'undefined';
  return JSON.stringify(v);
}

function sameValue(a, b) {
  if (a === b) return true;
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  return false;
}

function parseInteger(raw, where) {
  const s = String(raw).trim();
  const neg = s.startsWith('-');
  const body = neg ? s.slice(1) : s;
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(body)) throw new Error(`${where}: bad integer default ${JSON.stringify(raw)}`);
  const n = BigInt(body);
  return neg ? -n : n;
}

/**
 * The default Kafka's generator uses for a field: the JSON "default" converted, else the zero of
 * the type. Returns { skip: true } for structs (their defaults are checked member by member).
 */
function expectedDefault(jf, type, where) {
  const raw = jf.default;
  if (type.startsWith('[]')) {
    if (raw === undefined) return { value: [] };
    if (raw === 'null') return { value: null };
    throw new Error(`${where}: unsupported array default ${JSON.stringify(raw)}`);
  }
  if (!PRIMITIVES.has(type)) {
    if (raw === 'null') return { value: null };
    return { skip: true };
  }
  if (raw === 'null') return { value: null };
  switch (type) {
    case 'int8':
    case 'int16':
    case 'int32':
    case 'uint16':
      return { value: raw === undefined ? 0 : Number(parseInteger(raw, where)) };
    case 'int64':
      return { value: raw === undefined ? 0n : parseInteger(raw, where) };
    case 'float64':
      return { value: raw === undefined ? 0 : Number(raw) };
    case 'bool':
      return { value: raw === undefined ? false : raw === true || raw === 'true' };
    case 'string':
      return { value: raw === undefined ? '' : String(raw) };
    case 'uuid':
      if (raw === undefined) return { value: ZERO_UUID };
      return { value: Buffer.from(String(raw), 'base64').toString('hex') };
    case 'bytes':
      if (raw === undefined) return { value: Buffer.alloc(0) };
      throw new Error(`${where}: unsupported bytes default ${JSON.stringify(raw)}`);
    case 'records':
      return { value: null };
  }
  throw new Error(`${where}: no default rule for type ${type}`);
}

// ------------------------------------------------------------------ comparison

/** Member fields of a struct-typed JSON field: inline, or from the message's commonStructs. */
function structFields(jf, structName, json, where) {
  if (Array.isArray(jf.fields)) return jf.fields;
  const common = (json.commonStructs ?? []).find((s) => s.name === structName);
  if (common) return common.fields;
  mismatch(where, `JSON struct type ${structName} has no inline fields and no commonStruct of that name`);
  return [];
}

function describeKind(field) {
  if (!field || typeof field !== 'object') return String(field);
  if (field.kind === 'array') return `array of ${field.element?.kind ?? '?'}`;
  return field.kind;
}

let fieldCount = 0;

/** Matches fields by name (so one missing field does not cascade), then checks the wire order. */
function compareFields(jsonFields, ours, json, where) {
  const ourNames = Object.keys(ours ?? {});
  const jsonNames = jsonFields.map((jf) => camel(jf.name));
  for (const jf of jsonFields) {
    const name = camel(jf.name);
    const fieldPath = `${where}.${name}`;
    if (!Object.hasOwn(ours ?? {}, name)) {
      const nearly = ourNames.find((n) => n.toLowerCase() === name.toLowerCase());
      const hint = nearly ? ` (ours has "${nearly}": names must be the camelCase of ${jf.name})` : '';
      mismatch(fieldPath, `missing field (JSON ${jf.name}: ${jf.type}, versions ${jf.versions})${hint}`);
      continue;
    }
    compareField(jf, ours[name], json, fieldPath);
  }
  for (const name of ourNames) {
    if (!jsonNames.includes(name)) mismatch(`${where}.${name}`, 'extra field, not in the JSON schema');
  }
  const commonJson = jsonNames.filter((n) => ourNames.includes(n));
  const commonOurs = ourNames.filter((n) => jsonNames.includes(n));
  if (commonJson.join() !== commonOurs.join()) {
    mismatch(where, `wire order differs: JSON [${commonJson.join(', ')}], ours [${commonOurs.join(', ')}]`);
  }
}

function compareField(jf, field, json, where) {
  fieldCount++;
  const type = String(jf.type).trim();

  // type
  let structName = null;
  if (type.startsWith('[]')) {
    const elem = type.slice(2);
    if (field.kind !== 'array') mismatch(where, `type: JSON ${type}, ours ${describeKind(field)}`);
    else if (PRIMITIVES.has(elem)) {
      if (field.element?.kind !== elem) mismatch(where, `type: JSON ${type}, ours ${describeKind(field)}`);
      else if (!isEmpty(field.element.nullableVersions)) mismatch(where, `array elements must not be nullable`);
    } else {
      structName = elem;
      if (field.element?.kind !== 'struct') mismatch(where, `type: JSON ${type}, ours ${describeKind(field)}`);
    }
  } else if (PRIMITIVES.has(type)) {
    if (field.kind !== type) mismatch(where, `type: JSON ${type}, ours ${describeKind(field)}`);
  } else {
    structName = type;
    if (field.kind !== 'struct') mismatch(where, `type: JSON struct ${type}, ours ${describeKind(field)}`);
  }

  // versions
  const versions = parseVersions(jf.versions);
  if (!sameRange(versions, field.versions)) {
    mismatch(where, `versions: JSON ${jf.versions}, ours ${fmtRange(field.versions)}`);
  }
  const nullable = parseVersions(jf.nullableVersions);
  if (!sameRange(nullable, field.nullableVersions)) {
    mismatch(where, `nullableVersions: JSON ${jf.nullableVersions ?? 'none'}, ours ${fmtRange(field.nullableVersions)}`);
  }

  // tag: the codec treats a tagged field as tagged in every flexible version it exists in
  if (jf.tag !== field.tag) mismatch(where, `tag: JSON ${jf.tag ?? 'none'}, ours ${field.tag ?? 'none'}`);
  if (jf.tag !== undefined && jf.taggedVersions !== undefined) {
    const tagged = parseVersions(jf.taggedVersions);
    if (!sameRange(tagged, versions)) {
      mismatch(where, `taggedVersions ${jf.taggedVersions} differ from versions ${jf.versions}: the DSL cannot express that`);
    }
  }
  if (jf.flexibleVersions !== undefined) {
    mismatch(where, `field-level flexibleVersions ${jf.flexibleVersions} is not supported by the DSL`);
  }

  // default
  let expected;
  try {
    expected = expectedDefault(jf, type, where);
  } catch (e) {
    mismatch(where, e.message);
    expected = { skip: true };
  }
  let actual;
  try {
    actual = field.defaultValue();
  } catch (e) {
    mismatch(where, `defaultValue() threw: ${e.message}`);
    expected = { skip: true };
  }
  if (expected.skip) {
    if (!PRIMITIVES.has(type) && !type.startsWith('[]') && (actual === null || typeof actual !== 'object')) {
      mismatch(where, `default: JSON has none (a default struct), ours ${fmtValue(actual)}`);
    }
  } else if (!sameValue(actual, expected.value)) {
    mismatch(where, `default: JSON ${fmtValue(jf.default)} (= ${fmtValue(expected.value)}), ours ${fmtValue(actual)}`);
  }

  // members
  if (structName !== null) {
    const members = structFields(jf, structName, json, where);
    const ours = field.kind === 'array' ? (field.element?.fields ?? field.fields) : field.fields;
    compareFields(members, ours, json, where);
  }
}

function compareMessage(schema, api, fileName) {
  const where = `${fileName} ${schema?.name ?? '?'}`;
  if (!schema || typeof schema !== 'object') {
    mismatch(`${fileName} ${api.name}`, 'missing request or response schema');
    return;
  }
  const json = loadJson(schema.name);
  if (!json) {
    mismatch(where, `no official schema ${schema.name}.json in ${schemaDir}`);
    return;
  }
  if (json.apiKey !== schema.apiKey) mismatch(where, `apiKey: JSON ${json.apiKey}, ours ${schema.apiKey}`);
  if (json.apiKey !== api.key) mismatch(where, `api key: JSON ${json.apiKey}, Api.key ${api.key}`);
  if (json.type !== schema.type) mismatch(where, `type: JSON ${json.type}, ours ${schema.type}`);
  if (!sameRange(parseVersions(json.validVersions), schema.valid)) {
    mismatch(where, `validVersions: JSON ${json.validVersions}, ours ${fmtRange(schema.valid)}`);
  }
  if (!sameRange(parseVersions(json.flexibleVersions), schema.flexible)) {
    mismatch(where, `flexibleVersions: JSON ${json.flexibleVersions}, ours ${fmtRange(schema.flexible)}`);
  }
  compareFields(json.fields ?? [], schema.fields, json, where);
}

const isApi = (v) =>
  v !== null && typeof v === 'object' && typeof v.key === 'number' && typeof v.name === 'string' && 'request' in v && 'response' in v;

// ------------------------------------------------------------------ main

if (!fs.existsSync(messagesDir)) {
  console.error(`no compiled messages in ${messagesDir}: run "npx tsc -p ." first`);
  process.exit(2);
}
if (!fs.existsSync(schemaDir)) {
  console.error(`official schemas not found in ${schemaDir}: expected ../shared/kafka-protocol next to the repo`);
  process.exit(2);
}

const files = fs.readdirSync(messagesDir).filter((f) => f.endsWith('.js')).sort();
const seenKeys = new Map();
let apiCount = 0;
for (const file of files) {
  let mod;
  try {
    mod = await import(pathToFileURL(path.join(messagesDir, file)).href);
  } catch (e) {
    mismatch(file, `failed to import: ${e.message}`);
    continue;
  }
  const apis = Object.entries(mod).filter(([, v]) => isApi(v));
  if (apis.length === 0) mismatch(file, 'exports no Api (expected e.g. `export const Produce = api(...)`)');
  const prefix = /^(\d+)_/.exec(file);
  for (const [exportName, api] of apis) {
    apiCount++;
    const before = mismatches.length;
    if (exportName !== api.name) mismatch(file, `export ${exportName} should be named after the API: ${api.name}`);
    if (prefix && Number(prefix[1]) !== api.key) mismatch(file, `file prefix ${prefix[1]} does not match api key ${api.key}`);
    if (seenKeys.has(api.key)) mismatch(file, `api key ${api.key} also defined in ${seenKeys.get(api.key)}`);
    seenKeys.set(api.key, file);
    compareMessage(api.request, api, file);
    compareMessage(api.response, api, file);
    if (verbose) console.log(`${mismatches.length === before ? 'ok  ' : 'FAIL'} ${file} ${api.name} (key ${api.key})`);
  }
}

for (const m of mismatches) console.log(m);
console.log(
  `check-protocol: ${apiCount} APIs in ${files.length} files, ${fieldCount} fields compared, ${mismatches.length} mismatch${mismatches.length === 1 ? '' : 'es'}`,
);
process.exit(mismatches.length > 0 ? 1 : 0);
