import {
  type CompiledWorkflow,
  DEFAULT_HTTP_TIMEOUT_MS,
  type HttpLatency,
  type HttpOperator,
  type Operator,
} from "@halo/ir";
import { WorkloadInputError } from "./workload-input-error.js";

/** The HTTP latency modes of the IR (DESIGN §3). */
export type HttpModeName = HttpLatency["mode"];

/** How {@link withHttpMode} rewrites a workflow's HTTP operators. */
export interface HttpModeOptions {
  /**
   * `padded`: real request, padded to a Gamma-distributed latency with the
   * operator's mean (the workloads' own mode); `sleep`: no request, a fixed wait
   * of the mean; `live`: real request, no padding. Absent: each operator keeps its mode.
   */
  readonly mode?: HttpModeName;
  /**
   * Replaces scheme, host and port of every HTTP operator's URL, keeping its path
   * and query (a path in the base URL is put in front), e.g. the port a harness's
   * own data API listens on.
   */
  readonly baseUrl?: string;
  /**
   * Multiplies latency means and sleep durations, not timeouts (default 1). Do not
   * also give the HTTP tool a `latencyScale`: the two would multiply.
   */
  readonly latencyScale?: number;
}

/** The operator's latency mean: padded mean or sleep duration; live operators have none. */
function meanMsOf(operator: HttpOperator): number | undefined {
  switch (operator.latency.mode) {
    case "padded":
      return operator.latency.meanMs;
    case "sleep":
      return operator.latency.ms;
    case "live":
      return undefined;
  }
}

function timeoutMsOf(operator: HttpOperator): number {
  return operator.latency.mode === "sleep" ? DEFAULT_HTTP_TIMEOUT_MS : operator.latency.timeoutMs;
}

function rewriteLatency(operator: HttpOperator, mode: HttpModeName, latencyScale: number): HttpLatency {
  if (mode === "live") return { mode: "live", timeoutMs: timeoutMsOf(operator) };
  const meanMs = meanMsOf(operator);
  if (meanMs === undefined) {
    throw new WorkloadInputError(
      `HTTP operator "${operator.id}" is live and has no latency mean to ${mode === "sleep" ? "sleep" : "pad to"}; ` +
        "give it latency_s or sleep_s in the workflow",
    );
  }
  const scaledMs = meanMs * latencyScale;
  return mode === "sleep"
    ? { mode: "sleep", ms: scaledMs }
    : { mode: "padded", meanMs: scaledMs, timeoutMs: timeoutMsOf(operator) };
}

function parseBaseUrl(baseUrl: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new WorkloadInputError(`baseUrl ${JSON.stringify(baseUrl)} is not an absolute URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new WorkloadInputError(`baseUrl ${JSON.stringify(baseUrl)} must be an http(s) URL`);
  }
  if (parsed.search !== "" || parsed.hash !== "") {
    throw new WorkloadInputError(`baseUrl ${JSON.stringify(baseUrl)} must not have a query or fragment`);
  }
  return parsed;
}

function rebase(operator: HttpOperator, base: URL): string {
  let original: URL;
  try {
    original = new URL(operator.url);
  } catch {
    throw new WorkloadInputError(
      `HTTP operator "${operator.id}" has no URL to rebase (${JSON.stringify(operator.url)}); sleep-only operators cannot be sent anywhere`,
    );
  }
  const prefix = base.pathname.replace(/\/+$/, "");
  return `${base.origin}${prefix}${original.pathname}${original.search}`;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * A copy of a compiled workflow whose HTTP operators use another latency mode,
 * base URL or latency scale; every other operator and edge is unchanged. The
 * workloads' YAML says `latency_s` against `http://127.0.0.1:8765`; a harness
 * uses this to aim them at its own data API (`baseUrl`), to skip the requests
 * and only wait (`mode: "sleep"`), or to scale every mean at once.
 * Throws {@link WorkloadInputError} naming the option or operator it cannot apply.
 */
export function withHttpMode(workflow: CompiledWorkflow, options: HttpModeOptions): CompiledWorkflow {
  const latencyScale = options.latencyScale ?? 1;
  if (!Number.isFinite(latencyScale) || latencyScale < 0) {
    throw new WorkloadInputError(`latencyScale must be a finite number >= 0 (got ${latencyScale})`);
  }
  const base = options.baseUrl === undefined ? undefined : parseBaseUrl(options.baseUrl);
  const operators = workflow.operators.map((operator): Operator => {
    if (operator.kind !== "http") return operator;
    const mode = options.mode ?? operator.latency.mode;
    // A sleep-only operator (no URL) that stays asleep never needs one.
    const keepsUrl = base === undefined || (operator.url === "" && mode === "sleep");
    const url = keepsUrl ? operator.url : rebase(operator, base);
    if (url === "" && mode !== "sleep") {
      throw new WorkloadInputError(
        `HTTP operator "${operator.id}" only sleeps and has no URL, so it cannot switch to ${mode} mode`,
      );
    }
    return { ...operator, url, latency: rewriteLatency(operator, mode, latencyScale) };
  });
  return deepFreeze({ ...structuredClone(workflow), operators: structuredClone(operators) });
}
