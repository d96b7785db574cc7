/**
 * Retries of transient failures: which errors are transient (executor gRPC
 * statuses, tool network errors and timeouts) and how long to back off.
 */
import { GrpcStatus } from "@halo/protocol";

/** How often and how patiently a failed call is tried again. */
export interface RetryPolicy {
  /** Attempts in total, the first included (1 disables retries). */
  readonly maxAttempts: number;
  /** Wait before the second attempt; doubles after every further failure. */
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** gRPC status codes of executor calls treated as transient. */
  readonly transientExecutorCodes: readonly number[];
}

/** Small on purpose: a batch run should fail a query quickly rather than stall on it. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  initialBackoffMs: 100,
  maxBackoffMs: 2_000,
  transientExecutorCodes: [
    GrpcStatus.UNAVAILABLE,
    GrpcStatus.DEADLINE_EXCEEDED,
    GrpcStatus.RESOURCE_EXHAUSTED,
  ],
};

/** The wait before attempt `attempt + 1` after `attempt` failures: exponential with ±25 % jitter. */
export function backoffDelayMs(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.75 + random() / 2));
}

/** The gRPC status of an executor call error (`ExecutorCallError.code`), if it has one. */
export function grpcStatusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

/** Whether an executor call failed for a reason worth another attempt. */
export function isTransientExecutorError(
  error: unknown,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): boolean {
  const status = grpcStatusOf(error);
  return status !== undefined && policy.transientExecutorCodes.includes(status);
}

/** Tool error codes (of `@halo/tool-http` and `@halo/tool-sql` errors) worth another attempt. */
const TRANSIENT_TOOL_CODES = new Set(["timeout", "network", "unreachable"]);
/** HTTP statuses that say "try again later". A plain 500 is an answer, not a hiccup. */
const TRANSIENT_HTTP_STATUSES = new Set([429, 502, 503, 504]);

/**
 * Whether a tool call failed transiently: its error's `code` is `timeout`,
 * `network` or `unreachable`, or it is an HTTP status 429/502/503/504. Tool
 * errors are recognized by shape, so the runtime depends on no tool adapter.
 */
export function isTransientToolError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, status } = error as { code?: unknown; status?: unknown };
  if (typeof code === "string" && TRANSIENT_TOOL_CODES.has(code)) return true;
  return code === "http-status" && typeof status === "number" && TRANSIENT_HTTP_STATUSES.has(status);
}

/** Sleeps `ms`, rejecting at once with the signal's reason when it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Options of `withRetries`. */
export interface WithRetriesOptions {
  readonly policy: RetryPolicy;
  readonly isTransient: (error: unknown) => boolean;
  readonly signal?: AbortSignal;
  /** Called before each wait with the attempt that failed and the delay. */
  readonly onRetry?: (attempt: number, delayMs: number, error: unknown) => void;
}

/** Runs `operation`, retrying transient failures with backoff; the last error is thrown. */
export async function withRetries<T>(
  operation: (attempt: number) => Promise<T>,
  options: WithRetriesOptions,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (options.signal?.aborted || attempt >= options.policy.maxAttempts || !options.isTransient(error)) {
        throw error;
      }
      const delayMs = backoffDelayMs(options.policy, attempt);
      options.onRetry?.(attempt, delayMs, error);
      await sleep(delayMs, options.signal);
    }
  }
}
