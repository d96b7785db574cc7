/**
 * The compiled intermediate representation (IR) of a workflow: plain, frozen,
 * JSON-serializable data shared by the optimizer, the runtime and the CLI.
 * Both YAML dialects and the TS builder compile to this shape.
 */

/** Bumped whenever a field of the compiled IR changes meaning. */
export const IR_VERSION = 1 as const;

/** Any JSON value (what tools return and what query contexts hold). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object (a query context, an operator instance's scope). */
export type JsonObject = { [key: string]: JsonValue };

/** Where a spec element came from: a YAML path (`graph.nodes[3].db_queries[0].sql`) or a builder call. */
export interface SourceRef {
  /** File path, or `builder` for workflows built in code. */
  readonly file: string;
  /** YAML path (`graph.nodes[2].model`) or builder call (`inference("answer").model`). */
  readonly path: string;
  /** 1-based line and column in the file, when the element (or its nearest ancestor) has a position. */
  readonly line?: number;
  readonly column?: number;
}

/** One problem found while loading or validating a workflow. Validation reports all of them. */
export interface WorkflowProblem {
  /** Stable machine-readable code, e.g. `cycle`, `unknown-node-type`, `unbound-variable`. */
  readonly code: string;
  readonly message: string;
  readonly source: SourceRef;
}

/**
 * A `{{ name }}` / `{{ name.path }}` template. `parts` alternates literal text
 * and variable references; a template made of exactly one reference keeps the
 * referenced value's type when rendered (objects stay objects).
 */
export interface Template {
  readonly text: string;
  readonly parts: readonly TemplatePart[];
}

export type TemplatePart =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "ref"; readonly root: string; readonly path: readonly string[] };

export type OperatorKind = "input" | "llm" | "sql" | "http" | "processor";

interface OperatorBase {
  /** Unique operator id (node id; atomized tool operators get `<node>__<kind>__<name>`). */
  readonly id: string;
  readonly kind: OperatorKind;
  /** Names this operator reads from its scope, in declared order. */
  readonly inputs: readonly string[];
  /** Names this operator adds to its scope. */
  readonly outputs: readonly string[];
  /** Operator ids this one depends on (derived from edges; sorted). */
  readonly parents: readonly string[];
  /** Operator ids that depend on this one (sorted). */
  readonly children: readonly string[];
  /** Identical requests run once and serve every consumer. Always true for LLM with temperature 0 and for SQL. */
  readonly coalesce: boolean;
  /** For operators produced by unrolling a loop: the loop id and 1-based iteration. */
  readonly loop?: { readonly id: string; readonly iteration: number };
  /**
   * Inputs bound to constants before any edge applies (a loop's `initial`
   * values, in its first iteration); edges override them.
   */
  readonly constantInputs?: Readonly<Record<string, JsonValue>>;
  readonly source: SourceRef;
}

/** The query context: one instance per query; its outputs are the context's fields. */
export interface InputOperator extends OperatorBase {
  readonly kind: "input";
}

/** How an LLM operator's text output becomes its declared outputs. */
export type LlmOutputFormat =
  /** The whole text is the single declared output. */
  | { readonly type: "text" }
  /** The text is a JSON object with one string field per declared output; engines may enforce `schema` by grammar. */
  | { readonly type: "json"; readonly fields: readonly string[]; readonly schema: JsonObject };

/**
 * The prompt of an LLM operator split for prefix sharing: `staticPrefix` is the
 * same for every query (system prompt, constant lead text), `suffix` renders the
 * per-query part from the operator's scope.
 */
/** The order of the inputs a prompt appends (see `LlmOperator.promptLayout`). */
export type PromptLayout = "shared-first" | "declared";

export interface PromptParts {
  readonly staticPrefix: string;
  readonly suffix: Template;
}

export interface LlmOperator extends OperatorBase {
  readonly kind: "llm";
  readonly model: string;
  /** The `engine:` hint of the spec (`vllm`, `sglang`, …); the deployment decides. */
  readonly engineHint?: string;
  readonly systemPrompt: string;
  readonly promptTemplate?: Template;
  readonly maxTokens: number;
  readonly temperature: number;
  readonly topP: number;
  readonly seed: number;
  readonly outputFormat: LlmOutputFormat;
  readonly prompt: PromptParts;
  /** Names of tool results (atomized db_queries / tool_calls) appended to the prompt after `inputs`. */
  readonly toolResultInputs: readonly string[];
  /**
   * How the inputs the prompt template does not place are ordered (`prompt-layout.ts`):
   * `shared-first` puts inputs many queries share (tool results, derived values) before
   * per-query ones; `declared` (also when absent) keeps declared inputs, then tool results.
   */
  readonly promptLayout?: PromptLayout;
  /** The spec's `quantization` (`awq`, `gptq`, `int4`, `int8`, `fp8`, …): model sizing reads it. */
  readonly quantization?: string;
  /** The spec's weight `dtype` (`bf16`, `fp16`, …): model sizing reads it when there is no quantization. */
  readonly dtype?: string;
}

export interface SqlOperator extends OperatorBase {
  readonly kind: "sql";
  /** The db_queries entry name; its rows are available to consumers under this name. */
  readonly name: string;
  /** SQL text as written: `:name` parameters, `::type` casts and `%%` are left for the SQL tool. */
  readonly sql: string;
  readonly parameters: Readonly<Record<string, Template>>;
  readonly parameterTypes: Readonly<Record<string, string>>;
  /** The LLM operator whose db_queries / tool_calls declared it, if atomized. */
  readonly owner?: string;
}

/** Latency behaviour of an HTTP operator (DESIGN §3). */
export type HttpLatency =
  /** Real request, padded to a Gamma-distributed latency with this mean. */
  | { readonly mode: "padded"; readonly meanMs: number; readonly timeoutMs: number }
  /** Latency injection only: the URL is never contacted. */
  | { readonly mode: "sleep"; readonly ms: number }
  /** Live request with a timeout. */
  | { readonly mode: "live"; readonly timeoutMs: number };

export interface HttpOperator extends OperatorBase {
  readonly kind: "http";
  /** The URL as written (with any `{{ }}` left in). */
  readonly url: string;
  /** The URL's template when it has `{{ }}` (path and query only; the host is constant), rendered per query. */
  readonly urlTemplate?: Template;
  readonly method: string;
  readonly params: Readonly<Record<string, Template>>;
  readonly headers: Readonly<Record<string, Template>>;
  readonly body?: Template;
  readonly latency: HttpLatency;
  readonly owner?: string;
}

export interface ProcessorOperator extends OperatorBase {
  readonly kind: "processor";
  /** Registered processor name, e.g. `regex_param_extractor`. */
  readonly processor: string;
  readonly config: JsonObject;
  readonly owner?: string;
}

export type Operator = InputOperator | LlmOperator | SqlOperator | HttpOperator | ProcessorOperator;
export type ToolOperator = SqlOperator | HttpOperator | ProcessorOperator;

/**
 * A data dependency. The child's inputs named in `mapping` are rendered from
 * the parent's scope (its inputs and outputs; roots outside it from the
 * ancestors in `rootSources`); with no mapping, every name of the parent's
 * scope that the child declares as input passes through.
 */
export interface DataEdge {
  readonly from: string;
  readonly to: string;
  readonly mapping: Readonly<Record<string, Template>> | null;
  /**
   * Mapping roots outside the parent's scope and the ancestor operator whose
   * scope supplies each (the scope rule); that ancestor is also a parent of `to`.
   */
  readonly rootSources?: Readonly<Record<string, string>>;
  /**
   * True for an edge the scope rule added: the child reads a name (`mapping`
   * copies it) that this ancestor produces, with no spec edge providing it.
   */
  readonly implicit?: true;
  readonly source: SourceRef;
}

/** A validated, read-only workflow. Create with `loadWorkflow*` or the builder's `compile()`. */
export interface CompiledWorkflow {
  readonly irVersion: typeof IR_VERSION;
  readonly name: string;
  readonly description: string;
  readonly dialect: "graph" | "ops" | "builder";
  readonly source: string;
  /** Operators in a deterministic topological order. */
  readonly operators: readonly Operator[];
  readonly edges: readonly DataEdge[];
  /** Topological generations (graphology-dag), operator ids sorted within a level. */
  readonly levels: readonly (readonly string[])[];
  /** The input operator's id and the context fields every query must provide. */
  readonly inputOperator: string;
  readonly inputFields: readonly string[];
  /** Operators with no children other than the input: their outputs form a query's result. */
  readonly endOperators: readonly string[];
  /** Ops dialect only: the dataset the prototype read queries from (`dataset`, `name`, `column`). */
  readonly dataset?: { readonly name: string; readonly config?: string; readonly column: string };
}

/** The fully rendered request of one operator instance; its canonical key decides coalescing. */
export type OperatorRequest =
  | {
      readonly kind: "llm";
      readonly model: string;
      readonly prefixKey: string;
      readonly prefix: string;
      readonly suffix: string;
      readonly maxTokens: number;
      readonly temperature: number;
      readonly topP: number;
      readonly seed: number;
      readonly jsonSchema?: JsonObject;
    }
  | {
      readonly kind: "sql";
      readonly sql: string;
      readonly parameters: Readonly<Record<string, JsonValue>>;
      readonly parameterTypes: Readonly<Record<string, string>>;
    }
  | {
      readonly kind: "http";
      readonly url: string;
      readonly method: string;
      readonly params: Readonly<Record<string, string>>;
      readonly headers: Readonly<Record<string, string>>;
      readonly body?: string;
      readonly latency: HttpLatency;
    }
  | {
      readonly kind: "processor";
      readonly processor: string;
      readonly config: JsonObject;
      readonly inputs: JsonObject;
    };

/** One operator for one query. */
export interface OperatorInstance {
  readonly queryId: string;
  readonly operator: string;
  /** Known before running when every ancestor is the input or a pure processor; otherwise undefined. */
  readonly request?: OperatorRequest;
  /** Canonical request key (sha256 hex); undefined when the request is only known at run time. */
  readonly requestKey?: string;
  /** False for non-deterministic requests (temperature > 0, http without coalesce). */
  readonly coalescable: boolean;
}

/** A query of a batch: an id and its context (the input operator's outputs). */
export interface QueryContext {
  readonly id: string;
  readonly context: JsonObject;
}
