/**
 * One JSON line per event on stdout: {"ts","level","msg",...fields}, level chosen by --log-level.
 * Log shippers (Loki, Elasticsearch) parse it as is.
 */
import winston from 'winston';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const jsonLine = winston.format((info) => {
  const { level, message, timestamp, ...rest } = info as Record<string | symbol, unknown>;
  const out: Record<string, unknown> = { ts: timestamp, level, msg: message };
  for (const [k, v] of Object.entries(rest)) out[k] = typeof v === 'bigint' ? v.toString() : v;
  (info as Record<symbol, unknown>)[Symbol.for('message')] = JSON.stringify(out);
  return info;
});

export function createLogger(level: LogLevel, fields: Record<string, unknown> = {}): winston.Logger {
  return winston.createLogger({
    level,
    defaultMeta: fields,
    format: winston.format.combine(winston.format.timestamp(), jsonLine()),
    transports: [new winston.transports.Console()],
  });
}
