import {
  type BatchInstances,
  type CompiledWorkflow,
  type ConsolidatedBatch,
  canonicalJson,
  consolidateBatch,
  countTokens,
  type JsonValue,
  type LlmOperator,
  type Operator,
  type OperatorConsolidation,
  type PrefixStatistics,
  type QueryContext,
  type Template,
  type TemplatePart,
} from "@halo/ir";
import { prefixKeyOf } from "@halo/ir/internal";
import {
  type DeviceProfile,
  deriveModelProfile,
  isKnownWeightFormat,
  weightBytesPerParameter,
} from "@halo/profiles";
import {
  type ObservedStatistics,
  observedLlmMeans,
  observedOperator,
  observedToolLatencyMs,
} from "./observed-statistics.js";
import type {
  PlannedLlmOperator,
  PlannedOperator,
  PlannedToolOperator,
  PlanningProblem,
  PlanningWorker,
  ToolPool,
} from "./planning-problem.js";
import { PlanningError } from "./planning-problem.js";

/**
 * The estimator: statistics for the cost model from a compiled workflow and
 * sample query contexts (DESIGN §4 step 3). It consolidates the batch (what
 * coalesces, what prefix every request shares), counts tokens on a sample,
 * estimates what only run time knows (prompts that embed LLM outputs, output
 * lengths, tool latencies) with the documented defaults below, and attaches a
 * profile to every worker for every model (derived from the parameter count
 * in the model's name when the device profile does not list it).
 */

/** Defaults for what cannot be measured before running. */
export const ESTIMATOR_DEFAULTS = {
  /** Expected output length as a fraction of `max_tokens` (no measurement yet). */
  outputTokenFraction: 0.5,
  /** Tokens a tool result adds to a prompt that embeds it. */
  toolResultTokens: 64,
  /** Mean latency of a SQL call (embedded DuckDB on small tables). */
  sqlLatencyMs: 20,
  /** Mean latency of a processor call. */
  processorLatencyMs: 1,
  /** Mean latency of a live HTTP call (no latency declared). */
  liveHttpLatencyMs: 500,
  /** p95 / mean of tool latencies (Gamma with shape 4, the HTTP latency model). */
  p95OverMean: 1.94,
  /** Queries whose prompts are tokenized (the rest are only hashed for coalescing). */
  sampleSize: 128,
  pools: [
    { name: "sql", concurrency: 8 },
    { name: "http", concurrency: 64 },
    { name: "processor", concurrency: 2 },
  ] as readonly ToolPool[],
} as const;

/** Options of `estimateProblem`. */
export interface EstimateOptions {
  readonly workflow: CompiledWorkflow;
  /** Every query of the batch (contexts). */
  readonly queries: readonly QueryContext[];
  /** Workers with their device profiles (as given; derived model profiles are added to copies). */
  readonly workers: readonly PlanningWorker[];
  /** CPU pools (default: sql 8, http 64, processor 2). Tool operators run on the pool named after their kind. */
  readonly pools?: readonly ToolPool[];
  readonly outputTokenFraction?: number;
  /** Mean latency per tool operator id, overriding the defaults and `observed`. */
  readonly toolLatencyMs?: Readonly<Record<string, number>>;
  /**
   * What an earlier run of the workflow measured (`RunSummary.observed`): per LLM operator its
   * output tokens replace `outputTokenFraction`, its prompt tokens (as the engine counts them) the
   * sampled or template estimate, and the prompt tokens the engine's cache served beyond the shared
   * prefix the estimated batch sharing; per tool operator its mean call time the default latency.
   */
  readonly observed?: ObservedStatistics;
  readonly sampleSize?: number;
  /** Token counter (default: the LLaMA-2 vocabulary of `@halo/ir`). */
  readonly countTokens?: (text: string) => number;
}

/** The problem and what the estimator had to assume. */
export interface Estimate {
  readonly problem: PlanningProblem;
  readonly warnings: readonly string[];
  readonly consolidation: ConsolidatedBatch;
}

/**
 * Builds the planning problem of a batch. Throws `PlanningError` naming the
 * model and operator when a model has no profile and no parameter count in
 * its name, and when there are no queries or workers.
 */
export function estimateProblem(options: EstimateOptions): Estimate {
  const { workflow, queries } = options;
  if (queries.length === 0) throw new PlanningError(`workflow "${workflow.name}": no queries to plan`);
  if (options.workers.length === 0) throw new PlanningError("no workers: a plan needs at least one worker");
  const count = options.countTokens ?? countTokens;
  const warnings: string[] = [];
  const workers = withModelProfiles(workflow, options.workers, warnings);
  if (options.observed) checkObserved(workflow, options.observed, warnings);

  // Coalescing over the whole batch (hashing only); token counts over a sample.
  const full = consolidateBatch(workflow, queries, { countTokens: () => 0 });
  const sample = queries.slice(0, options.sampleSize ?? ESTIMATOR_DEFAULTS.sampleSize);
  const sampled = consolidateBatch(workflow, sample, { countTokens: count });
  const fullById = new Map(full.operators.map((entry) => [entry.operator, entry]));
  const sampledById = new Map(sampled.operators.map((entry) => [entry.operator, entry]));
  const fraction = options.outputTokenFraction ?? ESTIMATOR_DEFAULTS.outputTokenFraction;
  const producers = producerKinds(workflow);
  const fieldTokens = contextFieldTokens(sample, count);
  const outputTokensOf = new Map<string, number>();
  const pools = options.pools ?? ESTIMATOR_DEFAULTS.pools;
  const poolNames = new Set(pools.map((pool) => pool.name));
  const isInput = (id: string) => id === workflow.inputOperator;
  const unknownGroups = runTimeGroups(workflow, full.instances);

  const operators: PlannedOperator[] = [];
  for (const operator of workflow.operators) {
    if (operator.kind === "input") continue;
    const consolidation = fullById.get(operator.id)!;
    const parents = operator.parents.filter((parent) => !isInput(parent));
    const distinctRequests = distinctOf(consolidation, unknownGroups.count(operator.id));
    if (operator.kind === "llm") {
      const seen = observedLlmMeans(observedOperator(options.observed, operator.id));
      const outputTokens = Math.max(1, Math.round(seen?.outputTokens ?? operator.maxTokens * fraction));
      outputTokensOf.set(operator.id, outputTokens);
      const prefix = sampledById.get(operator.id)?.prefix;
      const staticTokens = prefix?.staticPrefixTokens ?? count(operator.prompt.staticPrefix);
      let commonTokens = 0;
      let suffixTokens: number;
      let sharedTokens: number;
      if (prefix && prefix.knownPrompts > 0 && prefix.distinctPrompts > 0) {
        commonTokens = prefix.commonPrefixTokens;
        suffixTokens = prefix.suffixTokens / prefix.distinctPrompts;
        sharedTokens = knownSharedTokens(consolidation.prefix, prefix);
      } else {
        const partTokens = operator.prompt.suffix.parts.map((part) =>
          templatePartTokens(part, producers, fieldTokens, outputTokensOf, count, workflow),
        );
        suffixTokens = partTokens.reduce((total, tokens) => total + tokens, 0);
        sharedTokens = runTimeSharedTokens(
          operator.prompt.suffix,
          partTokens,
          queries,
          producers,
          unknownGroups,
        );
        if (!seen)
          warnings.push(
            `operator "${operator.id}": prompts depend on run-time outputs; estimated ${Math.round(suffixTokens)} tokens each from its template`,
          );
      }
      const tokens = seen
        ? observedPromptTokens(seen, staticTokens + commonTokens)
        : {
            prefix: staticTokens + commonTokens,
            unique: Math.max(0, Math.round(suffixTokens - commonTokens)),
            shared: sharedTokens,
          };
      const uniquePromptTokens = tokens.unique;
      const batchSharedPromptTokens = Math.min(uniquePromptTokens, Math.round(tokens.shared));
      const planned: PlannedLlmOperator = {
        id: operator.id,
        kind: "llm",
        model: operator.model,
        parents,
        statistics: {
          instances: consolidation.instances,
          distinctRequests,
          sharedPrefixTokens: tokens.prefix,
          prefixKey: prefixKeyOf(operator.model, operator.prompt.staticPrefix),
          uniquePromptTokens,
          ...(batchSharedPromptTokens > 0 ? { batchSharedPromptTokens } : {}),
          outputTokens,
          ...(operator.outputFormat.type === "json" ? { structuredOutput: true } : {}),
          // No `inheritedContext`: the runtime never extends a parent's KV (executors cache keyed shared
          // prefixes, not finished sequences), so the cost model must not price reusing or migrating it.
        },
      };
      operators.push(planned);
      continue;
    }
    const latencyMs =
      options.toolLatencyMs?.[operator.id] ??
      observedToolLatencyMs(observedOperator(options.observed, operator.id)) ??
      defaultLatencyMs(operator);
    if (!poolNames.has(operator.kind)) {
      throw new PlanningError(
        `operator "${operator.id}": no CPU pool named "${operator.kind}" for ${operator.kind} tools`,
      );
    }
    const planned: PlannedToolOperator = {
      id: operator.id,
      kind: operator.kind,
      parents,
      pool: operator.kind,
      statistics: {
        instances: consolidation.instances,
        distinctRequests,
        latencyMeanMs: latencyMs,
        latencyP95Ms: latencyMs * ESTIMATOR_DEFAULTS.p95OverMean,
      },
    };
    operators.push(planned);
  }
  return {
    problem: { workflow: workflow.name, queryCount: queries.length, operators, workers, pools },
    warnings,
    consolidation: full,
  };
}

/** Warns where observed statistics do not match the workflow (another workflow, operators it lacks or of another kind). */
function checkObserved(workflow: CompiledWorkflow, observed: ObservedStatistics, warnings: string[]): void {
  if (observed.workflow !== workflow.name)
    warnings.push(
      `observed statistics are of workflow "${observed.workflow}", not "${workflow.name}": only operators of the same id and kind are used`,
    );
  const byId = new Map(workflow.operators.map((operator) => [operator.id, operator]));
  const unused: string[] = [];
  for (const [id, figures] of Object.entries(observed.operators)) {
    const operator = byId.get(id);
    if (!operator || operator.kind === "input" || (operator.kind === "llm") !== (figures.kind === "llm"))
      unused.push(id);
  }
  if (unused.length > 0)
    warnings.push(
      `observed statistics name operators this workflow does not have (or of another kind), ignored: ${unused.join(", ")}`,
    );
}

/**
 * An LLM operator's prompt tokens per request from an earlier run's measurement: the engine's
 * count replaces the estimate. The shared prefix keeps the estimate's count (its text is known;
 * only the run-time parts are guessed), at most what the cache served per item (the engine's
 * tokenizer may count the prefix shorter, and a batch's first item prefills it); the tokens the
 * cache served beyond the prefix are the tokens other requests of the batch share.
 */
function observedPromptTokens(
  seen: { readonly promptTokens: number; readonly cachedTokens: number },
  estimatedPrefixTokens: number,
): { prefix: number; unique: number; shared: number } {
  const prompt = Math.round(seen.promptTokens);
  const prefix = Math.round(
    Math.min(
      estimatedPrefixTokens,
      prompt,
      seen.cachedTokens > 0 ? seen.cachedTokens : Number.POSITIVE_INFINITY,
    ),
  );
  return { prefix, unique: prompt - prefix, shared: Math.max(0, seen.cachedTokens - prefix) };
}

/**
 * Distinct requests: known ones by key when the operator coalesces; the unknown ones
 * (`unknownGroups`: how many calls they make at run time) after them.
 */
function distinctOf(consolidation: OperatorConsolidation, unknownGroups: number): number {
  if (!consolidation.coalescable) return consolidation.instances;
  return Math.max(1, Math.min(consolidation.instances, consolidation.distinctRequests + unknownGroups));
}

/**
 * Per operator, the calls its requests known only at run time will make. When
 * the operator and every ancestor coalesce (LLM calls at temperature 0, SQL,
 * tools marked `coalesce`, pure processors), a request is a function of what
 * it reads: the query's input fields it names and its parents' outputs, and a
 * parent's output is a function of the parent's request — the runtime serves
 * identical requests once and hands the output to every consumer. So each
 * query's request gets an identity built from those (a known request's key,
 * an input field's value, recursively a parent's identity), and the operator
 * makes one call per distinct identity; otherwise one call per query.
 * Different identities may still meet at run time (two SQL statements with
 * the same result, say): this counts them apart.
 */
function runTimeGroups(workflow: CompiledWorkflow, batch: BatchInstances): RunTimeGroups {
  const byId = new Map(workflow.operators.map((operator) => [operator.id, operator]));
  const producerOf = new Map<string, string>();
  for (const operator of workflow.operators) {
    for (const output of operator.outputs) producerOf.set(output, operator.id);
    if (operator.kind === "sql") producerOf.set(operator.name, operator.id);
  }
  const inputFields = new Set(workflow.inputFields);
  const deterministic = new Map<string, boolean>();
  const isDeterministic = (id: string): boolean => {
    const known = deterministic.get(id);
    if (known !== undefined) return known;
    deterministic.set(id, false); // a cycle cannot occur in a compiled workflow; guards recursion anyway
    const operator = byId.get(id);
    const instances = batch.byOperator.get(id);
    const own =
      id === workflow.inputOperator || instances?.every((instance) => instance.coalescable) === true;
    const value = own && (operator?.parents ?? []).every(isDeterministic);
    deterministic.set(id, value);
    return value;
  };
  const contextKeys = batch.queries.map((query) => canonicalJson(query.context));
  // Identities are interned: an identity is a short string of numbers.
  const interned = new Map<string, number>();
  const intern = (text: string): string => {
    let id = interned.get(text);
    if (id === undefined) {
      id = interned.size;
      interned.set(text, id);
    }
    return `#${id}`;
  };
  const memo = new Map<string, string[]>();
  const outputOf = (id: string, query: number): string => {
    if (id === workflow.inputOperator) return `c:${contextKeys[query]}`;
    let identities = memo.get(id);
    if (!identities) {
      identities = [];
      memo.set(id, identities);
    }
    const known = identities[query];
    if (known !== undefined) return known;
    // Provisional while its parts are worked out: a loop feeding an operator its own output
    // (loops, scope reads) meets this, the whole context, instead of recursing for ever.
    identities[query] = `c:${contextKeys[query]}`;
    const instance = batch.byOperator.get(id)?.[query];
    let identity: string;
    if (!isDeterministic(id)) identity = `q:${query}`;
    else if (instance?.requestKey !== undefined) identity = `k:${instance.requestKey}`;
    else {
      const operator = byId.get(id)!;
      const parts = operator.parents
        .filter((parent) => parent !== workflow.inputOperator)
        .map((parent) => outputOf(parent, query));
      for (const name of operator.inputs) {
        const producer = producerOf.get(name);
        if (producer !== undefined && producer !== workflow.inputOperator)
          parts.push(outputOf(producer, query));
        else if (inputFields.has(name))
          parts.push(`i:${canonicalJson(batch.queries[query]!.context[name] ?? null)}`);
        else parts.push(`c:${contextKeys[query]}`); // a name of unknown origin: the whole context decides
      }
      identity = intern(`${id}\u0000${parts.join("\u0000")}`);
    }
    identities[query] = identity;
    return identity;
  };
  return {
    count: (id) => {
      const unknown: number[] = [];
      (batch.byOperator.get(id) ?? []).forEach((instance, query) => {
        if (instance.requestKey === undefined) unknown.push(query);
      });
      if (!isDeterministic(id)) return unknown.length;
      return new Set(unknown.map((query) => outputOf(id, query))).size;
    },
    outputOf,
  };
}

/** What the batch's queries share at run time (see `runTimeGroups`). */
interface RunTimeGroups {
  /** Calls an operator's requests known only at run time will make. */
  readonly count: (operator: string) => number;
  /** Identifies the output an operator gives query `query` (by index): equal identities, equal outputs. */
  readonly outputOf: (operator: string, query: number) => string;
}

/**
 * Per distinct request, the tokens of a run-time prompt that an earlier request has already
 * prefilled: the prompt's parts are laid out in template order, and queries whose leading parts
 * have equal values (the same literal text, input fields, or outputs of the same tool or LLM
 * request) share that much of the prompt. Counts, part by part, the distinct leading sequences
 * (what an engine's prefix cache must prefill) against every request's whole prompt.
 */
function runTimeSharedTokens(
  template: Template,
  partTokens: readonly number[],
  queries: readonly QueryContext[],
  producers: ReadonlyMap<string, { kind: Producer; operator: string }>,
  groups: RunTimeGroups,
): number {
  const ids = new Map<string, number>();
  let chains = queries.map(() => 0);
  let prefilled = 0;
  template.parts.forEach((part, position) => {
    if (part.kind === "ref") {
      const producer = producers.get(part.root);
      chains = chains.map((chain, query) => {
        const value =
          !producer || producer.kind === "input"
            ? `i:${canonicalJson(queries[query]!.context[part.root] ?? null)}`
            : groups.outputOf(producer.operator, query);
        const key = `${chain}\u0000${value}`;
        let id = ids.get(key);
        if (id === undefined) {
          id = ids.size + 1;
          ids.set(key, id);
        }
        return id;
      });
    }
    prefilled += new Set(chains).size * partTokens[position]!;
  });
  const requests = new Set(chains).size;
  const whole = partTokens.reduce((total, tokens) => total + tokens, 0) * requests;
  return requests > 0 ? Math.max(0, (whole - prefilled) / requests) : 0;
}

/**
 * Per distinct request, the tokens of known prompts (after their common prefix) that another
 * distinct prompt of the batch shares as a leading part, from the whole batch's prefix trie
 * (characters, converted at the sample's tokens per character).
 */
function knownSharedTokens(whole: PrefixStatistics | undefined, sample: PrefixStatistics): number {
  if (!whole || whole.distinctPrompts < 2 || whole.suffixChars <= 0 || sample.suffixChars <= 0) return 0;
  const sharedChars =
    whole.suffixChars - whole.uniqueSuffixChars - (whole.distinctPrompts - 1) * whole.commonPrefixChars;
  return Math.max(0, (sharedChars / whole.distinctPrompts) * (sample.suffixTokens / sample.suffixChars));
}

function defaultLatencyMs(operator: Operator): number {
  switch (operator.kind) {
    case "http":
      return operator.latency.mode === "padded"
        ? operator.latency.meanMs
        : operator.latency.mode === "sleep"
          ? operator.latency.ms
          : ESTIMATOR_DEFAULTS.liveHttpLatencyMs;
    case "sql":
      return ESTIMATOR_DEFAULTS.sqlLatencyMs;
    default:
      return ESTIMATOR_DEFAULTS.processorLatencyMs;
  }
}

/**
 * Copies of the workers whose profiles list every model the workflow uses,
 * deriving missing ones from the parameter count in the name (with a warning).
 */
function withModelProfiles(
  workflow: CompiledWorkflow,
  workers: readonly PlanningWorker[],
  warnings: string[],
): PlanningWorker[] {
  const llm = workflow.operators.filter((operator): operator is LlmOperator => operator.kind === "llm");
  const derivedNoted = new Set<string>();
  return workers.map((worker) => {
    const models = { ...worker.profile.models };
    for (const operator of llm) {
      if (Object.hasOwn(models, operator.model)) continue;
      // The workflow's quantization/dtype size the weights (a 70B AWQ model fits an 80 GiB device).
      for (const field of ["quantization", "dtype"] as const) {
        const value = operator[field];
        if (
          value !== undefined &&
          !isKnownWeightFormat(value, field) &&
          !derivedNoted.has(`${field}:${value}`)
        ) {
          derivedNoted.add(`${field}:${value}`);
          warnings.push(
            `operator "${operator.id}": ${field} "${value}" is not one model sizing knows (awq, gptq, int4, int8, fp8, bf16, fp16, fp32); the model is sized from its name`,
          );
        }
      }
      const derived = deriveModelProfile(worker.profile, operator.model, {
        weightBytesPerParameter: weightBytesPerParameter(operator),
      });
      if (!derived) {
        throw new PlanningError(
          `operator "${operator.id}": model "${operator.model}" has no profile on worker "${worker.id}" ` +
            `(${worker.profile.device}) and its name carries no parameter count to derive one from; ` +
            "add it to the device profile",
        );
      }
      models[operator.model] = derived;
      if (!derivedNoted.has(operator.model)) {
        derivedNoted.add(operator.model);
        warnings.push(
          `model "${operator.model}" (operator "${operator.id}") has no profile on ${worker.profile.device}; ` +
            `derived one from its parameter count (${(derived.parameterCount / 1e9).toFixed(1)}B, weights ${(derived.weightsBytes / 2 ** 30).toFixed(1)} GiB)`,
        );
      }
    }
    const profile: DeviceProfile = { ...worker.profile, models };
    return { ...worker, profile };
  });
}

type Producer = "input" | "llm" | "tool";

/** Which kind of operator produces each scope name (the last producer in workflow order wins). */
function producerKinds(workflow: CompiledWorkflow): Map<string, { kind: Producer; operator: string }> {
  const producers = new Map<string, { kind: Producer; operator: string }>();
  for (const operator of workflow.operators) {
    const kind: Producer = operator.kind === "input" ? "input" : operator.kind === "llm" ? "llm" : "tool";
    for (const output of operator.outputs) producers.set(output, { kind, operator: operator.id });
    if (operator.kind === "sql") producers.set(operator.name, { kind, operator: operator.id });
  }
  return producers;
}

/** Mean tokens of each context field over the sample (strings as is, other values as JSON). */
function contextFieldTokens(
  queries: readonly QueryContext[],
  count: (text: string) => number,
): Map<string, number> {
  const sums = new Map<string, number>();
  for (const query of queries) {
    for (const [field, value] of Object.entries(query.context)) {
      sums.set(field, (sums.get(field) ?? 0) + count(asText(value)));
    }
  }
  return new Map([...sums.entries()].map(([field, sum]) => [field, sum / Math.max(1, queries.length)]));
}

function asText(value: JsonValue): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Tokens of one part of a suffix template whose values are known only at run time: literal text, or an estimate per reference. */
function templatePartTokens(
  part: TemplatePart,
  producers: ReadonlyMap<string, { kind: Producer; operator: string }>,
  fieldTokens: ReadonlyMap<string, number>,
  outputTokensOf: ReadonlyMap<string, number>,
  count: (text: string) => number,
  workflow: CompiledWorkflow,
): number {
  if (part.kind === "text") return count(part.text);
  const producer = producers.get(part.root);
  if (!producer || producer.kind === "input") {
    return fieldTokens.get(part.root) ?? ESTIMATOR_DEFAULTS.toolResultTokens;
  }
  if (producer.kind === "llm") {
    const outputs =
      workflow.operators.find((operator) => operator.id === producer.operator)?.outputs.length ?? 1;
    return (
      (outputTokensOf.get(producer.operator) ?? ESTIMATOR_DEFAULTS.toolResultTokens) / Math.max(1, outputs)
    );
  }
  return ESTIMATOR_DEFAULTS.toolResultTokens;
}

/**
 * Synthetic query contexts for planning without data: `count` queries whose
 * every input field holds a distinct short text (`<field> <n>`), so nothing
 * coalesces by accident. Deterministic.
 */
export function syntheticQueries(workflow: CompiledWorkflow, count: number): QueryContext[] {
  return Array.from({ length: count }, (_, index) => ({
    id: `q${String(index + 1).padStart(5, "0")}`,
    context: Object.fromEntries(workflow.inputFields.map((field) => [field, `${field} ${index + 1}`])),
  }));
}
