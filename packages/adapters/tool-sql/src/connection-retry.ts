/**
 * Retries of a statement whose connection was lost. Every statement a SQL tool runs is a
 * read (PostgreSQL: a READ ONLY transaction; DuckDB: a read-only file by default), so
 * running it again on a fresh connection cannot apply anything twice.
 */
import { abortedError, SqlToolError } from "./sql-tool-error.js";

/** How a statement whose connection was lost (or could not be remade) is tried again. */
export interface ConnectionRetryOptions {
  /** Attempts in total, the first included (default 3; 1 disables retries). */
  readonly maxAttempts?: number;
  /** Wait before the second attempt (default 100 ms); doubles after every further failure. */
  readonly initialBackoffMs?: number;
  /** Longest wait between attempts (default 1 000 ms). */
  readonly maxBackoffMs?: number;
}

/** The defaults: a dropped connection is retried at once; a server that is down fails within about a second. */
export const DEFAULT_CONNECTION_RETRY: Required<ConnectionRetryOptions> = {
  maxAttempts: 3,
  initialBackoffMs: 100,
  maxBackoffMs: 1_000,
};

/** One attempt's outcome: its value, or the error to report and whether another attempt may help. */
export type AttemptOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: SqlToolError; readonly retryable: boolean };

/** The options with defaults filled in; throws naming `owner` when a value is not a positive integer. */
export function resolveConnectionRetry(
  options: ConnectionRetryOptions | undefined,
  owner: string,
): Required<ConnectionRetryOptions> {
  const resolved = { ...DEFAULT_CONNECTION_RETRY, ...options };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isInteger(value) || value <= 0) {
      throw new Error(`${owner}: retry.${name} must be a positive integer, got ${value}`);
    }
  }
  return resolved;
}

/**
 * Runs `attempt` until it succeeds, fails for good, or the attempts run out; waits with
 * exponential backoff (±25 % jitter, so statements cut off together do not reconnect in
 * lockstep) in between. The last error is thrown, its message saying how many attempts it took.
 */
export async function withConnectionRetry<T>(
  attempt: (attemptNumber: number) => Promise<AttemptOutcome<T>>,
  options: {
    readonly retry: Required<ConnectionRetryOptions>;
    readonly description: string;
    readonly signal?: AbortSignal | undefined;
    /** Whether the tool was closed meanwhile (no further attempt then). */
    readonly isClosed: () => boolean;
  },
): Promise<T> {
  const { retry, description, signal } = options;
  for (let attemptNumber = 1; ; attemptNumber += 1) {
    const outcome = await attempt(attemptNumber);
    if (outcome.ok) return outcome.value;
    const { error, retryable } = outcome;
    if (!retryable || attemptNumber >= retry.maxAttempts || signal?.aborted || options.isClosed()) {
      if (attemptNumber === 1) throw error;
      throw new SqlToolError(error.code, `${error.message} (gave up after ${attemptNumber} attempts)`, {
        cause: error.cause,
      });
    }
    const baseMs = Math.min(retry.maxBackoffMs, retry.initialBackoffMs * 2 ** (attemptNumber - 1));
    await sleep(Math.round(baseMs * (0.75 + Math.random() / 2)), signal, description);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined, description: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortedError(description));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortedError(description));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
