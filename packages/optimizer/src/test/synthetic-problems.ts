import { type DeviceProfile, H100_SIMULATED_PROFILE } from "@halo/profiles";
import { mulberry32 } from "@halo/seeded-random";
import type {
  PlannedLlmOperator,
  PlannedOperator,
  PlannedToolOperator,
  PlanningProblem,
  PlanningWorker,
  ToolPool,
} from "../planning-problem.js";

/**
 * Synthetic planning problems for tests and benchmarks: the six workload
 * shapes of the design (DESIGN §9) and seeded random DAGs. Deterministic for a
 * seed (mulberry32, never Math.random).
 */

/** The models of the paper's workloads, as the built-in H100 profile names them. */
export const WORKLOAD_MODELS = ["Qwen/Qwen3-14B", "openai/gpt-oss-20b", "Qwen/Qwen3-32B"] as const;

/** The six workload shapes. */
export const WORKLOAD_SHAPES = ["W1", "W2", "W3", "W4", "W5", "W6"] as const;
export type WorkloadShape = (typeof WORKLOAD_SHAPES)[number];

/** A seeded pseudo-random generator (mulberry32, from `@halo/seeded-random`): same seed, same numbers. */
export const seededRandom: (seed: number) => () => number = mulberry32;

/** Options shared by the generators. */
export interface SyntheticOptions {
  readonly queries: number;
  readonly workers: number;
  readonly seed: number;
  /** Profile of every worker (default: the simulated H100). */
  readonly profile?: DeviceProfile;
  /** Models to draw from (default: the three workload models). */
  readonly models?: readonly string[];
}

/** An LLM operator of `requests` distinct requests with fixed token counts (its prefix key is its id). */
export function plannedLlmOperator(
  id: string,
  model: string,
  parents: readonly string[],
  requests: number,
  tokens: { readonly prefix: number; readonly prompt: number; readonly output: number },
): PlannedLlmOperator {
  return {
    id,
    kind: "llm",
    model,
    parents,
    statistics: {
      instances: requests,
      distinctRequests: requests,
      sharedPrefixTokens: tokens.prefix,
      prefixKey: id,
      uniquePromptTokens: tokens.prompt,
      outputTokens: tokens.output,
    },
  };
}

/** Identical workers `w0…w{n-1}` with one profile. */
export function identicalWorkers(
  count: number,
  profile: DeviceProfile = H100_SIMULATED_PROFILE,
): PlanningWorker[] {
  return Array.from({ length: count }, (_, index) => ({ id: `w${index}`, profile }));
}

/** The CPU pools of the synthetic problems. */
export const SYNTHETIC_POOLS: readonly ToolPool[] = [
  { name: "sql", concurrency: 8 },
  { name: "http", concurrency: 64 },
  { name: "processor", concurrency: 4 },
];

class ProblemBuilder {
  readonly operators: PlannedOperator[] = [];
  private readonly random: () => number;

  constructor(
    readonly options: SyntheticOptions,
    private readonly httpLatencyMs: number,
  ) {
    this.random = seededRandom(options.seed);
  }

  private between(low: number, high: number): number {
    return Math.round(low + (high - low) * this.random());
  }

  llm(id: string, parents: readonly string[], modelIndex: number, inheritFrom?: string): string {
    const models = this.options.models ?? WORKLOAD_MODELS;
    const queries = this.options.queries;
    const coalesced = this.random() < 0.25;
    const uniquePromptTokens = this.between(80, 600);
    const model = models[modelIndex % models.length]!;
    // Only a parent running the same model can hand its context's KV over.
    const parent = this.operators.find((operator) => operator.id === inheritFrom);
    const sameModel = parent?.kind === "llm" && parent.model === model;
    const inherit = sameModel && this.random() < 0.5 ? Math.round(uniquePromptTokens * 0.4) : 0;
    // Half the operators share a quarter of their prompts within the batch (the same tool result
    // leading several prompts); derived, not drawn, so the instances' other figures stay as they were.
    const batchShared = uniquePromptTokens % 2 === 0 ? Math.round(uniquePromptTokens * 0.25) : 0;
    const operator: PlannedLlmOperator = {
      id,
      kind: "llm",
      model,
      parents,
      statistics: {
        instances: queries,
        distinctRequests: coalesced ? Math.max(1, Math.round(queries * 0.3)) : queries,
        sharedPrefixTokens: this.between(150, 900),
        prefixKey: `prefix-${id}`,
        uniquePromptTokens,
        ...(batchShared > 0 ? { batchSharedPromptTokens: batchShared } : {}),
        outputTokens: this.between(30, 250),
        ...(inherit > 0 && inheritFrom ? { inheritedContext: { from: inheritFrom, tokens: inherit } } : {}),
      },
    };
    this.operators.push(operator);
    return id;
  }

  tool(id: string, kind: PlannedToolOperator["kind"], parents: readonly string[]): string {
    const queries = this.options.queries;
    const meanMs =
      kind === "http" ? this.httpLatencyMs : kind === "sql" ? this.between(5, 80) : this.between(1, 5);
    const operator: PlannedToolOperator = {
      id,
      kind,
      parents,
      pool: kind,
      statistics: {
        instances: queries,
        distinctRequests:
          kind === "sql" && this.random() < 0.3 ? Math.max(1, Math.round(queries * 0.5)) : queries,
        latencyMeanMs: meanMs,
        latencyP95Ms: meanMs * 2,
      },
    };
    this.operators.push(operator);
    return id;
  }

  build(name: string): PlanningProblem {
    return {
      workflow: name,
      queryCount: this.options.queries,
      operators: this.operators,
      workers: identicalWorkers(this.options.workers, this.options.profile),
      pools: SYNTHETIC_POOLS,
    };
  }
}

/** A problem of one of the six workload shapes (LLM / tool operators: W1 8/9, W2 10/3, W3 9/6, W4 9/3, W5 7/10, W6 9/13). */
export function workloadShapeProblem(shape: WorkloadShape, options: SyntheticOptions): PlanningProblem {
  const tpch = shape === "W5" || shape === "W6";
  const builder = new ProblemBuilder(options, tpch ? 6000 : 3000);
  switch (shape) {
    case "W1": {
      // IMDb-Diamond: a planner fans out to six analysts with their own lookups, a judge joins them.
      const movies = builder.tool("movies_sql", "sql", []);
      const cast = builder.tool("cast_sql", "sql", []);
      const plan = builder.llm("plan", [movies, cast], 0);
      const branches: string[] = [];
      for (let branch = 0; branch < 6; branch++) {
        const lookup = builder.tool(`lookup_${branch}_sql`, "sql", [plan]);
        branches.push(builder.llm(`analyst_${branch}`, [plan, lookup], 1 + (branch % 2), plan));
      }
      const reviews = builder.tool("reviews_http", "http", [plan]);
      builder.llm("judge", [...branches, reviews], 2);
      break;
    }
    case "W2": {
      // IMDb-TripleChain: three chains of three, merged by a summarizer.
      const ends: string[] = [];
      for (let chain = 0; chain < 3; chain++) {
        const facts = builder.tool(`facts_${chain}_sql`, "sql", []);
        let previous = builder.llm(`chain_${chain}_0`, [facts], chain);
        for (let step = 1; step < 3; step++) {
          previous = builder.llm(`chain_${chain}_${step}`, [previous], chain, previous);
        }
        ends.push(previous);
      }
      builder.llm("summarize", ends, 0);
      break;
    }
    case "W3": {
      // FineWiki-LongChain: nine steps, web lookups between some of them.
      let previous: string[] = [];
      let last: string | undefined;
      for (let step = 0; step < 9; step++) {
        const parents = [...previous];
        if (step < 6) parents.push(builder.tool(`wiki_${step}_http`, "http", last ? [last] : []));
        last = builder.llm(`step_${step}`, parents, Math.floor(step / 3), last);
        previous = [last];
      }
      break;
    }
    case "W4": {
      // FineWiki-Bridge: two chains of four joined through a bridge operator.
      const left = builder.tool("left_http", "http", []);
      const right = builder.tool("right_http", "http", []);
      let leftLast = builder.llm("left_0", [left], 0);
      let rightLast = builder.llm("right_0", [right], 1);
      for (let step = 1; step < 3; step++) {
        leftLast = builder.llm(`left_${step}`, [leftLast], 0, leftLast);
        rightLast = builder.llm(`right_${step}`, [rightLast], 1, rightLast);
      }
      const bridgeLookup = builder.tool("bridge_sql", "sql", [leftLast, rightLast]);
      const bridge = builder.llm("bridge", [leftLast, rightLast, bridgeLookup], 2);
      builder.llm("answer_left", [bridge], 0);
      builder.llm("answer_right", [bridge], 1);
      break;
    }
    case "W5": {
      // TPCH-Trident: a regex extractor feeds three prongs of SQL + LLM, joined at the end.
      const extract = builder.tool("extract_processor", "processor", []);
      const prongs: string[] = [];
      for (let prong = 0; prong < 3; prong++) {
        const query = builder.tool(`prong_${prong}_sql`, "sql", [extract]);
        const detail = builder.tool(`prong_${prong}_detail_sql`, "sql", [query]);
        const price = builder.tool(`prong_${prong}_price_http`, "http", [extract]);
        const first = builder.llm(`prong_${prong}_read`, [detail, price], prong);
        prongs.push(builder.llm(`prong_${prong}_judge`, [first], prong, first));
      }
      builder.llm("combine", prongs, 2);
      break;
    }
    case "W6": {
      // TPCH-Fanout: a router fans out to seven SQL-backed specialists, merged at the end.
      const extract = builder.tool("extract_processor", "processor", []);
      const router = builder.llm("router", [extract], 0);
      const branches: string[] = [];
      for (let branch = 0; branch < 7; branch++) {
        const query = builder.tool(`branch_${branch}_sql`, "sql", [router]);
        const parents = [router, query];
        if (branch < 5) parents.push(builder.tool(`branch_${branch}_http`, "http", [router]));
        branches.push(builder.llm(`branch_${branch}`, parents, branch % 3));
      }
      builder.llm("merge", branches, 1);
      break;
    }
  }
  return builder.build(`${shape}-synthetic`);
}

/** Options of a random DAG. */
export interface RandomProblemOptions extends SyntheticOptions {
  readonly llmOperators: number;
  /** Distinct models used (1–3). */
  readonly modelCount: number;
  /** Tool operators (default: about a third of the LLM operators). */
  readonly toolOperators?: number;
}

/** A seeded random DAG: each LLM operator depends on up to two earlier ones; tools hang between them. */
export function randomProblem(options: RandomProblemOptions): PlanningProblem {
  const random = seededRandom(options.seed * 7919 + 17);
  const models = (options.models ?? WORKLOAD_MODELS).slice(0, Math.max(1, options.modelCount));
  const builder = new ProblemBuilder({ ...options, models }, 3000);
  const llmIds: string[] = [];
  const modelOf: number[] = [];
  const toolCount = options.toolOperators ?? Math.floor(options.llmOperators / 3);
  const toolTargets = new Map<number, string[]>();
  for (let tool = 0; tool < toolCount; tool++) {
    const target = Math.floor(random() * options.llmOperators);
    toolTargets.set(target, [...(toolTargets.get(target) ?? []), `tool_${tool}`]);
  }
  for (let operator = 0; operator < options.llmOperators; operator++) {
    const parents = new Set<string>();
    if (operator > 0 && random() < 0.8) {
      const parentCount = 1 + Math.floor(random() * 2);
      for (let draw = 0; draw < parentCount; draw++) parents.add(llmIds[Math.floor(random() * operator)]!);
    }
    const modelIndex = Math.floor(random() * models.length);
    const sameModelParent = [...parents].find((parent) => modelOf[llmIds.indexOf(parent)] === modelIndex);
    const toolParents: string[] = [];
    for (const toolId of toolTargets.get(operator) ?? []) {
      const kind = random() < 0.5 ? "sql" : "http";
      const toolParent = parents.size > 0 && random() < 0.5 ? [[...parents][0]!] : [];
      toolParents.push(builder.tool(`${toolId}_${kind}`, kind, toolParent));
    }
    const id = builder.llm(`op_${operator}`, [...parents, ...toolParents], modelIndex, sameModelParent);
    llmIds.push(id);
    modelOf.push(modelIndex);
  }
  return builder.build(`random-${options.seed}-${options.llmOperators}x${options.workers}`);
}
