import { GrpcStatus } from "@halo/protocol";
import { describe, expect, it } from "vitest";
import {
  backoffDelayMs,
  DEFAULT_RETRY_POLICY,
  isTransientExecutorError,
  isTransientToolError,
  sleep,
  withRetries,
} from "./retry-policy.js";

const policy = { ...DEFAULT_RETRY_POLICY, maxAttempts: 4, initialBackoffMs: 10, maxBackoffMs: 25 };

describe("retry policy", () => {
  it("backs off exponentially up to the cap, with ±25 % jitter", () => {
    expect(backoffDelayMs(policy, 1, () => 0.5)).toBe(10);
    expect(backoffDelayMs(policy, 2, () => 0.5)).toBe(20);
    expect(backoffDelayMs(policy, 3, () => 0.5)).toBe(25);
    expect(backoffDelayMs(policy, 1, () => 0)).toBe(8);
    expect(backoffDelayMs(policy, 1, () => 1)).toBe(13);
  });

  it("treats UNAVAILABLE, DEADLINE_EXCEEDED and RESOURCE_EXHAUSTED as transient, nothing else", () => {
    for (const code of [
      GrpcStatus.UNAVAILABLE,
      GrpcStatus.DEADLINE_EXCEEDED,
      GrpcStatus.RESOURCE_EXHAUSTED,
    ]) {
      expect(isTransientExecutorError({ code })).toBe(true);
    }
    for (const code of [GrpcStatus.INVALID_ARGUMENT, GrpcStatus.NOT_FOUND, GrpcStatus.INTERNAL]) {
      expect(isTransientExecutorError({ code })).toBe(false);
    }
    expect(isTransientExecutorError(new Error("no code"))).toBe(false);
    expect(
      isTransientExecutorError(
        { code: GrpcStatus.INTERNAL },
        { ...policy, transientExecutorCodes: [GrpcStatus.INTERNAL] },
      ),
    ).toBe(true);
  });

  it("treats tool timeouts, network errors and 429/502/503/504 as transient, a 500 as an answer", () => {
    expect(isTransientToolError({ code: "timeout" })).toBe(true);
    expect(isTransientToolError({ code: "network" })).toBe(true);
    expect(isTransientToolError({ code: "unreachable" })).toBe(true);
    expect(isTransientToolError({ code: "http-status", status: 503 })).toBe(true);
    expect(isTransientToolError({ code: "http-status", status: 500 })).toBe(false);
    expect(isTransientToolError({ code: "invalid-sql" })).toBe(false);
    expect(isTransientToolError("timeout")).toBe(false);
  });

  it("retries transient failures until they succeed, and reports each retry", async () => {
    const retries: number[] = [];
    let calls = 0;
    const result = await withRetries(
      async (attempt) => {
        calls += 1;
        if (attempt < 3) throw Object.assign(new Error("flaky"), { code: "timeout" });
        return "done";
      },
      { policy, isTransient: isTransientToolError, onRetry: (attempt) => retries.push(attempt) },
    );
    expect(result).toBe("done");
    expect(calls).toBe(3);
    expect(retries).toEqual([1, 2]);
  });

  it("gives up after maxAttempts, and at once on a permanent failure", async () => {
    let calls = 0;
    await expect(
      withRetries(
        async () => {
          calls += 1;
          throw Object.assign(new Error("still down"), { code: "network" });
        },
        { policy, isTransient: isTransientToolError },
      ),
    ).rejects.toThrow("still down");
    expect(calls).toBe(4);
    calls = 0;
    await expect(
      withRetries(
        async () => {
          calls += 1;
          throw Object.assign(new Error("bad request"), { code: "http-status", status: 400 });
        },
        { policy, isTransient: isTransientToolError },
      ),
    ).rejects.toThrow("bad request");
    expect(calls).toBe(1);
  });

  it("sleeps, and stops sleeping when aborted", async () => {
    const controller = new AbortController();
    const pending = sleep(10_000, controller.signal);
    controller.abort(new Error("stop"));
    await expect(pending).rejects.toThrow("stop");
    await expect(sleep(1)).resolves.toBeUndefined();
  });
});
