/**
 * The systems `halo bench` compares (DESIGN §9, §10): the per-query baseline,
 * the LangGraph.js peer, the operator-at-a-time baseline, Halo, and Halo with
 * one optimization disabled.
 */
import { BenchInputError } from "./bench-input-error.js";

/** How one compared system plans and executes a batch. */
export interface BenchSystem {
  /** Name in reports and on the command line. */
  readonly name: string;
  /** One line for the report. */
  readonly description: string;
  /** Planning strategy (`@halo/optimizer`): a built-in one, or a registered user strategy (`--strategy`). */
  readonly strategy: string;
  /** Optimizations turned off (planned without them and honoured at run time). */
  readonly disabled: readonly string[];
  /** Epochs are barriers at run time (`ProcessorOptions.epochBarriers`). */
  readonly epochBarriers: boolean;
  /** The planner may split an operator's queries across workers (default true; dp's `splitOperators`). */
  readonly splitOperators?: boolean;
  /** Workers preload their next planned model (default true; `ProcessorOptions.preloading`). */
  readonly preloading?: boolean;
  /** What executes it: Halo's Processor, or the workflow translated into a LangGraph.js graph. */
  readonly runner: "processor" | "langgraph";
  /** Which queries-in-flight sweep it runs (one run per setting), if any. */
  readonly sweep?: "naive" | "langgraph";
  /** Prompt layout forced on every LLM operator (default: the workflow's own, or `--prompt-layout`). */
  readonly promptLayout?: "shared-first" | "declared";
  /**
   * Planned from what the `halo` run of the same invocation measured (`RunSummary.observed`:
   * output and prompt tokens, cache hits, tool call times), as `halo run --statistics` plans a
   * workflow's next batch from an earlier run; needs `halo` among the systems.
   */
  readonly observedStatistics?: true;
}

/** Every system, in report order. */
export const BENCH_SYSTEMS: readonly BenchSystem[] = Object.freeze([
  {
    name: "naive",
    description:
      "per-query orchestration: each query walks its DAG, one request per LLM call, static model deployment, executor batching and prefix cache on",
    strategy: "naive",
    disabled: [],
    epochBarriers: false,
    runner: "processor",
    sweep: "naive",
  },
  {
    name: "langgraph",
    description:
      "the workflow as a LangGraph.js StateGraph (one node per operator), ChatOpenAI against the executors' OpenAI endpoints (naive's static deployment), DuckDB/PostgreSQL and fetch clients, graph.batch with maxConcurrency, node caching on tool nodes",
    // The naive strategy only places the models (the deployment); LangGraph runs the queries.
    strategy: "naive",
    disabled: [],
    epochBarriers: false,
    runner: "langgraph",
    sweep: "langgraph",
  },
  {
    name: "opwise",
    description: "one operator at a time over all queries, split over every executor, a barrier after each",
    strategy: "opwise",
    disabled: ["pipelining"],
    epochBarriers: true,
    runner: "processor",
  },
  {
    name: "halo",
    description: "the dp plan with every optimization",
    strategy: "dp",
    disabled: [],
    epochBarriers: false,
    runner: "processor",
  },
  {
    name: "halo-observed",
    description:
      "halo planned from the statistics halo's run measured (output and prompt tokens, cache hits, tool times), as halo run --statistics plans a workflow's next batch from an earlier run",
    strategy: "dp",
    disabled: [],
    epochBarriers: false,
    runner: "processor",
    observedStatistics: true,
  },
  {
    name: "halo-no-sharing",
    description: "halo without prefix sharing",
    strategy: "dp",
    disabled: ["prefix-sharing"],
    epochBarriers: false,
    runner: "processor",
  },
  {
    name: "halo-no-coalescing",
    description: "halo without coalescing of identical calls",
    strategy: "dp",
    disabled: ["coalescing"],
    epochBarriers: false,
    runner: "processor",
  },
  {
    name: "halo-no-migration",
    description: "halo without KV migration",
    strategy: "dp",
    disabled: ["migration"],
    epochBarriers: false,
    runner: "processor",
  },
  {
    name: "halo-no-reorder",
    description:
      "halo without prefix reordering: prompts in declared layout, micro-batches of the oldest ready calls in queue order",
    strategy: "dp",
    disabled: ["prefix-reordering"],
    epochBarriers: false,
    runner: "processor",
    promptLayout: "declared",
  },
  {
    name: "halo-no-sql-batching",
    description:
      "halo with every SQL call its own statement (no batching of an operator's waiting calls into one query)",
    strategy: "dp",
    disabled: ["sql-batching"],
    epochBarriers: false,
    runner: "processor",
  },
  {
    name: "halo-no-pipelining",
    description: "halo with a barrier per tool operator (tools start when every query's inputs are ready)",
    strategy: "dp",
    disabled: ["pipelining"],
    epochBarriers: false,
    runner: "processor",
  },
  {
    name: "halo-no-preload",
    description:
      "halo without preloads: a worker loads a model only for calls that are ready (its first model too), never while its next step's tools run",
    strategy: "dp",
    disabled: [],
    epochBarriers: false,
    preloading: false,
    runner: "processor",
  },
  {
    name: "halo-no-split",
    description:
      "halo planned without per-worker query splits (each operator's step on one worker per epoch); work stealing still runs",
    strategy: "dp",
    disabled: [],
    epochBarriers: false,
    splitOperators: false,
    runner: "processor",
  },
] satisfies BenchSystem[]);

/** Names of every system, in report order. */
export const BENCH_SYSTEM_NAMES: readonly string[] = BENCH_SYSTEMS.map((system) => system.name);

/**
 * The systems a comma-separated list names (`all` = every one), in report
 * order (`naive` first: the others' outputs are compared with its outputs).
 * Unknown names are a {@link BenchInputError}.
 */
export function parseSystems(list: string): BenchSystem[] {
  const names = list
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name.length > 0);
  if (names.length === 0) throw new BenchInputError("--systems: name at least one system");
  if (names.includes("all")) return [...BENCH_SYSTEMS];
  const unknown = names.filter((name) => !BENCH_SYSTEM_NAMES.includes(name));
  if (unknown.length > 0) {
    throw new BenchInputError(
      `--systems: unknown system${unknown.length > 1 ? "s" : ""} ${unknown.map((name) => `"${name}"`).join(", ")} (known: ${BENCH_SYSTEM_NAMES.join(", ")}, all)`,
    );
  }
  const systems = BENCH_SYSTEMS.filter((system) => names.includes(system.name));
  const observing = systems.find((system) => system.observedStatistics);
  if (observing && !names.includes("halo"))
    throw new BenchInputError(
      `--systems: "${observing.name}" plans from what the halo run measured: add halo to the systems`,
    );
  return systems;
}

/**
 * The system of a user strategy (`halo bench --strategy ./my-strategy.js`, registered with
 * `@halo/optimizer` first): planned with that strategy, every optimization on, run by the Processor.
 * Its name is the strategy's name, which must not be one of {@link BENCH_SYSTEM_NAMES}.
 */
export function strategySystem(strategy: string): BenchSystem {
  if (BENCH_SYSTEM_NAMES.includes(strategy.toLowerCase())) {
    throw new BenchInputError(
      `--strategy: "${strategy}" is already a compared system; name it with --systems instead`,
    );
  }
  return {
    name: strategy,
    description: `the user strategy ${strategy} (--strategy) with every optimization`,
    strategy,
    disabled: [],
    epochBarriers: false,
    runner: "processor",
  };
}

/** System names in report order: the built-in systems first, then any others (user strategies) as first seen. */
export function reportOrder(names: Iterable<string>): string[] {
  const present = [...new Set(names)];
  return [
    ...BENCH_SYSTEM_NAMES.filter((name) => present.includes(name)),
    ...present.filter((name) => !BENCH_SYSTEM_NAMES.includes(name)),
  ];
}
