/**
 * What the runtime calls per query and operator: gather inputs from parent
 * scopes along the edges, render the request, key it for coalescing, and turn
 * tool results into outputs.
 */
import { canonicalOnce, sha256OfJson } from "./canonical-json.js";
import { renderPrompt } from "./prompt-assembly.js";
import { renderTemplate, renderTemplateText } from "./template.js";
import type {
  CompiledWorkflow,
  JsonObject,
  JsonValue,
  Operator,
  OperatorRequest,
  Template,
} from "./types.js";
import { getOperator, incomingEdges } from "./workflow-graph.js";

/** The input operator's scope for one query: its fields (absent fields are null). */
export function inputScope(workflow: CompiledWorkflow, context: JsonObject): JsonObject {
  const scope: JsonObject = {};
  for (const field of workflow.inputFields)
    scope[field] = Object.hasOwn(context, field) ? (context[field] ?? null) : null;
  return scope;
}

/** An operator instance's scope, which its children read: its inputs, then its outputs over them. */
export function operatorScope(inputs: JsonObject, outputs: JsonObject): JsonObject {
  return { ...inputs, ...outputs };
}

/**
 * Renders an operator's inputs from its parents' scopes (parent id → scope).
 * Constant inputs come first; pass-through edges (no mapping) copy the names
 * of the parent's scope the operator declares; mapped names are rendered from
 * the parent's scope and override pass-through values. Among edges of the same
 * kind, a later edge wins (loop feedback edges come after the spec's edges).
 */
export function operatorInputs(
  workflow: CompiledWorkflow,
  operatorId: string,
  parentScopes: ReadonlyMap<string, JsonObject>,
): JsonObject {
  const operator = getOperator(workflow, operatorId);
  const declared = new Set(operator.inputs);
  const passed: JsonObject = {};
  const mapped: JsonObject = {};
  for (const edge of incomingEdges(workflow, operatorId)) {
    const parentScope = parentScopes.get(edge.from);
    if (!parentScope)
      throw new Error(`operator "${operatorId}" needs the scope of its parent "${edge.from}"`);
    const scope = edge.rootSources
      ? withRootSources(parentScope, edge.rootSources, parentScopes)
      : parentScope;
    if (edge.mapping) {
      for (const [name, template] of Object.entries(edge.mapping)) {
        if (declared.has(name)) mapped[name] = renderTemplate(template, scope);
      }
    } else {
      for (const name of operator.inputs) if (Object.hasOwn(scope, name)) passed[name] = scope[name] ?? null;
    }
  }
  const merged: JsonObject = { ...operator.constantInputs, ...passed, ...mapped };
  const inputs: JsonObject = {};
  for (const name of operator.inputs) if (Object.hasOwn(merged, name)) inputs[name] = merged[name] ?? null;
  return inputs;
}

/** A parent's scope plus the mapping roots the scope rule takes from other ancestors (also parents). */
function withRootSources(
  parentScope: JsonObject,
  rootSources: Readonly<Record<string, string>>,
  parentScopes: ReadonlyMap<string, JsonObject>,
): JsonObject {
  const scope: JsonObject = { ...parentScope };
  for (const [root, producer] of Object.entries(rootSources)) {
    const source = parentScopes.get(producer);
    if (!source) throw new Error(`a mapping needs the scope of "${producer}", which is not a parent`);
    scope[root] = Object.hasOwn(source, root) ? (source[root] ?? null) : null;
  }
  return scope;
}

/** Prefix keys already computed: an operator's static prefix is the same for every query. */
const prefixKeys = new Map<string, string>();
const PREFIX_KEY_CACHE_SIZE = 1024;

/** The key a KV prefix is stored under: the model and the exact prefix text. */
export function prefixKeyOf(model: string, prefix: string): string {
  const cacheKey = `${model}\u0000${prefix}`;
  let key = prefixKeys.get(cacheKey);
  if (key === undefined) {
    key = sha256OfJson({ model, prefix });
    if (prefixKeys.size >= PREFIX_KEY_CACHE_SIZE) prefixKeys.clear();
    prefixKeys.set(cacheKey, key);
  }
  return key;
}

/** Renders the request of one operator instance from its inputs. The input operator has no request. */
export function renderRequest(
  workflow: CompiledWorkflow,
  operatorId: string,
  inputs: JsonObject,
): OperatorRequest {
  return renderOperatorRequest(getOperator(workflow, operatorId), inputs);
}

/** `renderRequest` for an operator already at hand. */
export function renderOperatorRequest(operator: Operator, inputs: JsonObject): OperatorRequest {
  switch (operator.kind) {
    case "llm": {
      const prompt = renderPrompt(operator, inputs);
      return {
        kind: "llm",
        model: operator.model,
        prefixKey: prefixKeyOf(operator.model, prompt.prefix),
        prefix: prompt.prefix,
        suffix: prompt.suffix,
        maxTokens: operator.maxTokens,
        temperature: operator.temperature,
        topP: operator.topP,
        seed: operator.seed,
        ...(operator.outputFormat.type === "json" ? { jsonSchema: operator.outputFormat.schema } : {}),
      };
    }
    case "sql": {
      const parameters: Record<string, JsonValue> = {};
      for (const [name, template] of Object.entries(operator.parameters))
        parameters[name] = renderTemplate(template, inputs);
      return { kind: "sql", sql: operator.sql, parameters, parameterTypes: operator.parameterTypes };
    }
    case "http": {
      const params: Record<string, string> = {};
      for (const [name, template] of Object.entries(operator.params))
        params[name] = renderTemplateText(template, inputs);
      const headers: Record<string, string> = {};
      for (const [name, template] of Object.entries(operator.headers))
        headers[name] = renderTemplateText(template, inputs);
      return {
        kind: "http",
        url: operator.urlTemplate ? renderUrl(operator.urlTemplate, inputs) : operator.url,
        method: operator.method,
        params,
        headers,
        ...(operator.body === undefined ? {} : { body: renderTemplateText(operator.body, inputs) }),
        latency: operator.latency,
      };
    }
    case "processor": {
      const own: JsonObject = {};
      for (const name of operator.inputs)
        own[name] = Object.hasOwn(inputs, name) ? (inputs[name] ?? null) : null;
      return { kind: "processor", processor: operator.processor, config: operator.config, inputs: own };
    }
    case "input":
      throw new Error(`the input operator "${operator.id}" has no request; its scope is the query context`);
  }
}

/** Renders a URL template; each value is percent-encoded so it stays one path or query component. */
function renderUrl(template: Template, inputs: JsonObject): string {
  let url = "";
  for (const part of template.parts) {
    url +=
      part.kind === "text"
        ? part.text
        : encodeURIComponent(renderTemplateText({ text: "", parts: [part] }, inputs));
  }
  return url;
}

/**
 * The canonical key of a request (sha256 of sorted-key JSON). LLM: model,
 * sampling, prefix, suffix, schema. SQL: text, bound parameters, types. HTTP:
 * method, URL, params, headers, body. Processor: name, config, inputs.
 */
export function requestKey(request: OperatorRequest): string {
  switch (request.kind) {
    case "llm":
      return sha256OfJson({
        kind: "llm",
        model: request.model,
        prefix: request.prefix,
        suffix: request.suffix,
        maxTokens: request.maxTokens,
        temperature: request.temperature,
        topP: request.topP,
        seed: request.seed,
        // The schema, types and config are the operator's, the same object in each of its requests.
        jsonSchema: request.jsonSchema === undefined ? null : canonicalOnce(request.jsonSchema),
      });
    case "sql":
      return sha256OfJson({
        kind: "sql",
        sql: request.sql,
        parameters: request.parameters,
        types: canonicalOnce(request.parameterTypes),
      });
    case "http":
      return sha256OfJson({
        kind: "http",
        method: request.method,
        url: request.url,
        params: request.params,
        headers: request.headers,
        body: request.body ?? null,
      });
    case "processor":
      return sha256OfJson({
        kind: "processor",
        processor: request.processor,
        config: canonicalOnce(request.config),
        inputs: request.inputs,
      });
  }
}

/**
 * Whether identical requests may run once for every consumer: LLM only with
 * temperature 0, SQL always, HTTP and processors when the node says `coalesce: true`.
 */
export function isCoalescable(operator: Operator, request: OperatorRequest): boolean {
  switch (request.kind) {
    case "llm":
      return request.temperature === 0;
    case "sql":
      return true;
    default:
      return operator.kind !== "input" && operator.coalesce;
  }
}

/**
 * A tool's outputs from its result (SQL rows, an HTTP body): one declared
 * output gets the whole result; several take the result object's fields of their names.
 */
export function toolOutputs(operator: Operator, result: JsonValue): JsonObject {
  const outputs: JsonObject = {};
  if (operator.outputs.length === 1) {
    outputs[operator.outputs[0] as string] = result;
    return outputs;
  }
  const fields = typeof result === "object" && result !== null && !Array.isArray(result) ? result : {};
  for (const name of operator.outputs)
    outputs[name] = Object.hasOwn(fields, name) ? (fields[name] ?? null) : null;
  return outputs;
}
