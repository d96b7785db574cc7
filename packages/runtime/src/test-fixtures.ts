/**
 * Test fixtures: in-process executor sidecars (real gRPC on 127.0.0.1:0) over
 * the simulated engine, a small TPC-H-flavoured workflow, queries and plans.
 */
import { SimEngine } from "@halo/engine-sim";
import { createExecutorServer, type ExecutorServerHandle } from "@halo/executor";
import { type CompiledWorkflow, loadWorkflowText, type QueryContext } from "@halo/ir";
import { type ExecutionPlan, planBatch } from "@halo/optimizer";
import { type DeviceProfile, H100_SIMULATED_PROFILE } from "@halo/profiles";

/** Sidecars started by `startSimExecutors`. */
export interface SimExecutors {
  readonly addresses: string[];
  readonly servers: ExecutorServerHandle[];
  close(): Promise<void>;
}

/** Starts `count` sidecars over simulated H100s (time scale 0.001 by default: a 15 s load takes 15 ms). */
export async function startSimExecutors(
  count: number,
  options: {
    readonly timeScale?: number;
    readonly maxSequences?: number;
    readonly profile?: DeviceProfile;
    /** Per sidecar (by index), the model names it serves (default: the profile's). */
    readonly models?: readonly (Readonly<Record<string, string>> | undefined)[];
  } = {},
): Promise<SimExecutors> {
  const servers: ExecutorServerHandle[] = [];
  for (let index = 0; index < count; index++) {
    const models = options.models?.[index];
    const engine = new SimEngine({
      profile: options.profile ?? H100_SIMULATED_PROFILE,
      timeScale: options.timeScale ?? 0.001,
      ...(options.maxSequences === undefined ? {} : { maxSequences: options.maxSequences }),
      ...(models === undefined ? {} : { models }),
    });
    servers.push(await createExecutorServer({ engine }));
  }
  let closed = false;
  return {
    addresses: servers.map((server) => server.address),
    servers,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(servers.map((server) => server.close(100).catch(() => undefined)));
    },
  };
}

/**
 * A diamond: a regex extractor, SQL (no tables needed: arithmetic over the
 * parameters), an HTTP report in sleep mode, two analysts on two models, a
 * join. Identical user queries coalesce everywhere.
 */
export const DIAMOND_YAML = `
graph:
  name: diamond
  nodes:
    - { id: question, type: input, outputs: [user_query] }
    - id: params
      type: processor
      processor: regex_param_extractor
      coalesce: true
      inputs: [user_query]
      outputs: [p]
      config:
        regex: { year: ["year=(\\\\d{4})"], region: ["region=([a-z]+)"] }
        defaults: { year: 1994, region: asia }
        normalize: { numeric_fields: [year], uppercase_fields: [region] }
    - id: report
      type: http
      url: http://reports.example.invalid/report
      params: { year: "{{ p.year }}" }
      sleep_ms: 20
      coalesce: true
      inputs: [p]
      outputs: [report]
    - id: pricing
      type: inference
      model: Qwen/Qwen3-14B
      max_tokens: 16
      system_prompt: |
        You are a pricing analyst. Use the figures to answer in one sentence.
        Respond ONLY with: { "pricing_notes": "string" }
      inputs: [user_query, p]
      outputs: [pricing_notes]
      db_queries:
        - name: figures
          sql: SELECT :year * 2 AS doubled, upper(:region) AS region
          parameters: { year: "{{ p.year }}", region: "{{ p.region }}" }
          param_types: { year: int, region: text }
    - id: market
      type: inference
      model: openai/gpt-oss-20b
      max_tokens: 16
      system_prompt: |
        You are a market analyst. Answer in one sentence.
        Respond ONLY with: { "market_notes": "string" }
      inputs: [user_query, p]
      outputs: [market_notes]
    - id: join
      type: inference
      model: Qwen/Qwen3-14B
      max_tokens: 24
      system_prompt: Combine the notes and the report into one briefing.
      inputs: [user_query, pricing_notes, market_notes, report]
      outputs: [briefing]
  edges:
    - { from: question, to: params }
    - { from: params, to: report }
    - { from: params, to: pricing }
    - { from: params, to: market }
    - { from: pricing, to: join }
    - { from: market, to: join }
    - { from: report, to: join }
`;

/** Compiles a workflow from YAML text; throws listing the problems. */
export function compileWorkflow(text: string): CompiledWorkflow {
  const result = loadWorkflowText(text, { file: "test.yaml" });
  if (!result.ok) throw new Error(result.problems.map((problem) => problem.message).join("\n"));
  return result.workflow;
}

/** `count` queries cycling through `distinct` different texts (so identical ones coalesce). */
export function diamondQueries(count: number, distinct = count): QueryContext[] {
  return Array.from({ length: count }, (_, index) => {
    const variant = index % distinct;
    return {
      id: `q${String(index + 1).padStart(3, "0")}`,
      context: {
        user_query: `question ${variant}: region=${["asia", "europe", "africa"][variant % 3]} year=${1992 + (variant % 5)}`,
      },
    };
  });
}

/** Plans the batch on the given executors (profile: the simulated H100). */
export async function planFor(
  workflow: CompiledWorkflow,
  queries: readonly QueryContext[],
  addresses: readonly string[],
  strategy = "dp",
  disabled: readonly string[] = [],
  profile: DeviceProfile = H100_SIMULATED_PROFILE,
): Promise<ExecutionPlan> {
  const { plan } = await planBatch({
    workflow,
    queries,
    workers: addresses.map((address, index) => ({ id: `worker-${index}`, profile, address })),
    strategy,
    disabled,
  });
  return plan;
}

/** A simulated sidecar in a child process (`fixtures/sim-sidecar-process.mjs`), for SIGKILL tests. */
export interface SidecarProcess {
  readonly address: string;
  readonly child: import("node:child_process").ChildProcess;
}

/** Starts a sidecar process and waits for its listening line. */
export async function startSidecarProcess(timeScale = 0.002): Promise<SidecarProcess> {
  const { spawn } = await import("node:child_process");
  const { createInterface } = await import("node:readline");
  const script = new URL("../fixtures/sim-sidecar-process.mjs", import.meta.url);
  const child = spawn(process.execPath, [script.pathname, String(timeScale)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! });
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error("the sidecar process did not start within 20 s")),
      20_000,
    );
    lines.on("line", (line) => {
      const event = JSON.parse(line) as { event: string; address: string };
      if (event.event === "listening") {
        clearTimeout(timer);
        resolve(event.address);
      }
    });
    child.once("exit", (code) => reject(new Error(`the sidecar process exited with ${code}`)));
  });
  return { address, child };
}
