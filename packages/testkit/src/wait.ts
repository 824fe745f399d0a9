/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface WaitForOptions {
  /** Give up after this long. @defaultValue 5000 */
  timeoutMs?: number;
  /** Pause between attempts. @defaultValue 20 */
  intervalMs?: number;
  /** Named in the timeout error. */
  description?: string;
}

/** Thrown by waitFor when the condition does not hold in time; `last` is the last value or error seen. */
export class WaitTimeoutError extends Error {
  constructor(message: string, readonly attempts: number, readonly last: unknown) {
    super(message);
    this.name = 'WaitTimeoutError';
  }
}

/**
 * Calls `condition` until it returns a truthy value (which is returned) or `timeoutMs` passes. A condition that
 * throws counts as "not yet" (the last error is reported on timeout). Bounded in time and in attempts: at most
 * timeoutMs / intervalMs + 2 calls, each awaited (a hanging condition is not re-entered).
 */
export async function waitFor<T>(condition: () => T | Promise<T>, options: WaitForOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const intervalMs = Math.max(1, options.intervalMs ?? 20);
  const maxAttempts = Math.ceil(timeoutMs / intervalMs) + 2;
  const started = performance.now();
  let last: unknown;
  let attempts = 0;
  while (attempts < maxAttempts) {
    attempts++;
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
      last = value;
    } catch (error) {
      last = error;
    }
    const elapsed = performance.now() - started;
    if (elapsed >= timeoutMs) break;
    await sleep(Math.min(intervalMs, Math.max(1, timeoutMs - elapsed)));
  }
  const what = options.description ?? 'condition';
  const lastText = last instanceof Error ? `last error: ${last.message}` : `last value: ${safeString(last)}`;
  throw new WaitTimeoutError(
    `waitFor: ${what} not met within ${timeoutMs} ms (${attempts} attempts; ${lastText})`, attempts, last);
}

function safeString(value: unknown): string {
  try {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return text === undefined ? String(value) : text.length > 300 ? `${text.slice(0, 300)}…` : text;
  } catch {
    return String(value);
  }
}

/** Runs `task` with a deadline: rejects with a clear error if it has not settled after `timeoutMs`. */
export async function withTimeout<T>(task: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([task, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
