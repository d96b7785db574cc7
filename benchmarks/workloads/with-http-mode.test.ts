import { type CompiledWorkflow, type HttpOperator, loadWorkflowText } from "@halo/ir";
import { beforeAll, describe, expect, it } from "vitest";
import { loadWorkload } from "./load-workload.js";
import { withHttpMode } from "./with-http-mode.js";
import { WorkloadInputError } from "./workload-input-error.js";

let trident: CompiledWorkflow;

beforeAll(async () => {
  trident = await loadWorkload("w5");
});

const httpOperators = (workflow: CompiledWorkflow) =>
  workflow.operators.filter((op): op is HttpOperator => op.kind === "http");

function compile(yaml: string): CompiledWorkflow {
  const result = loadWorkflowText(yaml, { file: "inline.yaml" });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.workflow;
}

function withoutLinesOf(yaml: string, id: string): string {
  return yaml
    .split("\n")
    .filter((line) => !line.includes(id))
    .join("\n");
}

const SLEEPING = `
graph:
  nodes:
    - { id: q, type: input, outputs: [user_query] }
    - { id: wait_with_url, type: http, url: "http://api.example.invalid/v1/items?sort=asc", sleep_ms: 40, inputs: [user_query], outputs: [items] }
    - { id: wait_only, type: http, sleep_ms: 40, inputs: [user_query], outputs: [waited] }
  edges:
    - { from: q, to: wait_with_url }
    - { from: q, to: wait_only }
`;

const LIVE = `
graph:
  nodes:
    - { id: q, type: input, outputs: [user_query] }
    - { id: live_call, type: http, url: "http://api.example.invalid/v1/items?sort=asc", timeout_s: 2, inputs: [user_query], outputs: [items] }
  edges:
    - { from: q, to: live_call }
`;

describe("withHttpMode", () => {
  it("switches every HTTP operator to sleep mode with the same mean, scaled", () => {
    const slept = withHttpMode(trident, { mode: "sleep", latencyScale: 0.01 });
    expect(httpOperators(slept).map((op) => op.latency)).toEqual([
      { mode: "sleep", ms: 60 },
      { mode: "sleep", ms: 60 },
      { mode: "sleep", ms: 60 },
    ]);
  });

  it("points the calls at another data API, keeping paths and modes", () => {
    const moved = withHttpMode(trident, { baseUrl: "http://127.0.0.1:40123/" });
    expect(httpOperators(moved).map((op) => op.url)).toEqual(
      httpOperators(trident).map((op) => op.url.replace("127.0.0.1:8765", "127.0.0.1:40123")),
    );
    expect(httpOperators(moved).map((op) => op.latency)).toEqual(
      httpOperators(trident).map((op) => op.latency),
    );
    const prefixed = withHttpMode(trident, { baseUrl: "https://data.example.com/api" });
    expect(httpOperators(prefixed)[0]?.url).toMatch(/^https:\/\/data\.example\.com\/api\/tpch\/reports\//);
  });

  it("scales padded means but not timeouts, and turns padding off for live mode", () => {
    const scaled = withHttpMode(trident, { latencyScale: 0.5 });
    expect(httpOperators(scaled)[0]?.latency).toEqual({ mode: "padded", meanMs: 3_000, timeoutMs: 30_000 });
    const live = withHttpMode(trident, { mode: "live" });
    expect(httpOperators(live)[0]?.latency).toEqual({ mode: "live", timeoutMs: 30_000 });
  });

  it("leaves every other operator and edge as it was and returns a frozen copy", () => {
    const slept = withHttpMode(trident, { mode: "sleep", baseUrl: "http://127.0.0.1:1" });
    expect(slept.operators.filter((op) => op.kind !== "http")).toEqual(
      trident.operators.filter((op) => op.kind !== "http"),
    );
    expect(slept.edges).toEqual(trident.edges);
    expect(slept.levels).toEqual(trident.levels);
    expect(Object.isFrozen(slept)).toBe(true);
    expect(Object.isFrozen(httpOperators(slept)[0]?.latency)).toBe(true);
    expect(httpOperators(trident)[0]?.latency.mode).toBe("padded");
  });

  it("rebases sleep operators that have a URL and leaves URL-less ones asleep", () => {
    const workflow = compile(SLEEPING);
    const moved = withHttpMode(workflow, { mode: "sleep", baseUrl: "http://127.0.0.1:9", latencyScale: 2 });
    expect(httpOperators(moved).map((op) => [op.id, op.url, op.latency])).toEqual([
      ["wait_only", "", { mode: "sleep", ms: 80 }],
      ["wait_with_url", "http://127.0.0.1:9/v1/items?sort=asc", { mode: "sleep", ms: 80 }],
    ]);
  });

  it("pads a sleep operator's URL with its sleep as the mean, and rebases live ones", () => {
    const padded = withHttpMode(compile(withoutLinesOf(SLEEPING, "wait_only")), { mode: "padded" });
    expect(httpOperators(padded).map((op) => op.latency)).toEqual([
      { mode: "padded", meanMs: 40, timeoutMs: 30_000 },
    ]);
    const live = withHttpMode(compile(LIVE), { mode: "live", baseUrl: "http://127.0.0.1:9" });
    expect(httpOperators(live).map((op) => [op.url, op.latency])).toEqual([
      ["http://127.0.0.1:9/v1/items?sort=asc", { mode: "live", timeoutMs: 2_000 }],
    ]);
  });

  it("names the operator it cannot switch", () => {
    expect(() => withHttpMode(compile(SLEEPING), { mode: "live" })).toThrow(
      /HTTP operator "wait_only" only sleeps and has no URL, so it cannot switch to live mode/,
    );
    expect(() => withHttpMode(compile(LIVE), { mode: "sleep" })).toThrow(
      /HTTP operator "live_call" is live and has no latency mean to sleep/,
    );
    expect(() => withHttpMode(compile(LIVE), { mode: "padded" })).toThrow(WorkloadInputError);
  });

  it("rejects a bad base URL or latency scale, naming it", () => {
    expect(() => withHttpMode(trident, { baseUrl: "127.0.0.1:8765" })).toThrow(WorkloadInputError);
    expect(() => withHttpMode(trident, { baseUrl: "ftp://127.0.0.1" })).toThrow(/must be an http\(s\) URL/);
    expect(() => withHttpMode(trident, { baseUrl: "http://a/?x=1" })).toThrow(/must not have a query/);
    expect(() => withHttpMode(trident, { latencyScale: -1 })).toThrow(
      /latencyScale must be a finite number >= 0/,
    );
    expect(() => withHttpMode(trident, { latencyScale: Number.NaN })).toThrow(WorkloadInputError);
  });
});
