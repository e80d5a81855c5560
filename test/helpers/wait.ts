// Bounded waiting: tests poll a condition with a deadline and fail with a message, never sleep blindly.

/**
 * Polls `condition` until it returns true, or fails after timeoutMs with `message` (evaluated
 * lazily so it can show the latest state). An exception thrown by the condition fails at once.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  message: string | (() => string),
  intervalMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() >= deadline) {
      const text = typeof message === 'function' ? message() : message;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${text}`);
    }
    await delay(Math.min(intervalMs, Math.max(1, deadline - Date.now())));
  }
}

/**
 * Like waitFor, but a condition that throws is retried until the deadline (for probes such as
 * "the admin client can reach the broker"); the last error is shown on timeout.
 */
export async function waitForNoThrow<T>(
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs: number,
  message: string | ((last: T | undefined, err: unknown) => string),
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastErr: unknown;
  for (;;) {
    try {
      last = await probe();
      lastErr = undefined;
      if (accept(last)) return last;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() >= deadline) {
      const text = typeof message === 'function' ? message(last, lastErr) : message;
      const errText = lastErr instanceof Error ? `\nlast error: ${lastErr.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${text}${errText}`);
    }
    await delay(Math.min(intervalMs, Math.max(1, deadline - Date.now())));
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects with `message` if `p` has not settled within timeoutMs. */
export async function withTimeout<T>(p: Promise<T>, timeoutMs: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${message}`)), timeoutMs);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}
