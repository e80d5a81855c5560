/**
 * Timer seam: the coordinator never calls setTimeout directly, so tests drive session and
 * rebalance timeouts with a fake clock instead of sleeping.
 */
export type CancelTimer = () => void;

export interface Timers {
  /** Runs fn once after delayMs; the returned function cancels it (idempotent). */
  schedule(delayMs: number, fn: () => void): CancelTimer;
}

export const realTimers: Timers = {
  schedule(delayMs, fn) {
    const t = setTimeout(fn, Math.max(0, delayMs));
    // Group timers must never keep the process alive on their own.
    t.unref();
    return () => clearTimeout(t);
  },
};

export type GroupLog = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export const noLog: GroupLog = () => {};

/** Anything with a winston-style `log(level, message, meta)`, e.g. the broker's logger. */
export interface LoggerLike {
  log(level: string, message: string, meta?: Record<string, unknown>): unknown;
}

export function toGroupLog(log: GroupLog | LoggerLike | undefined): GroupLog {
  if (!log) return noLog;
  if (typeof log === 'function') return log;
  return (level, msg, fields) => log.log(level, msg, { component: 'group-coordinator', ...fields });
}
