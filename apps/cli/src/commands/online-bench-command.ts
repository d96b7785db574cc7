/**
 * `halo bench --online`: the online benchmark of `@halo/benchmarks`
 * (`runOnlineBench`) with its systems — `naive` from the harness (one per
 * `--naive-concurrency` setting), and the server's online path (`@halo/server`
 * in this process over the same simulated executors, queries submitted over
 * HTTP with `?wait=`): `halo` with continuous admission, `halo-minibatch`
 * with mini-batch admission.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  benchResultsDirectory,
  findWorkload,
  naiveOnlineSystem,
  type OnlineBenchResult,
  type OnlineBenchSystem,
  runOnlineBench,
  WORKLOAD_MODELS,
  WORKLOADS,
  type WorkloadDefinition,
  WorkloadInputError,
  writeOnlineReport,
} from "@halo/benchmarks";
import type { SqlToolV1 } from "@halo/ir";
import type { RuntimeTools } from "@halo/runtime";
import { SqliteStore, startHaloServer } from "@halo/server";
import { InvalidInputError } from "../cli-error.js";
import { numberFlag, positiveInteger } from "../cli-flags.js";
import type { CommandIo } from "../io.js";
import { startLocalExecutors } from "../run/local-executors.js";
import { loadProfileReference } from "../run/profile-reference.js";

/** Flags `halo bench --online` reads. */
export interface OnlineBenchFlags {
  readonly workload: string;
  readonly local?: string;
  readonly engine: string;
  readonly timeScale: string;
  readonly latencyScale: string;
  readonly datasetScale: string;
  readonly seed: string;
  readonly rates: string;
  readonly duration: string;
  readonly sloMultiplier: string;
  readonly profile?: string;
  readonly resultsDir?: string;
  /** naive, halo, halo-minibatch (comma-separated) or all. */
  readonly systems: string;
  /** naive's in-flight limits to sweep (numbers or `all`). */
  readonly naiveConcurrency: string;
}

/** The systems of the online benchmark. */
export const ONLINE_SYSTEMS = ["naive", "halo", "halo-minibatch"] as const;

/** A tool whose `close` does nothing: the harness owns it, the server only borrows it. */
function borrowed<T extends object>(tool: T): T {
  // A proxy that binds methods to the tool itself (its private fields need the real `this`).
  return new Proxy(tool, {
    get(target, property) {
      if (property === "close") return async () => {};
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** `halo` (continuous admission) or `halo-minibatch` (the server's default): the server's online path over the shared pool. */
export function haloOnlineSystem(
  log: (message: string) => void,
  admission: "continuous" | "mini-batch" = "continuous",
): OnlineBenchSystem {
  return {
    name: admission === "continuous" ? "halo" : "halo-minibatch",
    description:
      admission === "continuous"
        ? "the server's online path, continuous admission: each arrival joins the workflow's open run at once (planned with dp per size class, replaced when traffic outgrows it or after 2,048 queries)"
        : "the server's online path, mini-batch admission (the server's default): arrivals admitted into mini-batches (size 64 or a 0.5 s window), each planned with dp on the models the executors hold (plans reused per size class and residency), up to 8 runs overlapping on the shared executors",
    async start(input) {
      const tools: RuntimeTools = {
        ...(input.tools.sql ? { sql: borrowed<SqlToolV1>(input.tools.sql) } : {}),
        ...(input.tools.http ? { http: borrowed(input.tools.http) } : {}),
      };
      const server = await startHaloServer({
        store: new SqliteStore(":memory:"),
        executors: input.addresses,
        profile: input.profile,
        tools: async () => tools,
        // The server runs the harness's workflow: HTTP latencies on the simulator's scaled clock.
        prepareWorkflow: () => input.workflow,
        online: {
          admission,
          maxInFlight: 1_024,
          maxBatchSize: 64,
          windowMs: 500 * input.timeScale,
          maxQueued: 100_000,
          maxConcurrentRuns: 8,
        },
        log,
      });
      const registered = await fetch(`${server.url}/v1/workflows`, {
        method: "POST",
        body: await readFile(input.workflowFile, "utf8"),
      });
      if (!registered.ok)
        throw new Error(`registering the workflow: ${registered.status} ${await registered.text()}`);
      const name = input.workflow.name;
      return {
        async submit(query) {
          const response = await fetch(
            `${server.url}/v1/workflows/${encodeURIComponent(name)}/queries?wait=3600s`,
            {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ id: query.id, context: query.context }),
            },
          );
          if (response.status === 429) return { ok: false, refused: true };
          const body = (await response.json()) as {
            status?: string;
            result?: { error?: { message: string } };
          };
          return {
            ok: response.status === 200 && body.status === "completed",
            ...(body.result?.error ? { error: body.result.error.message } : {}),
          };
        },
        stop: () => server.close(),
      };
    },
  };
}

/** `halo bench --online --report`: regenerates the online report from the result files only (runs nothing). */
export async function writeOnlineReportCommand(resultsDir: string | undefined, io: CommandIo): Promise<void> {
  const directory = resultsDir ?? join(benchResultsDirectory(), "online");
  const written = await writeOnlineReport(
    directory,
    resultsDir === undefined ? join(directory, "..", "..", "README.md") : undefined,
  );
  io.stdout(written.length > 0 ? `${written.join("\n")}\n` : `no online result files in ${directory}\n`);
}

/** Runs the online benchmark on each workload; returns the results. */
export async function runOnlineBenchCommand(
  flags: OnlineBenchFlags,
  io: CommandIo,
  commandLine: string,
): Promise<OnlineBenchResult[]> {
  if (flags.engine !== "sim") {
    throw new InvalidInputError("--online runs on the simulated H100s: pass --engine sim");
  }
  let workloads: WorkloadDefinition[];
  try {
    workloads =
      flags.workload === "all"
        ? [...WORKLOADS]
        : flags.workload.split(",").map((id) => findWorkload(id.trim()));
  } catch (error) {
    if (error instanceof WorkloadInputError) throw new InvalidInputError(`--workload: ${error.message}`);
    throw error;
  }
  const rates = flags.rates.split(",").map((text) => Number(text.trim()));
  if (rates.length === 0 || rates.some((rate) => !Number.isFinite(rate) || rate <= 0)) {
    throw new InvalidInputError(`--rates: expected positive numbers, comma-separated (got "${flags.rates}")`);
  }
  const systemNames =
    flags.systems === "all" ? [...ONLINE_SYSTEMS] : flags.systems.split(",").map((name) => name.trim());
  for (const name of systemNames) {
    if (!(ONLINE_SYSTEMS as readonly string[]).includes(name)) {
      throw new InvalidInputError(
        `--systems: unknown online system "${name}" (expected ${ONLINE_SYSTEMS.join(", ")} or all)`,
      );
    }
  }
  const naiveSettings = flags.naiveConcurrency.split(",").map((text) => {
    const trimmed = text.trim();
    if (trimmed === "all") return "all" as const;
    const value = Number(trimmed);
    if (!Number.isInteger(value) || value < 1) {
      throw new InvalidInputError(
        `--naive-concurrency: expected integers >= 1 or all, comma-separated (got "${flags.naiveConcurrency}")`,
      );
    }
    return value;
  });
  const log = (message: string) => io.stderr(`halo bench: ${message}\n`);
  const systems: OnlineBenchSystem[] = [];
  if (systemNames.includes("naive"))
    for (const setting of naiveSettings) systems.push(naiveOnlineSystem(setting));
  if (systemNames.includes("halo")) systems.push(haloOnlineSystem(log, "continuous"));
  if (systemNames.includes("halo-minibatch")) systems.push(haloOnlineSystem(log, "mini-batch"));
  const settings = {
    executors: numberFlag("--local", flags.local ?? "4", positiveInteger, "a number of executors >= 1"),
    timeScale: numberFlag(
      "--time-scale",
      flags.timeScale,
      (value) => value > 0 && value <= 1,
      "a number in (0, 1]",
    ),
    latencyScale: numberFlag("--latency-scale", flags.latencyScale, (value) => value >= 0, "a number >= 0"),
    datasetScale: numberFlag(
      "--dataset-scale",
      flags.datasetScale,
      (value) => value > 0 && value <= 1,
      "a scale in (0, 1]",
    ),
    seed: numberFlag(
      "--seed",
      flags.seed,
      (value) => Number.isInteger(value) && value >= 0,
      "an integer >= 0",
    ),
    ratesPerSecond: [...rates].sort((left, right) => left - right),
    durationSeconds: numberFlag("--duration", flags.duration, (value) => value > 0, "device seconds > 0"),
    sloMultiplier: numberFlag(
      "--slo-multiplier",
      flags.sloMultiplier,
      (value) => value >= 1,
      "a number >= 1",
    ),
    // An overloaded step drains for minutes and the next one is over the SLO too: stop at the first.
    stopAfterViolations: 1,
  };
  const profileReference = flags.profile ?? "builtin:h100";
  const profile = await loadProfileReference(profileReference, "--profile", process.cwd());
  const startExecutors = () =>
    startLocalExecutors({
      count: settings.executors,
      engine: "sim",
      threads: 1,
      profile: profileReference,
      timeScale: settings.timeScale,
      serve: [...WORKLOAD_MODELS],
      maxLoadedModels: 1,
      batching: { windowMs: 3 * settings.timeScale, maxCollectMs: 10 * settings.timeScale },
    });
  const directory = flags.resultsDir ?? join(benchResultsDirectory(), "online");
  const results: OnlineBenchResult[] = [];
  for (const workload of workloads) {
    const result = await runOnlineBench(
      {
        workload,
        systems,
        settings,
        commandLine: commandLine.replace(/--workload \S+/, `--workload ${workload.id}`),
        resultsDirectory: directory,
      },
      { startExecutors, profile, profileSource: profileReference, onProgress: log },
    );
    results.push(result);
    const line = result.systems.map((system) => `${system.system} ${system.sustainableRate}/s`).join(", ");
    const ratios = Object.entries(result.ratios ?? {})
      .map(([name, ratio]) => `${name} ${ratio.toFixed(2)}×`)
      .join(", ");
    io.stdout(
      `${workload.id} online: sustainable (p95 ≤ ${(result.sloMs / 1000).toFixed(1)} s): ${line}` +
        `${ratios === "" ? "" : ` → ${ratios} of naive's best`}\n`,
    );
  }
  const written = await writeOnlineReport(
    directory,
    flags.resultsDir === undefined ? join(directory, "..", "..", "README.md") : undefined,
  );
  io.stderr(`halo bench: online report ${written.join(", ")}\n`);
  return results;
}
