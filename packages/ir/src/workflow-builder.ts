/**
 * The typed TS builder: `workflow(name).input(…).inference(…).edge(…)
 * .validate().compile()`. It writes the equivalent graph-dialect document and
 * compiles it with the same checks, so both produce the same IR; problems name
 * the builder call (`inference("answer").dbQueries[0].parameters.date`).
 */
import { formatYamlPath, type PathSegment, type SourceLocator, WorkflowValidationError } from "./problems.js";
import type { CompiledWorkflow, JsonObject, JsonValue, WorkflowProblem } from "./types.js";
import { compileWithLocator, type LoadResult } from "./workflow-loader.js";

/** A templated value: `"{{ name.path }}"` text, or a constant. */
export type TemplateInput = string | number | boolean;

interface NodeOptionsBase {
  readonly description?: string;
  readonly engine?: string;
  readonly inputs?: readonly string[];
  readonly outputs: readonly string[];
}

/** `input` node: the fields every query provides. */
export interface InputOptions {
  readonly outputs: readonly string[];
  readonly description?: string;
}

/** SQL fields (`db` nodes, `dbQueries` entries, `db` tool calls). */
export interface SqlOptions {
  readonly sql: string;
  readonly parameters?: Readonly<Record<string, TemplateInput>>;
  readonly paramTypes?: Readonly<Record<string, string>>;
}

/** HTTP fields and latency mode (`http` nodes and `http` tool calls). */
export interface HttpRequestOptions {
  readonly url?: string;
  readonly method?: string;
  readonly params?: Readonly<Record<string, TemplateInput>>;
  readonly headers?: Readonly<Record<string, TemplateInput>>;
  readonly body?: string;
  readonly latencyS?: number;
  readonly latencyMs?: number;
  readonly sleepS?: number;
  readonly sleepMs?: number;
  readonly timeoutS?: number;
  readonly timeoutMs?: number;
  readonly coalesce?: boolean;
}

/** Processor fields (`processor` nodes and `processor` tool calls). */
export interface ProcessorFieldsOptions {
  readonly processor: string;
  readonly config?: JsonObject;
  readonly coalesce?: boolean;
}

export interface DbQueryOptions extends SqlOptions {
  readonly name: string;
}

/** A tool call of an inference node; its result is available to the prompt under `name`. */
export type ToolCallOptions =
  | ({
      readonly type: "http";
      readonly name: string;
      readonly inputs?: readonly string[];
    } & HttpRequestOptions)
  | ({ readonly type: "db"; readonly name: string; readonly inputs?: readonly string[] } & SqlOptions)
  | ({
      readonly type: "processor";
      readonly name: string;
      readonly inputs?: readonly string[];
    } & ProcessorFieldsOptions);

export interface InferenceOptions extends NodeOptionsBase {
  readonly model: string;
  readonly systemPrompt?: string;
  readonly prompt?: string;
  readonly maxTokens?: number;
  readonly temperature?: number;
  readonly topP?: number;
  readonly seed?: number;
  /** Weight quantization (`awq`, `gptq`, `int4`, `int8`, `fp8`); sizes the model. */
  readonly quantization?: string;
  /** Weight dtype (`bf16`, `fp16`, …) when not quantized. */
  readonly dtype?: string;
  readonly dbQueries?: readonly DbQueryOptions[];
  readonly toolCalls?: readonly ToolCallOptions[];
}

export interface HttpOptions extends NodeOptionsBase, HttpRequestOptions {}
export interface ProcessorOptions extends NodeOptionsBase, ProcessorFieldsOptions {}
export interface DbOptions extends NodeOptionsBase, SqlOptions {}

export interface LoopEdgeOptions {
  readonly from: string;
  readonly to: string;
  readonly mapping?: Readonly<Record<string, TemplateInput>>;
}

export interface LoopOptions {
  readonly id: string;
  readonly body: readonly string[];
  readonly iterations: number;
  readonly feedback?: readonly LoopEdgeOptions[];
  readonly initial?: Readonly<Record<string, JsonValue>>;
  readonly description?: string;
}

/** Builder option names → spec field names. */
const SPEC_NAMES: Readonly<Record<string, string>> = {
  systemPrompt: "system_prompt",
  maxTokens: "max_tokens",
  topP: "top_p",
  dbQueries: "db_queries",
  toolCalls: "tool_calls",
  paramTypes: "param_types",
  latencyS: "latency_s",
  latencyMs: "latency_ms",
  sleepS: "sleep_s",
  sleepMs: "sleep_ms",
  timeoutS: "timeout_s",
  timeoutMs: "timeout_ms",
};
const BUILDER_NAMES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(SPEC_NAMES).map(([builder, spec]) => [spec, builder]),
);

function toSpecKeys(options: object): Record<string, unknown> {
  const spec: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const name = SPEC_NAMES[key] ?? key;
    spec[name] =
      (name === "db_queries" || name === "tool_calls") && Array.isArray(value)
        ? value.map((entry) => (typeof entry === "object" && entry !== null ? toSpecKeys(entry) : entry))
        : value;
  }
  return spec;
}

/** Builds a workflow in code. Methods return the builder; `compile()` returns the read-only IR. */
export class WorkflowBuilder {
  private readonly nodes: { readonly call: string; readonly spec: Record<string, unknown> }[] = [];
  private readonly edges: { readonly call: string; readonly spec: Record<string, unknown> }[] = [];
  private readonly loops: { readonly call: string; readonly spec: Record<string, unknown> }[] = [];

  constructor(
    readonly name: string,
    private readonly options: { readonly description?: string } = {},
  ) {}

  private node(method: string, id: string, type: string, options: object): this {
    this.nodes.push({ call: `${method}(${JSON.stringify(id)})`, spec: { id, type, ...toSpecKeys(options) } });
    return this;
  }

  /** The input node: every query's context provides `outputs`. */
  input(id: string, options: InputOptions): this {
    return this.node("input", id, "input", options);
  }

  /** An LLM call; `dbQueries` and `toolCalls` are atomized into tool operators feeding it. */
  inference(id: string, options: InferenceOptions): this {
    return this.node("inference", id, "inference", options);
  }

  /** An HTTP call with one latency mode (`latencyMs`, `sleepMs` or live with `timeoutMs`). */
  http(id: string, options: HttpOptions): this {
    return this.node("http", id, "http", options);
  }

  /** A registered local processor, e.g. `regex_param_extractor`. */
  processor(id: string, options: ProcessorOptions): this {
    return this.node("processor", id, "processor", options);
  }

  /** A standalone SQL statement with `:name` parameters. */
  db(id: string, options: DbOptions): this {
    return this.node("db", id, "db", options);
  }

  /** A data dependency; `mapping` renders the child's inputs from the parent's scope (else pass-through). */
  edge(from: string, to: string, mapping?: Readonly<Record<string, TemplateInput>>): this {
    this.edges.push({
      call: `edge(${JSON.stringify(from)}, ${JSON.stringify(to)})`,
      spec: { from, to, ...(mapping === undefined ? {} : { mapping }) },
    });
    return this;
  }

  /** A bounded loop over `body`, unrolled into `iterations` copies. */
  loop(options: LoopOptions): this {
    this.loops.push({ call: `loop(${JSON.stringify(options.id)})`, spec: toSpecKeys(options) });
    return this;
  }

  /** The equivalent graph-dialect document (what a YAML file would hold). */
  toSpec(): { readonly graph: Record<string, unknown> } {
    return {
      graph: {
        name: this.name,
        ...(this.options.description === undefined ? {} : { description: this.options.description }),
        nodes: this.nodes.map((node) => node.spec),
        edges: this.edges.map((edge) => edge.spec),
        ...(this.loops.length === 0 ? {} : { loops: this.loops.map((loop) => loop.spec) }),
      },
    };
  }

  /** Compiles without throwing: the workflow, or every problem. */
  check(): LoadResult {
    return compileWithLocator(structuredClone(this.toSpec()), this.locator(), { dialect: "builder" });
  }

  /** Every problem (empty when the workflow is valid). */
  problems(): readonly WorkflowProblem[] {
    const result = this.check();
    return result.ok ? [] : result.problems;
  }

  /** Throws a `WorkflowValidationError` listing every problem; returns the builder when valid. */
  validate(): this {
    const problems = this.problems();
    if (problems.length > 0) throw new WorkflowValidationError(problems);
    return this;
  }

  /** The compiled, read-only workflow; throws a `WorkflowValidationError` listing every problem. */
  compile(): CompiledWorkflow {
    const result = this.check();
    if (!result.ok) throw new WorkflowValidationError(result.problems);
    return result.workflow;
  }

  private locator(): SourceLocator {
    const root = `workflow(${JSON.stringify(this.name)})`;
    const describe = (segments: readonly PathSegment[]): string => {
      const [top, section, index, ...rest] = segments;
      const renamed = rest.map((segment) =>
        typeof segment === "string" ? (BUILDER_NAMES[segment] ?? segment) : segment,
      );
      const tail = renamed.length === 0 ? "" : formatYamlPath(renamed).replace(/^(?=[A-Za-z_])/, ".");
      if (top !== "graph" || section === undefined) return root;
      const entries =
        section === "nodes"
          ? this.nodes
          : section === "edges"
            ? this.edges
            : section === "loops"
              ? this.loops
              : undefined;
      const entry = entries && typeof index === "number" ? entries[index] : undefined;
      if (!entry) return `${root}.${String(BUILDER_NAMES[String(section)] ?? section)}`;
      return `${entry.call}${tail}`;
    };
    return { file: "builder", locate: (segments) => ({ file: "builder", path: describe(segments) }) };
  }
}

/** Starts a workflow in code. */
export function workflow(name: string, options: { readonly description?: string } = {}): WorkflowBuilder {
  return new WorkflowBuilder(name, options);
}
