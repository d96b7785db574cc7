/**
 * `halo bench --online`: open-loop Poisson arrivals at increasing rates (and
 * a linear ramp) against online systems on the same executors. Each system
 * gets fresh executors; per rate it reports p50/p95/p99 latency and completed
 * queries per second, all in device time (wall time ÷ the simulator's time
 * scale). The sustainable throughput is the highest rate whose p95 stays
 * under the SLO: `sloMultiplier` × the unloaded latency of one query through
 * `naive` (the same SLO for every system).
 *
 * Systems are injected (`OnlineBenchSystem`): `naive` lives here (one
 * per-query Processor run per arrival, on naive's static deployment, with at
 * most `concurrency` queries in flight — later arrivals wait their turn; one
 * system per swept setting, naive's figure is its best); the CLI provides
 * `halo` and `halo-minibatch` (the server's online path over HTTP), so this
 * package does not depend on the server.
 *
 * Every arrival carries its own query context (none repeats one of an
 * earlier arrival or step, so nothing is served from a cache of an earlier
 * rate); duplicates within the workload's own query distribution stay. The
 * CPU share of this process's main thread (which runs the harness, and the
 * in-process server for `halo`) is recorded per rate: near 1, the harness
 * itself is the bottleneck and the figures say little about the system.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { CompiledWorkflow, HttpToolV1, QueryContext, SqlToolV1 } from "@halo/ir";
import { type ExecutionPlan, type PlanningWorker, planBatch } from "@halo/optimizer";
import type { DeviceProfile } from "@halo/profiles";
import { createExecutorClient } from "@halo/protocol";
import { MemoryResultSink, Processor, type RuntimeTools } from "@halo/runtime";
import { HttpTool } from "@halo/tool-http";
import { createSqlTool } from "@halo/tool-sql";
import { loadWorkload } from "../workloads/load-workload.js";
import { withHttpMode } from "../workloads/with-http-mode.js";
import type { WorkloadDefinition } from "../workloads/workload-registry.js";
import { ensureBenchDataset } from "./bench-dataset.js";
import type { BenchExecutors } from "./bench-run.js";
import { describeMachine, sourceRevision } from "./bench-run.js";
import { startDataApiProcess } from "./data-api-process.js";
import { mainThreadCpuMs } from "./main-thread-cpu.js";
import { round } from "./run-observer.js";
import { executorStats } from "./run-system.js";
import { holdsAllModels, replicateModels } from "./static-deployment.js";

/** What a system gets to start on. */
export interface OnlineSystemInput {
  readonly addresses: readonly string[];
  /** The workflow as it runs (HTTP latencies on the scaled clock). */
  readonly workflow: CompiledWorkflow;
  /** The workflow as the planner sees it (device-time latencies). */
  readonly planningWorkflow: CompiledWorkflow;
  /** The workload's YAML file (systems that register workflows by source). */
  readonly workflowFile: string;
  readonly tools: RuntimeTools;
  readonly profile: DeviceProfile;
  readonly timeScale: number;
  /** A few queries like the ones that will arrive (for planning). */
  readonly sampleQueries: readonly QueryContext[];
}

/** A started system: submit one query, resolve when it has finished (`ok` false: failed or refused). */
export interface OnlineSystemRunner {
  submit(
    query: QueryContext,
  ): Promise<{ readonly ok: boolean; readonly refused?: boolean; readonly error?: string }>;
  stop(): Promise<void>;
}

/** A system of the online benchmark. */
export interface OnlineBenchSystem {
  readonly name: string;
  /** Swept variants of one system (naive's in-flight limit): the family's figure is its best setting. */
  readonly family?: string;
  readonly setting?: string;
  readonly description: string;
  start(input: OnlineSystemInput): Promise<OnlineSystemRunner>;
}

/** Settings of an online benchmark run. */
export interface OnlineBenchSettings {
  readonly executors: number;
  readonly timeScale: number;
  readonly latencyScale: number;
  readonly datasetScale: number;
  readonly seed: number;
  /** Arrival rates to try, ascending, in queries per device second. */
  readonly ratesPerSecond: readonly number[];
  /** Arrivals per rate step last this long (device seconds). */
  readonly durationSeconds: number;
  /** SLO = this × naive's unloaded single-query latency. */
  readonly sloMultiplier: number;
  /** Stop raising the rate for a system after this many steps over the SLO. */
  readonly stopAfterViolations: number;
}

/** One rate step of one system. Latencies in device ms. */
export interface OnlineRateResult {
  readonly rate: number;
  readonly kind: "poisson" | "ramp";
  readonly submitted: number;
  readonly completed: number;
  readonly failed: number;
  readonly refused: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  /** Completed queries per device second, from the first arrival to the last completion. */
  readonly completedPerSecond: number;
  /** CPU time of this process's main thread ÷ wall time over the step (absent without /proc). */
  readonly harnessCpuShare?: number;
  /** Model loads on the executors during the step, drain included (absent in results written before it was counted). */
  readonly modelLoads?: number;
  readonly withinSlo: boolean;
}

/** One system's results. */
export interface OnlineSystemResult {
  readonly system: string;
  readonly family?: string;
  readonly setting?: string;
  readonly description: string;
  /** Median latency of single queries on idle executors (device ms). */
  readonly unloadedLatencyMs: number;
  readonly rates: readonly OnlineRateResult[];
  /** Highest rate within the SLO (0: none). */
  readonly sustainableRate: number;
  readonly ramp?: OnlineRateResult;
}

/** The result file `online-<workload>.json`. */
export interface OnlineBenchResult {
  readonly resultVersion: 1;
  readonly kind: "online";
  readonly workload: { readonly id: string; readonly name: string };
  readonly engine: "sim";
  readonly date: string;
  readonly revision?: string;
  readonly commandLine: string;
  readonly machine: ReturnType<typeof describeMachine>;
  readonly settings: OnlineBenchSettings & { readonly profile: string };
  readonly sloMs: number;
  readonly systems: readonly OnlineSystemResult[];
  /** halo's sustainable rate ÷ naive's best (absent when naive sustains none). */
  readonly sustainableRatio?: number;
  /** Each non-naive system's sustainable rate ÷ naive's best setting's. */
  readonly ratios?: Readonly<Record<string, number>>;
  /** naive's best setting (its in-flight limit). */
  readonly naiveBest?: string;
}

/** What the caller provides. */
export interface OnlineBenchEnvironment {
  readonly startExecutors: () => Promise<BenchExecutors>;
  readonly profile: DeviceProfile;
  readonly profileSource: string;
  readonly onProgress?: (message: string) => void;
}

/**
 * The `naive` online system: each arrival runs as its own per-query Processor
 * run, at most `concurrency` at once (later arrivals wait in FIFO order).
 */
export function naiveOnlineSystem(concurrency: number | "all" = "all"): OnlineBenchSystem {
  const limit = concurrency === "all" ? Number.POSITIVE_INFINITY : concurrency;
  return {
    name: concurrency === "all" ? "naive" : `naive@${concurrency}`,
    family: "naive",
    setting: `${concurrency} in flight`,
    description: `per-query orchestration: each arrival runs on its own (naive plan, static deployment), ${concurrency === "all" ? "all at once" : `at most ${concurrency} in flight`}`,
    async start(input) {
      const workers: PlanningWorker[] = input.addresses.map((address, index) => ({
        id: `worker-${index}`,
        profile: input.profile,
        address,
      }));
      let plan: ExecutionPlan = (
        await planBatch({
          workflow: input.planningWorkflow,
          queries: input.sampleQueries,
          workers,
          strategy: "naive",
        })
      ).plan;
      const models = [
        ...new Set(
          input.workflow.operators.flatMap((operator) => (operator.kind === "llm" ? [operator.model] : [])),
        ),
      ];
      const clients = input.addresses.map((address) => createExecutorClient(address));
      const infos = await Promise.all(clients.map((client) => client.info({ deadlineMs: 10_000 })));
      if (infos.every((info) => holdsAllModels(info, models))) plan = replicateModels(plan);
      let running = 0;
      const waiting: (() => void)[] = [];
      return {
        async submit(query) {
          if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
          running += 1;
          try {
            const sink = new MemoryResultSink();
            const processor = new Processor({
              workflow: input.workflow,
              plan,
              executors: clients,
              tools: input.tools,
            });
            await processor.run([query], { sink });
            const record = sink.records[0];
            return { ok: record?.ok === true, ...(record?.error ? { error: record.error.message } : {}) };
          } finally {
            running -= 1;
            waiting.shift()?.();
          }
        },
        async stop() {
          for (const client of clients) client.close();
        },
      };
    },
  };
}

/** Deterministic exponential inter-arrival gaps (seeded xorshift). */
function arrivalGaps(rate: number, count: number, seed: number): number[] {
  let state = (seed * 2654435761) >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return (state + 0.5) / 4294967296;
  };
  return Array.from({ length: count }, () => -Math.log(next()) / rate);
}

function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.POSITIVE_INFINITY;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[index]!;
}

/** Runs one open-loop step: arrival offsets in device seconds. */
async function runArrivals(
  runner: OnlineSystemRunner,
  contexts: readonly QueryContext[],
  offsetsSeconds: readonly number[],
  timeScale: number,
  idPrefix: string,
  drainTimeoutMs: number,
): Promise<Omit<OnlineRateResult, "rate" | "kind" | "withinSlo">> {
  const startMs = performance.now();
  const startCpuMs = mainThreadCpuMs();
  const latencies: number[] = [];
  let failed = 0;
  let refused = 0;
  let lastEndMs = startMs;
  const pending: Promise<void>[] = [];
  for (let index = 0; index < offsetsSeconds.length; index++) {
    const dueMs = startMs + offsetsSeconds[index]! * 1000 * timeScale;
    const waitMs = dueMs - performance.now();
    if (waitMs > 1) await new Promise((resolve) => setTimeout(resolve, waitMs));
    const base = contexts[index % contexts.length]!;
    const submittedMs = performance.now();
    pending.push(
      runner.submit({ id: `${idPrefix}-${index}`, context: base.context }).then(
        (outcome) => {
          const endMs = performance.now();
          lastEndMs = Math.max(lastEndMs, endMs);
          if (outcome.refused) refused += 1;
          else if (outcome.ok) latencies.push((endMs - submittedMs) / timeScale);
          else failed += 1;
        },
        () => {
          failed += 1;
        },
      ),
    );
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(pending),
    new Promise((resolve) => {
      timer = setTimeout(resolve, drainTimeoutMs);
    }),
  ]);
  clearTimeout(timer);
  const submitted = offsetsSeconds.length;
  const sorted = [...latencies].sort((left, right) => left - right);
  // Unfinished, failed and refused queries count as over any SLO.
  const missing = submitted - sorted.length;
  const padded = [...sorted, ...Array.from({ length: missing }, () => Number.POSITIVE_INFINITY)];
  const spanSeconds = Math.max(1e-9, (lastEndMs - startMs) / 1000 / timeScale);
  const endCpuMs = mainThreadCpuMs();
  const wallMs = performance.now() - startMs;
  const harnessCpuShare =
    startCpuMs === undefined || endCpuMs === undefined || wallMs <= 0
      ? undefined
      : round((endCpuMs - startCpuMs) / wallMs, 3);
  return {
    submitted,
    completed: sorted.length,
    failed,
    refused,
    p50Ms: round(percentile(padded, 0.5)),
    p95Ms: round(percentile(padded, 0.95)),
    p99Ms: round(percentile(padded, 0.99)),
    completedPerSecond: round(sorted.length / spanSeconds, 3),
    ...(harnessCpuShare === undefined ? {} : { harnessCpuShare }),
  };
}

/** Runs every system on one workload and writes `online-<workload>.json`. */
export async function runOnlineBench(
  options: {
    readonly workload: WorkloadDefinition;
    readonly systems: readonly OnlineBenchSystem[];
    readonly settings: OnlineBenchSettings;
    readonly commandLine: string;
    readonly resultsDirectory?: string;
  },
  environment: OnlineBenchEnvironment,
): Promise<OnlineBenchResult> {
  const { workload, settings } = options;
  const progress = (message: string) => environment.onProgress?.(`${workload.id} online: ${message}`);
  const dataset = await ensureBenchDataset({
    dataset: workload.dataset,
    scale: settings.datasetScale,
    seed: settings.seed,
  });
  // Distinct contexts per arrival: 6 for the warm-up and single queries, then each step's and the ramp's own.
  const stepCounts = settings.ratesPerSecond.map((rate) =>
    Math.max(1, Math.round(rate * settings.durationSeconds)),
  );
  const rampCount = Math.ceil(Math.max(...settings.ratesPerSecond) * settings.durationSeconds);
  const needed = 6 + stepCounts.reduce((sum, count) => sum + count, 0) + rampCount;
  const pool: QueryContext[] = (await workload.generateQueries(needed, settings.seed, dataset.path)).map(
    (record) => ({
      id: record.id,
      context: record.context,
    }),
  );
  const stepContexts: QueryContext[][] = [];
  let cursor = 6;
  for (const count of stepCounts) {
    stepContexts.push(pool.slice(cursor, cursor + count));
    cursor += count;
  }
  const rampContexts = pool.slice(cursor);
  const compiled = await loadWorkload(workload);
  const sql: SqlToolV1 = createSqlTool(dataset.path, { maxConnections: 8, poolSize: 8 });
  const http: HttpToolV1 = new HttpTool({ allowHosts: ["127.0.0.1"] });
  const results: OnlineSystemResult[] = [];
  let sloMs = Number.POSITIVE_INFINITY;
  let sloFromNaive = false;
  const ts = settings.timeScale;
  try {
    await sql.doCheck();
    for (const system of options.systems) {
      // A generous start timeout: on a loaded machine a Node process with DuckDB takes a while to listen.
      const dataApi = await startDataApiProcess(dataset.path, 180_000);
      const executors = await environment.startExecutors();
      let runner: OnlineSystemRunner | undefined;
      try {
        // Latency injection only: the reference data API is one Node process whose own CPU time, on a small machine,
        // would cap both systems alike (measured: ~0.7 queries/s wall for either); the latency means stay.
        const httpMode = { baseUrl: dataApi.url, mode: "sleep" as const };
        const input: OnlineSystemInput = {
          addresses: executors.addresses,
          workflow: withHttpMode(compiled, { ...httpMode, latencyScale: settings.latencyScale * ts }),
          planningWorkflow: withHttpMode(compiled, { ...httpMode, latencyScale: settings.latencyScale }),
          workflowFile: workload.file,
          tools: { sql, http },
          profile: environment.profile,
          timeScale: ts,
          sampleQueries: pool.slice(0, 16),
        };
        runner = await system.start(input);
        // Warm-up (models loaded, prefixes cached), then single queries on idle executors.
        const warmup = await runner.submit({ id: `${system.name}-warmup`, context: pool[0]!.context });
        if (!warmup.ok)
          throw new Error(`${system.name}: the warm-up query failed: ${warmup.error ?? "refused"}`);
        const singles: number[] = [];
        for (let index = 0; index < 5; index++) {
          const startMs = performance.now();
          const single = await runner.submit({
            id: `${system.name}-single-${index}`,
            context: pool[index + 1]!.context,
          });
          if (!single.ok)
            throw new Error(`${system.name}: a single query failed: ${single.error ?? "refused"}`);
          singles.push((performance.now() - startMs) / ts);
        }
        const unloadedLatencyMs = round(singles.sort((left, right) => left - right)[2]!);
        // The SLO: from the first naive setting measured (the unloaded latency does not depend on the limit).
        if (!Number.isFinite(sloMs) || (system.family === "naive" && !sloFromNaive)) {
          sloMs = settings.sloMultiplier * unloadedLatencyMs;
          sloFromNaive = system.family === "naive";
        }
        progress(
          `${system.name}: unloaded latency ${(unloadedLatencyMs / 1000).toFixed(2)} s; SLO p95 ≤ ${(sloMs / 1000).toFixed(1)} s`,
        );
        const rates: OnlineRateResult[] = [];
        let violations = 0;
        for (const [step, rate] of settings.ratesPerSecond.entries()) {
          const count = Math.max(1, Math.round(rate * settings.durationSeconds));
          let clock = 0;
          const offsets = arrivalGaps(rate, count, settings.seed + step).map((gap) => {
            clock += gap;
            return clock;
          });
          const loadsBefore = await modelLoadsOf(executors.addresses);
          const measured = await runArrivals(
            runner,
            stepContexts[step]!,
            offsets,
            ts,
            `${system.name}-r${step}`,
            Math.max(60_000, 10 * settings.durationSeconds * 1000 * ts),
          );
          const loadsAfter = await modelLoadsOf(executors.addresses);
          const withinSlo = measured.p95Ms <= sloMs;
          const modelLoads =
            loadsBefore === undefined || loadsAfter === undefined ? undefined : loadsAfter - loadsBefore;
          rates.push({
            rate,
            kind: "poisson",
            ...measured,
            ...(modelLoads === undefined ? {} : { modelLoads }),
            withinSlo,
          });
          progress(
            `${system.name} @ ${rate}/s: p50 ${(measured.p50Ms / 1000).toFixed(1)} s, p95 ${(measured.p95Ms / 1000).toFixed(1)} s, ` +
              `${measured.completedPerSecond.toFixed(2)} completed/s, model loads ${modelLoads ?? "?"}, harness CPU ${measured.harnessCpuShare ?? "?"}${withinSlo ? "" : " (over the SLO)"}`,
          );
          if (!withinSlo) violations += 1;
          if (violations >= settings.stopAfterViolations) break;
        }
        // A linear ramp from the lowest to the highest rate tried.
        const tried = rates.map((entry) => entry.rate);
        const low = tried[0] ?? settings.ratesPerSecond[0]!;
        const high = tried.at(-1) ?? low;
        const rampOffsets: number[] = [];
        for (let t = 0; t < settings.durationSeconds; ) {
          const rate = low + ((high - low) * t) / settings.durationSeconds;
          t += 1 / Math.max(rate, 1e-3);
          if (t < settings.durationSeconds) rampOffsets.push(t);
        }
        const ramp = await runArrivals(
          runner,
          rampContexts,
          rampOffsets,
          ts,
          `${system.name}-ramp`,
          Math.max(60_000, 10 * settings.durationSeconds * 1000 * ts),
        );
        const sustainable = rates.filter((entry) => entry.withinSlo).map((entry) => entry.rate);
        results.push({
          system: system.name,
          ...(system.family === undefined ? {} : { family: system.family }),
          ...(system.setting === undefined ? {} : { setting: system.setting }),
          description: system.description,
          unloadedLatencyMs,
          rates,
          sustainableRate: sustainable.length > 0 ? Math.max(...sustainable) : 0,
          ramp: { rate: round((low + high) / 2, 3), kind: "ramp", ...ramp, withinSlo: ramp.p95Ms <= sloMs },
        });
      } finally {
        await runner?.stop().catch(() => undefined);
        await executors.stop();
        await dataApi.stop();
      }
    }
  } finally {
    await sql.close();
    await http.close();
  }
  const naives = results.filter((result) => (result.family ?? result.system) === "naive");
  const best = naives.reduce<OnlineSystemResult | undefined>(
    (winner, entry) =>
      winner === undefined || entry.sustainableRate > winner.sustainableRate ? entry : winner,
    undefined,
  );
  const naive = best?.sustainableRate ?? 0;
  const halo = results.find((result) => result.system === "halo")?.sustainableRate;
  const ratios: Record<string, number> = {};
  if (naive > 0)
    for (const entry of results)
      if ((entry.family ?? entry.system) !== "naive")
        ratios[entry.system] = round(entry.sustainableRate / naive, 3);
  const revision = sourceRevision();
  const result: OnlineBenchResult = {
    resultVersion: 1,
    kind: "online",
    workload: { id: workload.id, name: workload.name },
    engine: "sim",
    date: new Date().toISOString(),
    ...(revision === undefined ? {} : { revision }),
    commandLine: options.commandLine,
    machine: describeMachine(),
    settings: { ...settings, profile: environment.profileSource },
    sloMs: round(sloMs),
    systems: results,
    ...(halo !== undefined && naive > 0 ? { sustainableRatio: round(halo / naive, 3) } : {}),
    ...(Object.keys(ratios).length > 0 ? { ratios } : {}),
    ...(best ? { naiveBest: best.system } : {}),
  };
  if (options.resultsDirectory !== undefined) {
    await mkdir(options.resultsDirectory, { recursive: true });
    const path = join(options.resultsDirectory, `online-${workload.id}.json`);
    await writeFile(path, `${JSON.stringify(result, null, 2)}\n`);
    progress(`wrote ${path}`);
  }
  return result;
}

/** Model loads so far, summed over the executors; undefined when one of them does not answer (the figure is then left out). */
async function modelLoadsOf(addresses: readonly string[]): Promise<number | undefined> {
  try {
    const stats = await Promise.all(addresses.map((address) => executorStats(address)));
    return stats.reduce((total, entry) => total + Number(entry.modelLoads), 0);
  } catch {
    return undefined;
  }
}
