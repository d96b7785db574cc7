/** Reads the latency mode of an HTTP node or tool call (DESIGN §3): exactly one of padded, sleep, live. */
import type { HttpFieldsSpec } from "./graph-spec-schema.js";
import type { PathSegment, ProblemCollector } from "./problems.js";
import type { HttpLatency } from "./types.js";

/** Default timeout of live and padded requests. */
export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;

function milliseconds(
  spec: HttpFieldsSpec,
  field: "latency" | "sleep" | "timeout",
  path: readonly PathSegment[],
  collector: ProblemCollector,
): number | undefined {
  const seconds = spec[`${field}_s`];
  const ms = spec[`${field}_ms`];
  if (seconds !== undefined && ms !== undefined) {
    collector.error("invalid-latency", `give ${field}_s or ${field}_ms, not both`, [...path, `${field}_ms`]);
  }
  return ms ?? (seconds === undefined ? undefined : seconds * 1000);
}

/**
 * `latency_s|latency_ms` (+ url): padded; `sleep_s|sleep_ms`: sleep, the URL is
 * never contacted; url alone: live with `timeout_s|timeout_ms` (default 30 s).
 * Mixing modes, or giving none and no url, is a problem.
 */
export function readHttpLatency(
  spec: HttpFieldsSpec,
  path: readonly PathSegment[],
  collector: ProblemCollector,
): HttpLatency | undefined {
  const before = collector.errorCount;
  const latencyMs = milliseconds(spec, "latency", path, collector);
  const sleepMs = milliseconds(spec, "sleep", path, collector);
  const timeoutMs = milliseconds(spec, "timeout", path, collector);
  const hasUrl = spec.url !== undefined && spec.url.trim().length > 0;
  if (latencyMs !== undefined && sleepMs !== undefined) {
    collector.error(
      "invalid-latency",
      "mixes latency modes: latency_* (padded real request) and sleep_* (URL never contacted); keep one",
      [...path, spec.sleep_ms === undefined ? "sleep_s" : "sleep_ms"],
    );
  }
  if (sleepMs !== undefined && timeoutMs !== undefined) {
    collector.error(
      "invalid-latency",
      "sleep mode never contacts the URL, so timeout_* does not apply; remove it or use latency_*",
      [...path, spec.timeout_ms === undefined ? "timeout_s" : "timeout_ms"],
    );
  }
  if (timeoutMs !== undefined && timeoutMs <= 0) {
    collector.error("invalid-latency", "the timeout must be positive", [
      ...path,
      spec.timeout_ms === undefined ? "timeout_s" : "timeout_ms",
    ]);
  }
  if (sleepMs === undefined && !hasUrl) {
    collector.error(
      "invalid-latency",
      latencyMs === undefined
        ? "an http call needs a url (live, or padded with latency_s/latency_ms) or sleep_s/sleep_ms"
        : "padded mode (latency_s/latency_ms) makes a real request and needs a url",
      [...path, "url"],
    );
  }
  if (hasUrl && !/^https?:\/\/[^\s/]+/i.test(spec.url ?? "")) {
    collector.error("invalid-value", `url ${JSON.stringify(spec.url)} is not an absolute http(s) URL`, [
      ...path,
      "url",
    ]);
  }
  if (collector.errorCount > before) return undefined;
  if (sleepMs !== undefined) return { mode: "sleep", ms: sleepMs };
  if (latencyMs !== undefined)
    return { mode: "padded", meanMs: latencyMs, timeoutMs: timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS };
  return { mode: "live", timeoutMs: timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS };
}
