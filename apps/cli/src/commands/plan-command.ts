import { readFile, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { QueryContext } from "@halo/ir";
import {
  disabledOptimizations,
  OPTIMIZATION_NAMES,
  PlanningError,
  type PlanningWorker,
  planBatch,
  planSummary,
  strategyNames,
  syntheticQueries,
} from "@halo/optimizer";
import {
  BUILTIN_PROFILES,
  type DeviceProfile,
  ProfileValidationError,
  parseDeviceProfile,
} from "@halo/profiles";
import { type Command, Option } from "commander";
import { parse as parseYaml } from "yaml";
import { InvalidInputError } from "../cli-error.js";
import type { CommandIo } from "../io.js";
import { loadObservedStatistics } from "../json-input.js";
import { resolveStrategyFlag } from "../strategy-module.js";
import { loadQueriesOrFail, loadWorkflowOrFail, printWarnings } from "../workflow-input.js";
import type { RegisterCommand } from "./index.js";

interface PlanOptions {
  readonly queries: string;
  readonly workers: string;
  readonly profile: string;
  readonly strategy: string;
  readonly disable?: string;
  readonly out?: string;
  readonly solver: "glpk" | "highs";
  readonly timeLimitMs?: string;
  readonly statistics?: string;
}

/**
 * `halo plan <workflow> --queries <N|file> --workers <N|workers.yaml>
 * [--profile file|builtin:h100] [--strategy name] [--disable names] [--out plan.json]`:
 * estimates the batch, runs a planning strategy and writes the execution plan
 * as JSON (stdout or --out); a one-line summary and warnings go to stderr.
 */
export const registerPlanCommand: RegisterCommand = (program: Command, io: CommandIo) => {
  program
    .command("plan")
    .description("plan a batch: estimate it, run a strategy, write the execution plan (JSON)")
    .argument("<workflow>", "workflow YAML or JSON file")
    .requiredOption("--queries <N|file>", "a number of synthetic queries, or a query file (.jsonl or .csv)")
    .requiredOption("--workers <N|file>", "a number of identical workers, or a workers YAML file")
    .option("--profile <file|builtin:name>", "device profile of workers that name none", "builtin:h100")
    .option(
      "--strategy <name>",
      `planning strategy (${strategyNames().join(", ")}) or a module ./my-strategy.mjs`,
      "dp",
    )
    .option(
      "--disable <names>",
      `comma-separated optimizations to turn off (${OPTIMIZATION_NAMES.join(", ")})`,
    )
    .option("--out <file>", "write the plan here instead of stdout")
    .addOption(new Option("--solver <name>", "MILP solver").choices(["glpk", "highs"]).default("glpk"))
    .option("--time-limit-ms <ms>", "time limit of the dp search / MILP solver")
    .option(
      "--statistics <file>",
      "plan from what an earlier run of the workflow measured (its run summary, halo run --summary)",
    )
    .action(async (path: string, options: PlanOptions) => {
      const strategy = await resolveStrategyFlag(options.strategy);
      const disabled = parseDisabled(options.disable);
      const timeLimitMs = parseTimeLimit(options.timeLimitMs);
      const { workflow, warnings } = await loadWorkflowOrFail(path);
      printWarnings(io, warnings);
      const queries = await batchQueries(options.queries, workflow);
      const defaultProfile = await loadProfile(options.profile, "--profile", process.cwd());
      const workers = await loadWorkers(options.workers, defaultProfile);
      const observed = await loadObservedStatistics(options.statistics);
      let planned: Awaited<ReturnType<typeof planBatch>>;
      try {
        planned = await planBatch({
          workflow,
          queries,
          workers,
          strategy,
          disabled,
          solver: options.solver,
          ...(timeLimitMs === undefined ? {} : { timeLimitMs }),
          ...(observed === undefined ? {} : { observed }),
        });
      } catch (error) {
        if (error instanceof PlanningError) throw new InvalidInputError(`${path}: ${error.message}`);
        throw error;
      }
      const json = `${JSON.stringify(planned.plan, null, 2)}\n`;
      if (options.out) await writeFile(options.out, json);
      else io.stdout(json);
      io.stderr(`${planSummary(planned.plan)}\n`);
      for (const warning of planned.plan.warnings) io.stderr(`warning: ${warning}\n`);
    });
};

function parseDisabled(value: string | undefined): string[] {
  if (value === undefined) return [];
  const names = value
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  try {
    disabledOptimizations(names);
  } catch (error) {
    throw new InvalidInputError(`--disable: ${(error as Error).message}`);
  }
  return names;
}

function parseTimeLimit(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const milliseconds = Number(value);
  if (!Number.isFinite(milliseconds) || milliseconds <= 0) {
    throw new InvalidInputError(
      `--time-limit-ms: expected a positive number of milliseconds, got "${value}"`,
    );
  }
  return milliseconds;
}

const COUNT = /^\d+$/;

async function batchQueries(
  value: string,
  workflow: Parameters<typeof syntheticQueries>[0],
): Promise<readonly QueryContext[]> {
  if (!COUNT.test(value)) return loadQueriesOrFail(value, workflow);
  const count = Number(value);
  if (count < 1 || count > 1_000_000) {
    throw new InvalidInputError(`--queries: expected between 1 and 1000000 synthetic queries, got ${value}`);
  }
  return syntheticQueries(workflow, count);
}

/** A built-in profile (`builtin:h100`) or a profile JSON file (relative to `base`). */
async function loadProfile(reference: string, where: string, base: string): Promise<DeviceProfile> {
  if (reference.startsWith("builtin:")) {
    const profile = BUILTIN_PROFILES[reference];
    if (!profile) {
      throw new InvalidInputError(
        `${where}: unknown built-in profile "${reference}" (known: ${Object.keys(BUILTIN_PROFILES).join(", ")})`,
      );
    }
    return profile;
  }
  const file = resolve(base, reference);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new InvalidInputError(`${where}: cannot read profile ${reference}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`${where}: profile ${reference} is not JSON: ${(error as Error).message}`);
  }
  try {
    return parseDeviceProfile(value, reference);
  } catch (error) {
    if (error instanceof ProfileValidationError) throw new InvalidInputError(`${where}: ${error.message}`);
    throw error;
  }
}

/**
 * `--workers 4`: four identical workers with the default profile; otherwise a
 * YAML file `workers: [{id, profile?, address?}]` (profiles relative to it).
 */
async function loadWorkers(value: string, defaultProfile: DeviceProfile): Promise<PlanningWorker[]> {
  if (COUNT.test(value)) {
    const count = Number(value);
    if (count < 1 || count > 4096)
      throw new InvalidInputError(`--workers: expected 1 to 4096 workers, got ${value}`);
    return Array.from({ length: count }, (_, index) => ({ id: `worker-${index}`, profile: defaultProfile }));
  }
  let text: string;
  try {
    text = await readFile(value, "utf8");
  } catch (error) {
    throw new InvalidInputError(`--workers: cannot read ${value}: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new InvalidInputError(`${value}: not valid YAML: ${(error as Error).message}`);
  }
  const list = Array.isArray(document)
    ? document
    : typeof document === "object" &&
        document !== null &&
        Array.isArray((document as { workers?: unknown }).workers)
      ? (document as { workers: unknown[] }).workers
      : undefined;
  if (!list) throw new InvalidInputError(`${value}: expected a list "workers:" of {id, profile, address}`);
  if (list.length === 0)
    throw new InvalidInputError(`${value}: workers: the list is empty; a plan needs a worker`);
  const base = dirname(resolve(value));
  const seen = new Set<string>();
  const workers: PlanningWorker[] = [];
  for (const [index, entry] of list.entries()) {
    const where = `${value}: workers[${index}]`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw new InvalidInputError(`${where}: expected a mapping with id, profile and address`);
    }
    const { id, profile, address, ...rest } = entry as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) throw new InvalidInputError(`${where}: unknown field "${unknown[0]}"`);
    if (typeof id !== "string" || id.length === 0)
      throw new InvalidInputError(`${where}.id: expected a non-empty string`);
    if (seen.has(id)) throw new InvalidInputError(`${where}.id: duplicate worker id "${id}"`);
    seen.add(id);
    if (profile !== undefined && typeof profile !== "string") {
      throw new InvalidInputError(`${where}.profile: expected a profile file or builtin:<name>`);
    }
    if (address !== undefined && (typeof address !== "string" || address.length === 0)) {
      throw new InvalidInputError(`${where}.address: expected host:port`);
    }
    workers.push({
      id,
      profile: profile === undefined ? defaultProfile : await loadProfile(profile, `${where}.profile`, base),
      ...(address === undefined ? {} : { address: address as string }),
    });
  }
  return workers;
}
