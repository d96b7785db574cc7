/**
 * Where each name an operator reads comes from, as the scope rule resolved it
 * (`halo explain` prints this per operator): an edge mapping written in the
 * spec, an unmapped edge passing a parent's scope through, an ancestor's output
 * found by the scope rule, the query's input fields, or a loop's initial value.
 */
import { templateRoots } from "./template.js";
import type { CompiledWorkflow, JsonObject, Template } from "./types.js";
import { getOperator, incomingEdges } from "./workflow-graph.js";

/** The provider of one name an operator reads. */
export type NameSource =
  /** An edge mapping of the spec: `template` rendered over `from`'s scope (roots outside it from `rootSources`). */
  | {
      readonly name: string;
      readonly kind: "mapping";
      readonly from: string;
      readonly template: string;
      readonly rootSources?: Readonly<Record<string, string>>;
    }
  /** An unmapped edge: the parent's scope (its inputs and outputs) passes the name through. */
  | { readonly name: string; readonly kind: "pass-through"; readonly from: string }
  /** The scope rule: the nearest ancestor (or the node's earlier loop iteration) whose output `field` it is. */
  | { readonly name: string; readonly kind: "ancestor"; readonly from: string; readonly field: string }
  /** The query context: a field of the input operator. */
  | { readonly name: string; readonly kind: "input"; readonly from: string; readonly field: string }
  /** A constant: a loop's `initial` value in its first iteration. */
  | { readonly name: string; readonly kind: "constant"; readonly value: JsonObject[string] };

function rootSourcesOf(
  template: Template,
  rootSources: Readonly<Record<string, string>> | undefined,
): { rootSources?: Readonly<Record<string, string>> } {
  const roots = new Set(templateRoots(template));
  const kept = Object.entries(rootSources ?? {}).filter(([root]) => roots.has(root));
  return kept.length === 0 ? {} : { rootSources: Object.fromEntries(kept) };
}

/** One entry per name in the operator's `inputs`, in order; the provider that wins at run time. */
export function nameSources(workflow: CompiledWorkflow, operatorId: string): NameSource[] {
  const operator = getOperator(workflow, operatorId);
  const constants = operator.constantInputs ?? {};
  const edges = incomingEdges(workflow, operatorId);
  return operator.inputs.map((name): NameSource => {
    // Mapped values override passed-through ones, which override constants; a later edge wins within a kind.
    let mapped: NameSource | undefined;
    let passed: NameSource | undefined;
    for (const edge of edges) {
      const template = edge.mapping?.[name];
      if (edge.mapping && template) {
        const field =
          template.parts.length === 1 && template.parts[0]?.kind === "ref" ? template.parts[0] : undefined;
        const simple = field !== undefined && field.root === name && field.path.length === 0;
        if (edge.implicit && simple) {
          mapped =
            edge.from === workflow.inputOperator
              ? { name, kind: "input", from: edge.from, field: name }
              : { name, kind: "ancestor", from: edge.from, field: name };
        } else {
          mapped = {
            name,
            kind: "mapping",
            from: edge.from,
            template: template.text,
            ...rootSourcesOf(template, edge.rootSources),
          };
        }
      } else if (edge.mapping === null) {
        const parent = getOperator(workflow, edge.from);
        if (parent.inputs.includes(name) || parent.outputs.includes(name)) {
          passed =
            parent.kind === "input"
              ? { name, kind: "input", from: edge.from, field: name }
              : { name, kind: "pass-through", from: edge.from };
        }
      }
    }
    return mapped ?? passed ?? { name, kind: "constant", value: constants[name] ?? null };
  });
}

/** `nameSources` as short text: `search_keyword ← keyword_planner.search_keyword (nearest ancestor)`. */
export function describeNameSource(source: NameSource): string {
  switch (source.kind) {
    case "mapping": {
      const via = source.rootSources
        ? `; ${Object.entries(source.rootSources)
            .map(([root, from]) => `${root} from ${from}.${root}`)
            .join(", ")}`
        : "";
      return `${source.name} ← mapping ${source.template} on the edge from ${source.from}${via}`;
    }
    case "pass-through":
      return `${source.name} ← ${source.from}.${source.name} (edge without mapping)`;
    case "ancestor":
      return `${source.name} ← ${source.from}.${source.field} (nearest ancestor)`;
    case "input":
      return `${source.name} ← input ${source.from}.${source.field}`;
    case "constant":
      return `${source.name} ← constant ${JSON.stringify(source.value)} (loop initial value)`;
  }
}
