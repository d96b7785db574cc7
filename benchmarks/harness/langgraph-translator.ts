/**
 * The `langgraph` peer of `halo bench`: a compiled Halo workflow translated
 * into a LangGraph.js `StateGraph`, as a LangGraph user would write the same
 * agentic workflow — one node per operator, one edge per dependency (a node
 * with several parents waits for all of them), LLM nodes calling a chat model,
 * tool nodes calling their database or API, and node caching on tool nodes
 * keyed by the tool's arguments. The translator only builds the graph: the LLM
 * and tool calls are injected, so the graph can run against any chat model
 * and client. Prompts, tool requests and output parsing reuse `@halo/ir`, so
 * that with greedy decoding every query's outputs can be compared with
 * `naive`'s; orchestration, batching and caching are LangGraph's own.
 */
import { performance } from "node:perf_hooks";
import {
  type CompiledWorkflow,
  type JsonObject,
  type JsonValue,
  type LlmOperator,
  type Operator,
  type OperatorRequest,
  PROMPT_FORMAT,
  type QueryContext,
} from "@halo/ir";
import {
  inputScope,
  operatorInputs,
  operatorScope,
  parseLlmOutput,
  renderOperatorRequest,
  requestKey,
  runProcessor,
  toolOutputs,
} from "@halo/ir/internal";
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { type BaseCache, InMemoryCache } from "@langchain/langgraph-checkpoint";

/** A rendered LLM request as a chat: system and user message, sampling and the output schema. */
export interface ChatRequest {
  readonly model: string;
  readonly system: string;
  readonly user: string;
  readonly maxTokens: number;
  readonly temperature: number;
  readonly topP: number;
  readonly seed: number;
  /** JSON schema of the output (structured output), when the operator asks for JSON. */
  readonly jsonSchema?: JsonObject;
}

/** Token usage an OpenAI-compatible server reports for one completion. */
export interface ChatUsage {
  readonly promptTokens: number;
  readonly cachedPromptTokens: number;
  readonly completionTokens: number;
}

/** What the graph's nodes call: the LLM and the tools. */
export interface LanggraphCalls {
  /** One chat completion; resolves to the generated text. */
  chat(request: ChatRequest, operator: LlmOperator): Promise<{ text: string; usage?: ChatUsage }>;
  sql(request: Extract<OperatorRequest, { kind: "sql" }>): Promise<JsonValue>;
  /** `seed`: the request's latency seed (padded HTTP waits the same time for the same call in every system). */
  http(request: Extract<OperatorRequest, { kind: "http" }>, seed: string): Promise<JsonValue>;
}

/** Options of the translation. */
export interface LanggraphTranslationOptions {
  /** Node caching on tool nodes (`cachePolicy` + the graph's cache), as a careful user sets it (default true). */
  readonly cacheTools?: boolean;
  /** The cache (default a fresh `InMemoryCache`). */
  readonly cache?: BaseCache;
  /** The clock of the timings (default `performance.now()`). */
  readonly nowMs?: () => number;
}

/** One operator's run inside a query (ms on the translation's clock). */
export interface LanggraphOperatorTiming {
  readonly startMs: number;
  readonly endMs: number;
}

/** A query's graph input. */
export interface LanggraphQueryInput {
  readonly queryId: string;
  readonly context: JsonObject;
}

/** What one query of the batch left: its outputs (as a Halo record has them) and timings. */
export interface LanggraphQueryRecord {
  readonly id: string;
  readonly ok: boolean;
  readonly outputs: JsonObject;
  /** Operators whose node ran (tool nodes served from the cache did not run). */
  readonly operators: Readonly<Record<string, LanggraphOperatorTiming>>;
  readonly startMs?: number;
  readonly endMs?: number;
  readonly error?: string;
}

/** Counters of one translated graph's runs. */
export interface LanggraphCounters {
  llmCalls: number;
  toolCalls: number;
  promptTokens: number;
  cachedPromptTokens: number;
  completionTokens: number;
}

/** The compiled graph and what reads its results. */
export interface TranslatedWorkflow {
  /** The compiled LangGraph (a `Pregel` runnable): `invoke`, `batch`, `stream`. */
  readonly graph: CompiledLanggraph;
  /** Node name of each operator. */
  readonly nodeNames: ReadonlyMap<string, string>;
  readonly counters: LanggraphCounters;
  /** The graph inputs of a batch of queries. */
  inputsOf(queries: readonly QueryContext[]): LanggraphQueryInput[];
  /** A query's record from its graph result (or the error `batch` returned for it). */
  recordOf(query: QueryContext, result: unknown): LanggraphQueryRecord;
}

/** The parts of a compiled LangGraph this module uses. */
export interface CompiledLanggraph {
  invoke(input: LanggraphQueryInput, config?: Record<string, unknown>): Promise<unknown>;
  batch(
    inputs: LanggraphQueryInput[],
    config?: Record<string, unknown>,
    batchOptions?: { returnExceptions?: boolean },
  ): Promise<unknown[]>;
}

type Results = Record<string, JsonObject>;

/** The retries of tool nodes: those of `@halo/runtime`'s default policy (LLM calls: ChatOpenAI's own). */
const TOOL_RETRY_POLICY = {
  maxAttempts: 3,
  initialInterval: 100,
  backoffFactor: 2,
  maxInterval: 2_000,
  logWarning: false,
};

const mergeResults = (left: Results, right: Results): Results => ({ ...left, ...right });

/** The graph state: the query and, per finished operator, its outputs. */
const GraphState = Annotation.Root({
  queryId: Annotation<string>(),
  context: Annotation<JsonObject>(),
  results: Annotation<Results>({ reducer: mergeResults, default: () => ({}) }),
});
type State = typeof GraphState.State;

/** The user message of an LLM operator's prompt: Halo's prompt text between the user and assistant headers. */
export function chatRequestOf(
  operator: LlmOperator,
  request: Extract<OperatorRequest, { kind: "llm" }>,
): ChatRequest {
  const text = request.prefix + request.suffix;
  const lead = `${PROMPT_FORMAT.systemHeader}${operator.systemPrompt}${PROMPT_FORMAT.userHeader}`;
  if (!text.startsWith(lead) || !text.endsWith(PROMPT_FORMAT.assistantHeader)) {
    throw new Error(`operator "${operator.id}": its prompt is not in the system/user/assistant format`);
  }
  return {
    model: request.model,
    system: operator.systemPrompt,
    user: text.slice(lead.length, text.length - PROMPT_FORMAT.assistantHeader.length),
    maxTokens: request.maxTokens,
    temperature: request.temperature,
    topP: request.topP,
    seed: request.seed,
    ...(request.jsonSchema ? { jsonSchema: request.jsonSchema } : {}),
  };
}

/**
 * The seed of an HTTP call's padded latency: its request key with the URL's
 * origin left out (the data API's port differs between runs), as the runtime
 * computes it, so every system waits the same time for the same call.
 */
export function httpLatencySeed(request: Extract<OperatorRequest, { kind: "http" }>): string {
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return requestKey(request);
  }
  return requestKey({ ...request, url: `${url.pathname}${url.search}` });
}

/**
 * The most nodes one LangGraph superstep runs for one query: a node runs in
 * the step after its last parent, so the steps are the workflow's
 * topological generations. LangGraph.js (1.7.3) applies a run's
 * `maxConcurrency` to the tasks of each step as well, and with fewer slots
 * than tasks it ends the run early, returning an incomplete state without an
 * error — so a batch's `maxConcurrency` must be at least this.
 */
export function widestStep(workflow: CompiledWorkflow): number {
  return Math.max(1, ...workflow.levels.map((level) => level.length));
}

/** A node name for every operator (LangGraph forbids names equal to state keys and a few characters). */
function nodeNamesOf(workflow: CompiledWorkflow): Map<string, string> {
  const names = new Map<string, string>();
  const taken = new Set(["queryId", "context", "results", START, END]);
  for (const operator of workflow.operators) {
    let name = `op_${operator.id.replace(/[|:]/g, "_")}`;
    while (taken.has(name)) name = `${name}_`;
    taken.add(name);
    names.set(operator.id, name);
  }
  return names;
}

/** Translates a compiled workflow into a compiled LangGraph `StateGraph` over `calls`. */
export function translateWorkflow(
  workflow: CompiledWorkflow,
  calls: LanggraphCalls,
  options: LanggraphTranslationOptions = {},
): TranslatedWorkflow {
  const nowMs = options.nowMs ?? (() => performance.now());
  const operators = new Map(workflow.operators.map((operator) => [operator.id, operator]));
  const nodeNames = nodeNamesOf(workflow);
  const counters: LanggraphCounters = {
    llmCalls: 0,
    toolCalls: 0,
    promptTokens: 0,
    cachedPromptTokens: 0,
    completionTokens: 0,
  };
  // Timings are kept beside the state, not in it: a cached node's writes must not carry another query's times.
  const timings = new Map<string, Record<string, LanggraphOperatorTiming>>();
  const queryStarts = new Map<string, number>();
  // Per query, the scope of each finished operator (its inputs, then its outputs), derived from the state.
  const scopeMemo = new Map<string, Map<string, JsonObject>>();

  const scopeOf = (state: State, operatorId: string): JsonObject => {
    let memo = scopeMemo.get(state.queryId);
    if (!memo) {
      memo = new Map();
      scopeMemo.set(state.queryId, memo);
    }
    const known = memo.get(operatorId);
    if (known) return known;
    const outputs = state.results[operatorId];
    if (!outputs) throw new Error(`operator "${operatorId}" has not finished`);
    const scope =
      operatorId === workflow.inputOperator ? outputs : operatorScope(inputsOf(state, operatorId), outputs);
    memo.set(operatorId, scope);
    return scope;
  };
  const inputsOf = (state: State, operatorId: string): JsonObject => {
    const parents = new Map<string, JsonObject>();
    for (const parent of operators.get(operatorId)!.parents) parents.set(parent, scopeOf(state, parent));
    return operatorInputs(workflow, operatorId, parents);
  };
  const requestOf = (state: State, operator: Operator): OperatorRequest =>
    renderOperatorRequest(operator, inputsOf(state, operator.id));
  const timed = async (state: State, operatorId: string, work: () => Promise<JsonObject>) => {
    const startMs = nowMs();
    const outputs = await work();
    let perQuery = timings.get(state.queryId);
    if (!perQuery) {
      perQuery = {};
      timings.set(state.queryId, perQuery);
    }
    perQuery[operatorId] = { startMs, endMs: nowMs() };
    return { results: { [operatorId]: outputs } };
  };

  const builder = new StateGraph(GraphState);
  // The builder's types track node names statically; this graph's names come from the workflow.
  const graph = builder as unknown as {
    addNode(
      name: string,
      action: (state: State) => Promise<Partial<State>> | Partial<State>,
      options?: {
        cachePolicy?: { keyFunc?: (args: unknown[]) => string };
        retryPolicy?: typeof TOOL_RETRY_POLICY;
      },
    ): void;
    addEdge(from: string | string[], to: string): void;
    compile(options: { cache?: BaseCache }): CompiledLanggraph;
  };

  for (const operator of workflow.operators) {
    const name = nodeNames.get(operator.id)!;
    switch (operator.kind) {
      case "input":
        graph.addNode(name, (state) => {
          queryStarts.set(state.queryId, nowMs());
          return { results: { [operator.id]: inputScope(workflow, state.context) } };
        });
        break;
      case "llm":
        graph.addNode(name, (state) =>
          timed(state, operator.id, async () => {
            const request = requestOf(state, operator) as Extract<OperatorRequest, { kind: "llm" }>;
            counters.llmCalls += 1;
            const { text, usage } = await calls.chat(chatRequestOf(operator, request), operator);
            if (usage) {
              counters.promptTokens += usage.promptTokens;
              counters.cachedPromptTokens += usage.cachedPromptTokens;
              counters.completionTokens += usage.completionTokens;
            }
            return parseLlmOutput(operator, text);
          }),
        );
        break;
      default: {
        const run = async (state: State): Promise<JsonObject> => {
          const request = requestOf(state, operator);
          counters.toolCalls += 1;
          switch (request.kind) {
            case "processor":
              return runProcessor(operator as Extract<Operator, { kind: "processor" }>, request.inputs);
            case "sql":
              return toolOutputs(operator, await calls.sql(request));
            case "http":
              return toolOutputs(operator, await calls.http(request, httpLatencySeed(request)));
            default:
              throw new Error(`operator "${operator.id}" is not a tool`);
          }
        };
        // Cached by the tool's arguments (its canonical request), not by the whole state.
        const cachePolicy =
          options.cacheTools === false
            ? undefined
            : {
                keyFunc: (args: unknown[]) =>
                  `${operator.id}\u0000${requestKey(requestOf(args[0] as State, operator))}`,
              };
        graph.addNode(name, (state) => timed(state, operator.id, () => run(state)), {
          ...(cachePolicy ? { cachePolicy } : {}),
          // Failed tool calls are retried as Halo's runtime retries them (3 attempts, 100 ms doubling to 2 s).
          retryPolicy: TOOL_RETRY_POLICY,
        });
      }
    }
  }

  graph.addEdge(START, nodeNames.get(workflow.inputOperator)!);
  for (const operator of workflow.operators) {
    if (operator.kind === "input") continue;
    const parents = operator.parents.map((parent) => nodeNames.get(parent)!);
    // Several parents: LangGraph waits for all of them before the node runs.
    graph.addEdge(parents.length === 1 ? parents[0]! : parents, nodeNames.get(operator.id)!);
  }
  for (const operator of workflow.operators) {
    if (operator.children.length === 0) graph.addEdge(nodeNames.get(operator.id)!, END);
  }
  const compiled = graph.compile({ cache: options.cache ?? new InMemoryCache() });

  return {
    graph: compiled,
    nodeNames,
    counters,
    inputsOf: (queries) => queries.map((query) => ({ queryId: query.id, context: query.context })),
    recordOf(query, result) {
      const operatorsRan = timings.get(query.id) ?? {};
      const startMs = queryStarts.get(query.id);
      const ends = Object.values(operatorsRan).map((timing) => timing.endMs);
      const endMs = ends.length > 0 ? Math.max(...ends) : startMs;
      timings.delete(query.id);
      queryStarts.delete(query.id);
      scopeMemo.delete(query.id);
      const base = {
        id: query.id,
        operators: operatorsRan,
        ...(startMs === undefined ? {} : { startMs }),
        ...(endMs === undefined ? {} : { endMs }),
      };
      if (result instanceof Error || typeof result !== "object" || result === null) {
        return {
          ...base,
          ok: false,
          outputs: {},
          error: result instanceof Error ? result.message : "no result",
        };
      }
      const results = (result as Partial<State>).results ?? {};
      const outputs: JsonObject = {};
      for (const end of workflow.endOperators) Object.assign(outputs, results[end] ?? {});
      return { ...base, ok: true, outputs };
    },
  };
}
