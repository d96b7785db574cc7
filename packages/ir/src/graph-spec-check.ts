/**
 * Checks a graph-dialect document element by element and builds one operator
 * per node (plus the atomized tool operators of inference nodes). Every problem
 * is collected with its path; nothing here throws on bad input.
 */

import { isJsonObject } from "./canonical-json.js";
import { findCycles } from "./cycle-finder.js";
import {
  type DbQuerySpec,
  edgeSpecSchema,
  graphDocumentSchema,
  type HttpFieldsSpec,
  type InferenceNodeSpec,
  loopSpecSchema,
  NODE_SCHEMAS,
  type NodeSpec,
  type NodeType,
  TOOL_CALL_SCHEMAS,
  type ToolCallSpec,
} from "./graph-spec-schema.js";
import { readHttpLatency } from "./http-latency.js";
import { errorMessage, type PathSegment, type ProblemCollector } from "./problems.js";
import { processorRegistry } from "./processors/processor-registry.js";
import { buildPromptParts, outputFormatFor, requestedJsonFields } from "./prompt-assembly.js";
import { parseSpecElement, parseSpecElementLeniently } from "./spec-parse.js";
import { sqlParameterNames } from "./sql-parameter-names.js";
import { literalTemplate, parseTemplate, TemplateSyntaxError, templateRoots } from "./template.js";
import type {
  HttpOperator,
  JsonObject,
  LlmOperator,
  Operator,
  ProcessorOperator,
  PromptLayout,
  SqlOperator,
  Template,
} from "./types.js";

/** Where each name an operator reads is first read in the spec (a declared input or a template). */
export type ReadPaths = Readonly<Record<string, readonly PathSegment[]>>;

/** A node that passed its checks: its operator (id = node id, no parents yet) and its atomized tools. */
export interface CheckedNode {
  readonly id: string;
  readonly type: NodeType;
  readonly path: readonly PathSegment[];
  readonly operator: Operator;
  readonly tools: readonly Operator[];
  /** The spec path of every name the node's operator reads (its `inputs`). */
  readonly reads: ReadPaths;
  /** The same for each atomized tool, by the tool's result name. */
  readonly toolReads: Readonly<Record<string, ReadPaths>>;
}

/** An edge (or loop feedback edge) with compiled mapping templates; null mapping passes names through. */
export interface CheckedEdge {
  readonly from: string;
  readonly to: string;
  readonly mapping: Readonly<Record<string, Template>> | null;
  readonly path: readonly PathSegment[];
}

export interface CheckedLoop {
  readonly id: string;
  readonly body: readonly string[];
  readonly iterations: number;
  readonly feedback: readonly CheckedEdge[];
  readonly initial: JsonObject;
  readonly path: readonly PathSegment[];
}

/** A graph document whose nodes, edges and loops all passed their checks. */
export interface CheckedGraph {
  readonly name: string;
  readonly description: string;
  readonly nodes: readonly CheckedNode[];
  readonly edges: readonly CheckedEdge[];
  readonly loops: readonly CheckedLoop[];
  readonly inputNode: string;
  /** The graph's `prompt_layout`, when written. */
  readonly promptLayout?: PromptLayout;
}

/** The id of an atomized tool operator. */
export function toolOperatorId(owner: string, kind: "sql" | "http" | "processor", name: string): string {
  return `${owner}__${kind}__${name}`;
}

/** What an operator's scope holds: its inputs and its outputs. */
export function scopeNames(operator: Pick<Operator, "inputs" | "outputs">): Set<string> {
  return new Set([...operator.inputs, ...operator.outputs]);
}

function isHttpUrl(text: string): boolean {
  try {
    const protocol = new URL(text).protocol;
    return protocol === "http:" || protocol === "https:";
  } catch {
    return false;
  }
}

function list(names: readonly string[]): string {
  return names.length === 0 ? "none" : names.join(", ");
}

/** Fields other checks depend on: a node with one of them wrong is not checked further. */
const STRUCTURAL_FIELDS = new Set([
  "inputs",
  "outputs",
  "db_queries",
  "tool_calls",
  "params",
  "headers",
  "parameters",
  "param_types",
  "config",
  "body",
  "prompt",
  "processor",
  "url",
]);

class GraphChecker {
  private readonly nodes = new Map<string, CheckedNode>();
  /** Ids of every node entry, including those whose checks failed (to avoid cascades). */
  private readonly allIds = new Map<string, number>();
  private readonly nodeTypes = new Map<string, string>();
  /** Node entries of type input, with or without a usable id. */
  private inputEntries = 0;
  /** Every name any node entry produces (outputs, tool result names), checked or not. */
  private readonly producedAnywhere = new Set<string>();
  /** Set when an entry's outputs are malformed: what is produced is unknown, so reads are not checked. */
  private producedUnknown = false;
  /** What every node entry reads, including entries with other problems (checked once all are known). */
  private readonly readsToCheck: { reader: string; reads: ReadPaths; toolCall: boolean }[] = [];

  constructor(
    private readonly collector: ProblemCollector,
    private readonly defaultName: string,
  ) {}

  check(value: unknown): CheckedGraph | undefined {
    const document = parseSpecElement(graphDocumentSchema, value, [], this.collector);
    if (!document) return undefined;
    const graph = document.graph;
    graph.nodes.forEach((node, index) => {
      this.checkNode(node, ["graph", "nodes", index]);
    });
    const edges: CheckedEdge[] = [];
    const pairs = new Map<string, number>();
    graph.edges.forEach((edge, index) => {
      const checked = this.checkEdge(edge, ["graph", "edges", index]);
      if (!checked) return;
      const pair = `${checked.from}\u0000${checked.to}`;
      const first = pairs.get(pair);
      if (first !== undefined) {
        this.collector.error(
          "duplicate-edge",
          `edge ${checked.from} → ${checked.to} is declared twice (first at graph.edges[${first}]); merge their mappings`,
          checked.path,
        );
        return;
      }
      pairs.set(pair, index);
      edges.push(checked);
    });
    const loops = this.checkLoops(graph.loops);
    // A name an edge mapping or a loop's initial values give is provided too (and passes on through
    // unmapped edges), whether or not a node outputs it.
    for (const edge of [...edges, ...loops.flatMap((loop) => loop.feedback)]) {
      for (const name of Object.keys(edge.mapping ?? {})) this.producedAnywhere.add(name);
    }
    for (const loop of loops) for (const name of Object.keys(loop.initial)) this.producedAnywhere.add(name);
    for (const raw of graph.edges) {
      const mapping = isJsonObject(raw) ? raw["mapping"] : undefined;
      if (isJsonObject(mapping)) for (const name of Object.keys(mapping)) this.producedAnywhere.add(name);
    }
    this.checkReadsProducedSomewhere(edges);
    this.checkCycles(edges);
    const inputNode = this.checkInputNode(graph.nodes.length);
    if (this.collector.errorCount > 0 || inputNode === undefined) return undefined;
    return {
      name: graph.name ?? this.defaultName,
      description: graph.description,
      nodes: [...this.nodes.values()],
      edges,
      loops,
      inputNode,
      ...(graph.prompt_layout === undefined ? {} : { promptLayout: graph.prompt_layout }),
    };
  }

  private checkNode(raw: unknown, path: PathSegment[]): void {
    if (!isJsonObject(raw)) {
      this.collector.error("invalid-value", "a node must be a mapping with id and type", path);
      return;
    }
    const id = typeof raw["id"] === "string" && raw["id"].length > 0 ? raw["id"] : undefined;
    this.noteProducedNames(raw);
    if (id !== undefined) {
      const first = this.allIds.get(id);
      if (first !== undefined) {
        this.collector.error("duplicate-id", `duplicate node id "${id}" (first at graph.nodes[${first}])`, [
          ...path,
          "id",
        ]);
        return;
      }
      this.allIds.set(id, path[2] as number);
      if (typeof raw["type"] === "string") this.nodeTypes.set(id, raw["type"]);
    }
    const type = raw["type"];
    if (type === "input") this.inputEntries += 1;
    if (type === undefined) {
      this.collector.error(
        "missing-field",
        `node ${JSON.stringify(id ?? "?")}: missing required field "type"`,
        [...path, "type"],
      );
      return;
    }
    if (typeof type !== "string" || !Object.hasOwn(NODE_SCHEMAS, type)) {
      this.collector.error(
        "unknown-node-type",
        `unknown node type ${JSON.stringify(type)} (expected one of ${Object.keys(NODE_SCHEMAS).join(", ")})`,
        [...path, "type"],
      );
      return;
    }
    const nodeType = type as NodeType;
    const label = `${nodeType} node ${JSON.stringify(id ?? "?")}`;
    const parsed = parseSpecElementLeniently<NodeSpec>(NODE_SCHEMAS[nodeType], raw, path, this.collector, {
      label,
      missingCode: (field) =>
        nodeType === "inference" && field.length === 1 && field[0] === "model"
          ? "missing-model"
          : "missing-field",
    });
    if (!parsed || id === undefined) return;
    // With stand-ins for wrong scalar fields, the node's other checks still run; it is never registered.
    if ([...parsed.brokenFields].some((field) => STRUCTURAL_FIELDS.has(field))) return;
    const spec = parsed.value;
    const before = parsed.brokenFields.size > 0 ? -1 : this.collector.errorCount;
    this.checkUnique(spec.inputs, [...path, "inputs"], `input of "${id}"`);
    this.checkUnique(spec.outputs, [...path, "outputs"], `output of "${id}"`);
    let built: { operator: Operator; tools: Operator[] } | undefined;
    const source = this.collector.locator.locate(path);
    const base = { id, inputs: spec.inputs, outputs: spec.outputs, parents: [], children: [], source };
    // Names read by templates but not declared as inputs: the scope rule resolves them at assembly.
    const implicit = new Map<string, PathSegment[]>();
    const toolReads: Record<string, ReadPaths> = {};
    const withImplicit = (declared: readonly string[]): string[] => [
      ...new Set([...declared, ...implicit.keys()]),
    ];
    switch (spec.type) {
      case "input":
        if (spec.inputs.length > 0) {
          this.collector.error(
            "invalid-value",
            `input node "${id}" takes no inputs; list the query fields under outputs`,
            [...path, "inputs"],
          );
        }
        built = { operator: { ...base, kind: "input", inputs: [], coalesce: false }, tools: [] };
        break;
      case "inference":
        built = this.buildInference(spec, path, base, implicit, toolReads);
        break;
      case "http": {
        const http = this.buildHttp(spec, path, new Set(spec.inputs), `"${id}"`, implicit);
        if (http)
          built = {
            operator: { ...base, inputs: withImplicit(spec.inputs), kind: "http", ...http },
            tools: [],
          };
        break;
      }
      case "processor":
        if (this.checkProcessor(spec.processor, spec.config, path)) {
          built = {
            operator: {
              ...base,
              kind: "processor",
              processor: spec.processor,
              config: spec.config,
              coalesce: spec.coalesce,
            },
            tools: [],
          };
        }
        break;
      case "db": {
        const sql = this.buildSql(spec, path, new Set(spec.inputs), `"${id}"`, implicit);
        if (sql) {
          built = {
            operator: {
              ...base,
              inputs: withImplicit(spec.inputs),
              kind: "sql",
              name: spec.outputs[0] as string,
              ...sql,
            },
            tools: [],
          };
        }
        break;
      }
    }
    const reads: Record<string, PathSegment[]> = {};
    spec.inputs.forEach((name, index) => {
      reads[name] ??= [...path, "inputs", index];
    });
    for (const [name, readPath] of implicit) reads[name] ??= readPath;
    if (spec.type !== "input") this.readsToCheck.push({ reader: `"${id}"`, reads, toolCall: false });
    for (const [tool, toolRead] of Object.entries(toolReads)) {
      this.readsToCheck.push({ reader: `tool "${tool}" of "${id}"`, reads: toolRead, toolCall: true });
    }
    if (built && this.collector.errorCount === before) {
      this.nodes.set(id, {
        id,
        type: nodeType,
        path,
        operator: built.operator,
        tools: built.tools,
        reads,
        toolReads,
      });
    }
  }

  private noteProducedNames(raw: JsonObject): void {
    const outputs = raw["outputs"];
    if (outputs !== undefined && !Array.isArray(outputs)) this.producedUnknown = true;
    for (const name of Array.isArray(outputs) ? outputs : []) {
      if (typeof name === "string") this.producedAnywhere.add(name);
      else this.producedUnknown = true;
    }
    for (const field of ["db_queries", "tool_calls"]) {
      const entries = raw[field];
      if (!Array.isArray(entries)) continue;
      for (const entry of entries) {
        if (isJsonObject(entry) && typeof entry["name"] === "string")
          this.producedAnywhere.add(entry["name"]);
      }
    }
  }

  /**
   * A name that no node of the document produces can never resolve, whatever
   * the edges: reported here, with the document's other problems (the scope
   * rule itself runs once the graph is whole).
   */
  private checkReadsProducedSomewhere(edges: readonly CheckedEdge[]): void {
    if (this.producedUnknown) return;
    const check = (reads: ReadPaths, reader: string, toolCall: boolean): void => {
      for (const [name, path] of Object.entries(reads)) {
        if (this.producedAnywhere.has(name)) continue;
        const declared = !toolCall && path.length >= 2 && path[path.length - 2] === "inputs";
        this.collector.error(
          declared ? "unprovided-input" : "unbound-variable",
          `${reader} reads "${name}", which no node of the workflow produces (no output, tool result or input field has that name)`,
          [...path],
        );
      }
    };
    for (const entry of this.readsToCheck) check(entry.reads, entry.reader, entry.toolCall);
    for (const edge of edges) {
      for (const [key, template] of Object.entries(edge.mapping ?? {})) {
        const reads: Record<string, PathSegment[]> = {};
        for (const root of templateRoots(template)) reads[root] = [...edge.path, "mapping", key];
        check(reads, `the mapping of ${edge.from} → ${edge.to}`, true);
      }
    }
  }

  private checkUnique(names: readonly string[], path: PathSegment[], what: string): void {
    const seen = new Set<string>();
    names.forEach((name, index) => {
      if (seen.has(name))
        this.collector.error("duplicate-name", `duplicate ${what}: "${name}"`, [...path, index]);
      seen.add(name);
    });
  }

  private template(value: string | number | boolean, path: PathSegment[]): Template | undefined {
    if (typeof value !== "string") return literalTemplate(String(value));
    try {
      return parseTemplate(value);
    } catch (error) {
      const message = error instanceof TemplateSyntaxError ? error.message : errorMessage(error);
      this.collector.error("invalid-template", `invalid template: ${message}`, path);
      return undefined;
    }
  }

  /**
   * Compiles a record of templates whose roots must be in `allowed`, or, with
   * `implicit`, are recorded there (name → first path) for the scope rule.
   */
  private templates(
    record: Readonly<Record<string, string | number | boolean>>,
    path: PathSegment[],
    allowed: ReadonlySet<string>,
    owner: string,
    implicit?: Map<string, PathSegment[]>,
  ): Record<string, Template> {
    const compiled: Record<string, Template> = {};
    for (const [key, value] of Object.entries(record)) {
      const template = this.template(value, [...path, key]);
      if (!template) continue;
      this.checkRoots(template, allowed, [...path, key], owner, implicit);
      compiled[key] = template;
    }
    return compiled;
  }

  private checkRoots(
    template: Template,
    allowed: ReadonlySet<string>,
    path: PathSegment[],
    owner: string,
    implicit?: Map<string, PathSegment[]>,
  ): void {
    for (const root of templateRoots(template)) {
      if (allowed.has(root)) continue;
      if (implicit) {
        if (!implicit.has(root)) implicit.set(root, path);
      } else {
        this.collector.error(
          "unbound-variable",
          `${JSON.stringify(template.text)} reads "${root}", which is not an input of ${owner} (inputs: ${list([...allowed])})`,
          path,
        );
      }
    }
  }

  private checkProcessor(name: string, config: JsonObject, path: PathSegment[]): boolean {
    const definition = processorRegistry.get(name);
    if (!definition) {
      this.collector.error(
        "unknown-processor",
        `unknown processor "${name}" (registered: ${list(processorRegistry.names())})`,
        [...path, "processor"],
      );
      return false;
    }
    try {
      const problems = definition.validateConfig?.(config) ?? [];
      for (const problem of problems) {
        this.collector.error(problem.code, `processor "${name}": ${problem.message}`, [
          ...path,
          "config",
          ...problem.path,
        ]);
      }
      return problems.length === 0;
    } catch (error) {
      this.collector.error(
        "invalid-config",
        `processor "${name}" rejected its config: ${errorMessage(error)}`,
        [...path, "config"],
      );
      return false;
    }
  }

  private buildSql(
    spec: Pick<DbQuerySpec, "sql" | "parameters" | "param_types">,
    path: PathSegment[],
    allowed: ReadonlySet<string>,
    owner: string,
    implicit?: Map<string, PathSegment[]>,
  ): Pick<SqlOperator, "sql" | "parameters" | "parameterTypes" | "coalesce"> | undefined {
    const before = this.collector.errorCount;
    const parameters = this.templates(spec.parameters, [...path, "parameters"], allowed, owner, implicit);
    // Every `:name` must have a value: otherwise each query fails at this statement, after all upstream work.
    const missing = sqlParameterNames(spec.sql).filter((name) => !Object.hasOwn(spec.parameters, name));
    for (const name of missing) {
      this.collector.error(
        "missing-sql-parameter",
        `SQL of ${owner} uses :${name}, which has no value in parameters (parameters: ${list(Object.keys(spec.parameters))})`,
        [...path, "sql"],
      );
    }
    for (const name of Object.keys(spec.param_types)) {
      if (!Object.hasOwn(spec.parameters, name)) {
        this.collector.warn("unknown-field", `param_types names "${name}", which is not a parameter`, [
          ...path,
          "param_types",
          name,
        ]);
      }
    }
    if (this.collector.errorCount > before) return undefined;
    return { sql: spec.sql, parameters, parameterTypes: spec.param_types, coalesce: true };
  }

  private buildHttp(
    spec: HttpFieldsSpec,
    path: PathSegment[],
    allowed: ReadonlySet<string>,
    owner: string,
    implicit?: Map<string, PathSegment[]>,
  ):
    | Pick<
        HttpOperator,
        "url" | "urlTemplate" | "method" | "params" | "headers" | "body" | "latency" | "coalesce"
      >
    | undefined {
    const before = this.collector.errorCount;
    const latency = readHttpLatency(spec, path, this.collector);
    const url = spec.url ?? "";
    const urlTemplate = this.urlTemplate(url, [...path, "url"], owner);
    if (urlTemplate) this.checkRoots(urlTemplate, allowed, [...path, "url"], owner, implicit);
    const params = this.templates(spec.params, [...path, "params"], allowed, owner, implicit);
    const headers = this.templates(spec.headers, [...path, "headers"], allowed, owner, implicit);
    let body: Template | undefined;
    if (spec.body !== undefined) {
      body = this.template(spec.body, [...path, "body"]);
      if (body) this.checkRoots(body, allowed, [...path, "body"], owner, implicit);
    }
    if (!latency || this.collector.errorCount > before) return undefined;
    return {
      url,
      ...(urlTemplate === undefined ? {} : { urlTemplate }),
      method: spec.method,
      params,
      headers,
      ...(body === undefined ? {} : { body }),
      latency,
      coalesce: spec.coalesce,
    };
  }

  /**
   * Compiles a URL with `{{ }}` (undefined for a constant URL, which the latency
   * check validates): only its path and query may be templated, so the host is
   * known before the run and checked against the allowlist — validate and run agree.
   */
  private urlTemplate(url: string, path: PathSegment[], owner: string): Template | undefined {
    if (!url.includes("{{")) return undefined;
    const template = this.template(url, path);
    if (!template) return undefined;
    const lead = template.parts[0]?.kind === "text" ? template.parts[0].text : "";
    const origin = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]+[/?#]/.exec(lead)?.[0];
    if (origin === undefined || !isHttpUrl(origin)) {
      this.collector.error(
        "invalid-url",
        `URL of ${owner} templates its scheme or host (${JSON.stringify(url)}): {{ }} may only be in the path or query, so the host can be checked against --http-allow before the run`,
        path,
      );
      return undefined;
    }
    return template;
  }

  private buildInference(
    spec: InferenceNodeSpec,
    path: PathSegment[],
    base: Pick<Operator, "id" | "inputs" | "outputs" | "parents" | "children" | "source">,
    implicit: Map<string, PathSegment[]>,
    toolReads: Record<string, ReadPaths>,
  ): { operator: LlmOperator; tools: Operator[] } | undefined {
    const id = base.id;
    const declared = new Set(spec.inputs);
    const outputs = new Set(spec.outputs);
    const toolNames: string[] = [];
    const tools: Operator[] = [];
    const claimName = (name: string, namePath: PathSegment[]): void => {
      if (toolNames.includes(name)) {
        this.collector.error("duplicate-name", `"${id}" has two tool results named "${name}"`, namePath);
      } else if (declared.has(name) || outputs.has(name)) {
        this.collector.error(
          "duplicate-name",
          `tool result "${name}" of "${id}" has the name of one of its inputs or outputs`,
          namePath,
        );
      }
      toolNames.push(name);
    };
    spec.db_queries.forEach((query, index) => {
      const queryPath = [...path, "db_queries", index];
      claimName(query.name, [...queryPath, "name"]);
      // A statement reads its parameters' roots; the scope rule provides those the node does not declare.
      const reads = new Map<string, PathSegment[]>();
      const sql = this.buildSql(query, queryPath, new Set(), `"${id}"`, reads);
      toolReads[query.name] = Object.fromEntries(reads);
      if (!sql) return;
      const inputs = [...reads.keys()];
      tools.push({
        kind: "sql",
        id: toolOperatorId(id, "sql", query.name),
        name: query.name,
        ...sql,
        inputs,
        outputs: [query.name],
        parents: [],
        children: [],
        owner: id,
        source: this.collector.locator.locate(queryPath),
      });
    });
    spec.tool_calls.forEach((raw, index) => {
      const callPath = [...path, "tool_calls", index];
      const built = this.buildToolCall(raw, callPath, id, declared, claimName);
      if (built) {
        toolReads[built.name] = built.reads;
        if (built.operator) tools.push(built.operator);
      }
    });
    let promptTemplate: Template | undefined;
    if (spec.prompt !== undefined) {
      promptTemplate = this.template(spec.prompt, [...path, "prompt"]);
      if (promptTemplate) {
        this.checkRoots(
          promptTemplate,
          new Set([...spec.inputs, ...toolNames]),
          [...path, "prompt"],
          `"${id}"`,
          implicit,
        );
      }
    }
    const requested = requestedJsonFields(spec.system_prompt);
    if (requested !== undefined && [...requested].sort().join(",") !== [...spec.outputs].sort().join(",")) {
      this.collector.warn(
        "output-mismatch",
        `the system prompt asks for fields ${list(requested)} but the node declares outputs ${list(spec.outputs)}; the outputs are used`,
        [...path, "system_prompt"],
      );
    }
    const inputs = [...new Set([...spec.inputs, ...implicit.keys(), ...toolNames])];
    const operator: LlmOperator = {
      ...base,
      kind: "llm",
      inputs,
      model: spec.model,
      ...(spec.engine === undefined ? {} : { engineHint: spec.engine }),
      systemPrompt: spec.system_prompt,
      ...(promptTemplate === undefined ? {} : { promptTemplate }),
      maxTokens: spec.max_tokens,
      temperature: spec.temperature,
      topP: spec.top_p,
      seed: spec.seed,
      outputFormat: outputFormatFor(spec.system_prompt, spec.outputs),
      prompt: buildPromptParts(spec.system_prompt, promptTemplate, inputs),
      toolResultInputs: toolNames,
      ...(spec.prompt_layout === undefined ? {} : { promptLayout: spec.prompt_layout }),
      coalesce: spec.temperature === 0,
      ...(spec.quantization === undefined ? {} : { quantization: spec.quantization }),
      ...(spec.dtype === undefined ? {} : { dtype: spec.dtype }),
    };
    return { operator, tools };
  }

  private buildToolCall(
    raw: unknown,
    path: PathSegment[],
    owner: string,
    declared: ReadonlySet<string>,
    claimName: (name: string, path: PathSegment[]) => void,
  ): { name: string; operator: Operator | undefined; reads: ReadPaths } | undefined {
    if (!isJsonObject(raw)) {
      this.collector.error("invalid-value", "a tool call must be a mapping with name and type", path);
      return undefined;
    }
    const type = raw["type"];
    if (type === "input") this.inputEntries += 1;
    if (type === undefined) {
      this.collector.error("missing-field", 'tool call: missing required field "type"', [...path, "type"]);
      return undefined;
    }
    if (typeof type !== "string" || !Object.hasOwn(TOOL_CALL_SCHEMAS, type)) {
      this.collector.error(
        "unknown-node-type",
        `unknown tool call type ${JSON.stringify(type)} (expected one of ${Object.keys(TOOL_CALL_SCHEMAS).join(", ")})`,
        [...path, "type"],
      );
      return undefined;
    }
    const schema = TOOL_CALL_SCHEMAS[type as keyof typeof TOOL_CALL_SCHEMAS];
    const spec = parseSpecElement(schema as never, raw, path, this.collector, {
      label: `${type} tool call`,
    }) as ToolCallSpec | undefined;
    if (!spec) return undefined;
    claimName(spec.name, [...path, "name"]);
    const before = this.collector.errorCount;
    // Declared inputs of a tool call may come from any ancestor (the scope rule); its templates
    // read only those. Without `inputs`, a template reads any name and the scope rule provides it.
    const reads = new Map<string, PathSegment[]>();
    (spec.inputs ?? []).forEach((name, index) => {
      if (!reads.has(name)) reads.set(name, [...path, "inputs", index]);
    });
    const allowed = new Set(spec.inputs ?? []);
    const implicit = spec.inputs === undefined ? reads : undefined;
    const label = `tool call "${spec.name}" of "${owner}"`;
    const common = {
      outputs: [spec.name],
      parents: [],
      children: [],
      owner,
      source: this.collector.locator.locate(path),
    };
    let operator: Operator | undefined;
    if (spec.type === "http") {
      const http = this.buildHttp(spec, path, allowed, label, implicit);
      if (http) {
        const inputs = [...reads.keys()];
        operator = { ...common, kind: "http", id: toolOperatorId(owner, "http", spec.name), inputs, ...http };
      }
    } else if (spec.type === "db") {
      const sql = this.buildSql(spec, path, allowed, label, implicit);
      if (sql) {
        const inputs = [...reads.keys()];
        operator = {
          ...common,
          kind: "sql",
          id: toolOperatorId(owner, "sql", spec.name),
          name: spec.name,
          inputs,
          ...sql,
        };
      }
    } else if (this.checkProcessor(spec.processor, spec.config, path)) {
      const processor: ProcessorOperator = {
        ...common,
        kind: "processor",
        id: toolOperatorId(owner, "processor", spec.name),
        inputs: spec.inputs ?? [...declared],
        processor: spec.processor,
        config: spec.config,
        coalesce: spec.coalesce,
      };
      operator = processor;
      if (spec.inputs === undefined) {
        for (const name of declared) if (!reads.has(name)) reads.set(name, [...path, "processor"]);
      }
    }
    return {
      name: spec.name,
      operator: this.collector.errorCount > before ? undefined : operator,
      reads: Object.fromEntries(reads),
    };
  }

  private checkEdge(raw: unknown, path: PathSegment[]): CheckedEdge | undefined {
    const spec = parseSpecElement(edgeSpecSchema, raw, path, this.collector, { label: "edge" });
    if (!spec) return undefined;
    const before = this.collector.errorCount;
    for (const end of ["from", "to"] as const) {
      if (!this.allIds.has(spec[end])) {
        this.collector.error(
          "dangling-edge",
          `edge ${end === "from" ? "from" : "to"} unknown node "${spec[end]}" (nodes: ${list([...this.allIds.keys()])})`,
          [...path, end],
        );
      }
    }
    if (this.nodeTypes.get(spec.to) === "input") {
      this.collector.error(
        "edge-into-input",
        `edge into the input node "${spec.to}": the input node has no parents`,
        [...path, "to"],
      );
    }
    if (this.collector.errorCount > before) return undefined;
    return this.checkMapping(spec.from, spec.to, spec.mapping, path);
  }

  /** Checks an edge's mapping against the child's inputs and the parent's scope. */
  private checkMapping(
    from: string,
    to: string,
    mapping: Readonly<Record<string, string | number | boolean>> | null | undefined,
    path: PathSegment[],
  ): CheckedEdge | undefined {
    const child = this.nodes.get(to);
    if (!mapping || Object.keys(mapping).length === 0) return { from, to, mapping: null, path };
    const before = this.collector.errorCount;
    const compiled: Record<string, Template> = {};
    for (const [name, value] of Object.entries(mapping)) {
      const keyPath = [...path, "mapping", name];
      if (child && !child.operator.inputs.includes(name)) {
        this.collector.error(
          "unknown-mapping-target",
          `mapping sets "${name}", which is not an input of "${to}" (inputs: ${list(child.operator.inputs)})`,
          keyPath,
        );
        continue;
      }
      const template = this.template(value, keyPath);
      if (!template) continue;
      // Roots outside the parent's scope are resolved at assembly by the scope rule (nearest ancestor).
      compiled[name] = template;
    }
    if (this.collector.errorCount > before) return undefined;
    return { from, to, mapping: compiled, path };
  }

  private checkLoops(raws: readonly unknown[]): CheckedLoop[] {
    const loops: CheckedLoop[] = [];
    const loopIds = new Map<string, number>();
    const claimed = new Map<string, string>();
    raws.forEach((raw, index) => {
      const path: PathSegment[] = ["graph", "loops", index];
      let spec = parseSpecElement(loopSpecSchema, raw, path, this.collector, { label: "loop" });
      let broken = false;
      if (!spec && isJsonObject(raw)) {
        // Still check the body and feedback of a loop whose count (or another scalar) is wrong.
        const lenient = loopSpecSchema.safeParse({ ...raw, id: String(raw["id"] ?? index), iterations: 1 });
        spec = lenient.success ? lenient.data : undefined;
        broken = true;
      }
      if (!spec) return;
      const before = this.collector.errorCount;
      const firstIndex = loopIds.get(spec.id);
      if (firstIndex !== undefined) {
        this.collector.error(
          "duplicate-id",
          `duplicate loop id "${spec.id}" (first at graph.loops[${firstIndex}])`,
          [...path, "id"],
        );
        return;
      }
      loopIds.set(spec.id, index);
      const body = new Set<string>();
      spec.body.forEach((nodeId, position) => {
        const bodyPath = [...path, "body", position];
        if (!this.allIds.has(nodeId)) {
          this.collector.error("invalid-loop", `loop "${spec.id}" names unknown node "${nodeId}"`, bodyPath);
        } else if (this.nodeTypes.get(nodeId) === "input") {
          this.collector.error(
            "invalid-loop",
            `loop "${spec.id}" cannot repeat the input node "${nodeId}"`,
            bodyPath,
          );
        } else if (body.has(nodeId)) {
          this.collector.error("invalid-loop", `loop "${spec.id}" lists "${nodeId}" twice`, bodyPath);
        } else if (claimed.has(nodeId)) {
          this.collector.error(
            "invalid-loop",
            `"${nodeId}" is already in loop "${claimed.get(nodeId)}"; loops cannot share or nest nodes`,
            bodyPath,
          );
        }
        body.add(nodeId);
      });
      const feedback: CheckedEdge[] = [];
      spec.feedback.forEach((edge, position) => {
        const edgePath = [...path, "feedback", position];
        let ok = true;
        for (const end of ["from", "to"] as const) {
          if (!body.has(edge[end])) {
            this.collector.error(
              "invalid-loop",
              `feedback ${end} "${edge[end]}" is not in the body of loop "${spec.id}"`,
              [...edgePath, end],
            );
            ok = false;
          }
        }
        const checked = ok ? this.checkMapping(edge.from, edge.to, edge.mapping, edgePath) : undefined;
        if (checked) feedback.push(checked);
      });
      const targetInputs = new Set(
        feedback.flatMap((edge) => this.nodes.get(edge.to)?.operator.inputs ?? []),
      );
      for (const name of Object.keys(spec.initial)) {
        if (!targetInputs.has(name)) {
          this.collector.error(
            "invalid-loop",
            `initial value "${name}" is not an input of any feedback target of loop "${spec.id}"`,
            [...path, "initial", name],
          );
        }
      }
      if (broken || this.collector.errorCount > before) return;
      for (const nodeId of body) claimed.set(nodeId, spec.id);
      loops.push({
        id: spec.id,
        body: [...body],
        iterations: spec.iterations,
        feedback,
        initial: spec.initial as JsonObject,
        path,
      });
    });
    return loops;
  }

  private checkCycles(edges: readonly CheckedEdge[]): void {
    const successors = new Map<string, string[]>();
    for (const edge of edges) {
      const targets = successors.get(edge.from);
      if (targets) targets.push(edge.to);
      else successors.set(edge.from, [edge.to]);
    }
    for (const cycle of findCycles([...this.allIds.keys()], successors)) {
      // Reported at the edge that closes the cycle: of its edges, the one written last in the spec.
      let closing: CheckedEdge | undefined;
      for (let step = 0; step + 1 < cycle.length; step += 1) {
        const position = edges.findIndex((edge) => edge.from === cycle[step] && edge.to === cycle[step + 1]);
        if (position >= 0 && (closing === undefined || position > edges.indexOf(closing)))
          closing = edges[position];
      }
      const closedBy = closing ? ` (closed by the edge ${closing.from} → ${closing.to})` : "";
      this.collector.error(
        "cycle",
        `cycle: ${cycle.join(" → ")}${closedBy}`,
        closing?.path ?? ["graph", "edges"],
      );
    }
  }

  private checkInputNode(nodeCount: number): string | undefined {
    const inputs = [...this.nodeTypes.entries()].filter(([, type]) => type === "input").map(([id]) => id);
    if (inputs.length === 0) {
      // An input node whose other fields are broken was reported already.
      if (this.inputEntries === 0 && (nodeCount > 0 || this.collector.errorCount === 0)) {
        this.collector.error("missing-input-node", "the workflow has no input node (type: input)", [
          "graph",
          "nodes",
        ]);
      }
      return undefined;
    }
    for (const extra of inputs.slice(1)) {
      this.collector.error(
        "multiple-input-nodes",
        `more than one input node: "${inputs[0]}" and "${extra}"; a workflow has exactly one`,
        ["graph", "nodes", this.allIds.get(extra) as number],
      );
    }
    return inputs[0];
  }
}

/** Checks a graph-dialect document; undefined when any problem was found (all are in the collector). */
export function checkGraphSpec(
  value: unknown,
  collector: ProblemCollector,
  defaultName: string,
): CheckedGraph | undefined {
  return new GraphChecker(collector, defaultName).check(value);
}
