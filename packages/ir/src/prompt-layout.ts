/**
 * Prompt layout: the order in which an LLM operator's prompt appends the
 * inputs its template does not place. Engines with a prefix cache (vLLM's
 * automatic prefix caching, SGLang's radix cache) reuse the KV of a prompt's
 * longest cached prefix, so an input many queries share (a tool result, a value
 * a processor or a lookup derived) is worth more early in the prompt than after
 * a per-query one (the question), which ends every prefix it precedes.
 *
 * - `shared-first` (graph dialect and builder default): the appended inputs are
 *   stably sorted by how widely their values are likely shared — constant tool
 *   results, then tool results, then values derived by tools and processors,
 *   then LLM outputs, then the query's own fields.
 * - `declared` (ops dialect default, and the opt-out): declared inputs in their
 *   order, then tool results — the layout before this existed.
 *
 * Inputs the prompt template references stay where the template puts them;
 * only the `name: value` lines appended after the template move, so the text
 * a user wrote is never rearranged. Both layouts hold the same lines, so a
 * model sees the same facts; its output may still differ, as with any change
 * of a prompt.
 */
import { deepFreeze } from "./canonical-json.js";
import { nameSources } from "./name-sources.js";
import { buildPromptParts } from "./prompt-assembly.js";
import { parseTemplate, templateRoots } from "./template.js";
import type { CompiledWorkflow, LlmOperator, Operator, PromptLayout } from "./types.js";
import { getOperator } from "./workflow-graph.js";

/** The layouts, as written in `prompt_layout` and `--prompt-layout`. */
export const PROMPT_LAYOUTS: readonly PromptLayout[] = ["shared-first", "declared"];

/**
 * How widely an input's values are likely shared across the queries of a
 * batch, most shared first (the `shared-first` order).
 */
export const SHARING_CLASSES = ["constant", "tool-result", "derived", "generated", "query"] as const;
export type SharingClass = (typeof SHARING_CLASSES)[number];

/** The layout a workflow of this dialect gets when its spec names none. */
export function defaultPromptLayout(dialect: CompiledWorkflow["dialect"]): PromptLayout {
  return dialect === "ops" ? "declared" : "shared-first";
}

/** Whether a text names a layout. */
export function isPromptLayout(value: string): value is PromptLayout {
  return (PROMPT_LAYOUTS as readonly string[]).includes(value);
}

function classOfProducer(producer: Operator): SharingClass {
  if (producer.kind === "input") return "query";
  if (producer.kind === "llm") return "generated";
  return "derived";
}

/**
 * The sharing class of each input of an LLM operator: a tool result of its own
 * db_queries / tool_calls is `constant` when its tool reads nothing, else
 * `tool-result`; any other name is classed by the operator that provides it
 * (followed through pass-through edges): the input node → `query`, an LLM →
 * `generated`, a tool or processor → `derived`; a loop's initial value → `constant`.
 */
export function sharingClasses(workflow: CompiledWorkflow, operatorId: string): Map<string, SharingClass> {
  const operator = getOperator(workflow, operatorId);
  const classes = new Map<string, SharingClass>();
  const toolResults = operator.kind === "llm" ? operator.toolResultInputs : [];
  const rank = (sharing: SharingClass) => SHARING_CLASSES.indexOf(sharing);
  // The class of `name` as `from` holds it: its own output, else whoever provided it to `from`.
  const heldBy = (from: Operator, name: string, depth: number): SharingClass =>
    !from.outputs.includes(name) && from.inputs.includes(name) && depth < workflow.operators.length
      ? classOf(from.id, name, depth + 1)
      : classOfProducer(from);
  const classOf = (id: string, name: string, depth: number): SharingClass => {
    const source = nameSources(workflow, id).find((entry) => entry.name === name);
    if (!source || source.kind === "constant") return "constant";
    if (source.kind === "input") return "query";
    const from = getOperator(workflow, source.from);
    if (source.kind !== "mapping")
      return heldBy(from, source.kind === "ancestor" ? source.field : name, depth);
    // A mapping is as shared as the least shared name it reads.
    const roots = templateRoots(parseTemplate(source.template));
    if (roots.length === 0) return "constant";
    return roots
      .map((root) =>
        source.rootSources?.[root] !== undefined
          ? heldBy(getOperator(workflow, source.rootSources[root]), root, depth)
          : heldBy(from, root, depth),
      )
      .reduce((least, next) => (rank(next) > rank(least) ? next : least));
  };
  for (const name of operator.inputs) {
    if (toolResults.includes(name)) {
      const tool = workflow.operators.find(
        (candidate) =>
          "owner" in candidate && candidate.owner === operatorId && candidate.outputs.includes(name),
      );
      classes.set(name, tool !== undefined && tool.inputs.length === 0 ? "constant" : "tool-result");
    } else {
      classes.set(name, classOf(operatorId, name, 0));
    }
  }
  return classes;
}

/** The inputs the prompt appends as `name: value` lines (those its template does not reference), in order. */
export function appendedInputs(
  operator: Pick<LlmOperator, "inputs" | "promptTemplate">,
  order: readonly string[] = operator.inputs,
): string[] {
  const referenced = operator.promptTemplate === undefined ? [] : templateRoots(operator.promptTemplate);
  return order.filter((name) => !referenced.includes(name));
}

/**
 * The order in which `layout` appends the inputs: `declared` keeps `inputs`;
 * `shared-first` sorts them stably by {@link SHARING_CLASSES} rank (an input
 * without a class counts as `query`).
 */
export function orderInputs(
  inputs: readonly string[],
  classes: ReadonlyMap<string, SharingClass>,
  layout: PromptLayout,
): string[] {
  if (layout === "declared") return [...inputs];
  const rank = (name: string) => SHARING_CLASSES.indexOf(classes.get(name) ?? "query");
  return inputs
    .map((name, position) => ({ name, position }))
    .sort((a, b) => rank(a.name) - rank(b.name) || a.position - b.position)
    .map((entry) => entry.name);
}

/** What `halo explain` shows of an operator's layout. */
export interface PromptLayoutExplanation {
  readonly layout: PromptLayout;
  /** The appended inputs in prompt order, each with its sharing class. */
  readonly appended: readonly { readonly name: string; readonly sharing: SharingClass }[];
  /** Inputs the template places itself: never moved. */
  readonly fixed: readonly string[];
  /** Whether the order differs from `declared`. */
  readonly reordered: boolean;
}

/** The layout of one LLM operator of a compiled workflow. */
export function explainPromptLayout(workflow: CompiledWorkflow, operatorId: string): PromptLayoutExplanation {
  const operator = getOperator(workflow, operatorId);
  if (operator.kind !== "llm") throw new Error(`operator "${operatorId}" is not an LLM operator`);
  const layout = operator.promptLayout ?? "declared";
  const classes = sharingClasses(workflow, operatorId);
  const declared = appendedInputs(operator);
  const ordered = appendedInputs(operator, orderInputs(operator.inputs, classes, layout));
  return {
    layout,
    appended: ordered.map((name) => ({ name, sharing: classes.get(name) ?? "query" })),
    fixed: operator.inputs.filter((name) => !declared.includes(name)),
    reordered: ordered.some((name, index) => declared[index] !== name),
  };
}

/**
 * The workflow with each LLM operator's prompt laid out: by `override` when
 * given (the `--prompt-layout` flag), else by the operator's own
 * `promptLayout`, else by `workflowDefault` (the graph's `prompt_layout`),
 * else by the dialect's default. Every LLM operator of the
 * result names its layout; the prompt's static prefix never changes (only
 * appended lines move), so prefix keys stay valid.
 */
export function withPromptLayout(
  workflow: CompiledWorkflow,
  override?: PromptLayout,
  workflowDefault?: PromptLayout,
): CompiledWorkflow {
  const fallback = workflowDefault ?? defaultPromptLayout(workflow.dialect);
  let changed = false;
  const operators = workflow.operators.map((operator): Operator => {
    if (operator.kind !== "llm") return operator;
    const layout = override ?? operator.promptLayout ?? fallback;
    const order = orderInputs(operator.inputs, sharingClasses(workflow, operator.id), layout);
    const prompt = buildPromptParts(operator.systemPrompt, operator.promptTemplate, order);
    if (layout === operator.promptLayout && prompt.suffix.text === operator.prompt.suffix.text)
      return operator;
    changed = true;
    return { ...operator, promptLayout: layout, prompt };
  });
  if (!changed) return workflow;
  return deepFreeze({ ...workflow, operators });
}
