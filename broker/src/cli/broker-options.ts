/** The flags of `automq standalone` (and, later, `automq broker`), validated. */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { LOG_LEVELS } from '../config/logger.js';
import { collectFlags, describeZodError, hostPort, intString, UsageError } from './flags.js';

export const BROKER_FLAGS = [
  'data-dir',
  'listen',
  'advertise',
  'metrics-port',
  'node-id',
  'object-store',
  'log-level',
  'cluster-id',
  'rack',
  'config',
  'wal-flush-interval-ms',
  'wal-flush-bytes',
  'log-cache-bytes',
  'block-cache-bytes',
] as const;

const schema = z.object({
  'data-dir': z.string().min(1).default('./data'),
  listen: hostPort.default({ host: '127.0.0.1', port: 9092 }),
  advertise: hostPort.optional(),
  'metrics-port': intString(0, 65535).default(9464),
  'node-id': intString(0, 2147483647).default(0),
  'object-store': z
    .string()
    .refine((s) => /^(file:\/\/\/|s3:\/\/)/.test(s), { message: 'must be file:///abs/path or s3://bucket?endpoint=...' })
    .optional(),
  'log-level': z.enum(LOG_LEVELS).default('info'),
  'cluster-id': z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" and "-" only, at most 64')
    .optional(),
  rack: z.string().min(1).optional(),
  config: z.string().optional(),
  'wal-flush-interval-ms': intString(1, 60_000).default(250),
  'wal-flush-bytes': intString(1024, 1024 * 1024 * 1024).default(8 * 1024 * 1024),
  'log-cache-bytes': intString(1024 * 1024, 64 * 1024 * 1024 * 1024).default(256 * 1024 * 1024),
  'block-cache-bytes': intString(1024 * 1024, 64 * 1024 * 1024 * 1024).default(128 * 1024 * 1024),
});

export interface BrokerOptions {
  dataDir: string;
  listen: { host: string; port: number };
  advertise: { host: string; port: number } | undefined;
  metricsPort: number;
  nodeId: number;
  objectStoreUrl: string;
  logLevel: (typeof LOG_LEVELS)[number];
  clusterId: string | undefined;
  rack: string | null;
  /** Kafka broker settings from --config (YAML map or .properties). */
  brokerConfig: Record<string, string>;
  walFlushIntervalMs: number;
  walFlushBytes: number;
  logCacheBytes: number;
  blockCacheBytes: number;
}

export function parseBrokerOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BrokerOptions {
  const raw = collectFlags(argv, BROKER_FLAGS, env);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new UsageError(describeZodError(parsed.error));
  const o = parsed.data;
  const wildcard = ['0.0.0.0', '::', ''].includes(o.listen.host);
  if (wildcard && !o.advertise) {
    throw new UsageError(`--listen ${o.listen.host}:${o.listen.port} binds every interface: set --advertise HOST:PORT to the address clients should connect to`);
  }
  if (o.advertise && ['0.0.0.0', '::'].includes(o.advertise.host)) {
    throw new UsageError(`invalid --advertise (or AUTOMQ_ADVERTISE): ${o.advertise.host} is not an address clients can connect to`);
  }
  const dataDir = resolve(o['data-dir']);
  return {
    dataDir,
    listen: o.listen,
    advertise: o.advertise,
    metricsPort: o['metrics-port'],
    nodeId: o['node-id'],
    objectStoreUrl: o['object-store'] ?? pathToFileURL(resolve(dataDir, 'objects')).href,
    logLevel: o['log-level'],
    clusterId: o['cluster-id'],
    rack: o.rack ?? null,
    brokerConfig: o.config ? readBrokerConfig(o.config) : {},
    walFlushIntervalMs: o['wal-flush-interval-ms'],
    walFlushBytes: o['wal-flush-bytes'],
    logCacheBytes: o['log-cache-bytes'],
    blockCacheBytes: o['block-cache-bytes'],
  };
}

/** Reads Kafka broker settings from a YAML map (key: value) or a .properties file (key=value). */
export function readBrokerConfig(path: string): Record<string, string> {
  if (!existsSync(path)) throw new UsageError(`invalid --config: file ${path} does not exist`);
  const text = readFileSync(path, 'utf8');
  const out: Record<string, string> = {};
  if (path.endsWith('.properties')) {
    for (const line of text.split(/\r?\n/)) {
      const t = line.trim();
      if (t === '' || t.startsWith('#') || t.startsWith('!')) continue;
      const eq = t.search(/[=:]/);
      if (eq < 0) throw new UsageError(`invalid --config: line "${t}" in ${path} is not key=value`);
      out[t.slice(0, eq).trim()] = t.slice(eq + 1).trim();
    }
    return out;
  }
  const doc: unknown = parseYaml(text);
  const map = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).safeParse(doc ?? {});
  if (!map.success) throw new UsageError(`invalid --config: ${path} must be a map of key: value (strings, numbers or booleans)`);
  for (const [k, v] of Object.entries(map.data)) out[k] = String(v);
  return out;
}
