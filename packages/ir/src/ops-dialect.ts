/**
 * The ops dialect mapped onto the graph dialect: one input node with one field
 * (`column`, default `text`) and one inference node per op whose system prompt
 * is the op's `prompt`; the query text and each parent's output (named after
 * the parent op) are appended to the user part. Problems found later in the
 * graph pipeline are reported at the ops paths they came from.
 */
import { isJsonObject } from "./canonical-json.js";
import { type OpSpec, opSpecSchema, opsDocumentSchema } from "./ops-spec-schema.js";
import type { PathSegment, ProblemCollector, SourceLocator } from "./problems.js";
import { parseSpecElement } from "./spec-parse.js";
import type { CompiledWorkflow, SourceRef } from "./types.js";

/** The graph-dialect document an ops document stands for, and how to map its paths back. */
export interface OpsTranslation {
  readonly document: { readonly graph: Record<string, unknown> };
  readonly dataset?: CompiledWorkflow["dataset"];
  /** A locator for the graph pipeline that reports problems at the ops paths they came from. */
  readonly locator: SourceLocator;
}

const FIELD_NAMES: Readonly<Record<string, string>> = { system_prompt: "prompt", inputs: "input_ops" };

/** Translates an ops document; undefined (problems in the collector) when its own shape is wrong. */
export function translateOpsDocument(
  value: unknown,
  collector: ProblemCollector,
  defaultName: string,
): OpsTranslation | undefined {
  const document = parseSpecElement(opsDocumentSchema, value, [], collector);
  if (!document) return undefined;
  const ops = new Map<string, OpSpec>();
  const before = collector.errorCount;
  for (const [id, raw] of Object.entries(document.ops)) {
    const spec = parseSpecElement(opSpecSchema, raw ?? {}, ["ops", id], collector, {
      label: `op "${id}"`,
      missingCode: (path) => (path[0] === "model" ? "missing-model" : "missing-field"),
    });
    if (spec) ops.set(id, spec);
    if (id === document.column) {
      collector.error("duplicate-name", `op "${id}" has the name of the query column`, ["ops", id]);
    }
  }
  if (Object.keys(document.ops).length === 0) collector.error("invalid-value", "ops is empty", ["ops"]);
  const known = new Set(Object.keys(document.ops));
  const checkRefs = (refs: readonly string[], path: PathSegment[]): void => {
    refs.forEach((ref, index) => {
      if (!known.has(ref)) collector.error("dangling-edge", `unknown op "${ref}"`, [...path, index]);
    });
  };
  checkRefs(document.start_ops, ["start_ops"]);
  checkRefs(document.end_ops, ["end_ops"]);
  // Links are checked on every op, including those whose other fields are wrong.
  for (const [id, raw] of Object.entries(document.ops)) {
    for (const field of ["input_ops", "output_ops"] as const) {
      const refs = isJsonObject(raw) ? raw[field] : undefined;
      if (Array.isArray(refs)) {
        checkRefs(
          refs.filter((ref): ref is string => typeof ref === "string"),
          ["ops", id, field],
        );
      }
    }
  }
  if (collector.errorCount > before) return undefined;

  // Parents of each op: its input_ops plus every op listing it in output_ops (both are accepted).
  const parents = new Map<string, { parent: string; path: PathSegment[] }[]>();
  for (const [id, spec] of ops) {
    const list = parents.get(id) ?? [];
    spec.input_ops.forEach((parent, index) => {
      if (!list.some((entry) => entry.parent === parent))
        list.push({ parent, path: ["ops", id, "input_ops", index] });
    });
    parents.set(id, list);
  }
  for (const [id, spec] of ops) {
    spec.output_ops.forEach((child, index) => {
      const list = parents.get(child) ?? [];
      if (!list.some((entry) => entry.parent === id)) {
        collector.warn(
          "inconsistent-ops-links",
          `"${id}" lists "${child}" in output_ops but "${child}" does not list "${id}" in input_ops; the link is kept`,
          ["ops", id, "output_ops", index],
        );
        list.push({ parent: id, path: ["ops", id, "output_ops", index] });
        parents.set(child, list);
      }
    });
    for (const entry of parents.get(id) ?? []) {
      const parentSpec = ops.get(entry.parent);
      if (parentSpec && !parentSpec.output_ops.includes(id) && entry.path[2] === "input_ops") {
        collector.warn(
          "inconsistent-ops-links",
          `"${id}" lists "${entry.parent}" in input_ops but "${entry.parent}" does not list "${id}" in output_ops; the link is kept`,
          entry.path,
        );
      }
    }
  }
  document.start_ops.forEach((id, index) => {
    if ((parents.get(id) ?? []).length > 0) {
      collector.warn("inconsistent-ops-links", `start op "${id}" has input ops`, ["start_ops", index]);
    }
  });
  document.end_ops.forEach((id, index) => {
    if ((ops.get(id)?.output_ops ?? []).length > 0) {
      collector.warn("inconsistent-ops-links", `end op "${id}" has output ops`, ["end_ops", index]);
    }
  });

  let inputId = "input";
  for (let suffix = 1; known.has(inputId); suffix += 1) inputId = `input_${suffix}`;
  const nodePaths: PathSegment[][] = [["column"]];
  const nodes: Record<string, unknown>[] = [{ id: inputId, type: "input", outputs: [document.column] }];
  const edgePaths: PathSegment[][] = [];
  const edges: Record<string, unknown>[] = [];
  for (const [id, spec] of ops) {
    const opParents = parents.get(id) ?? [];
    warnUnfilledPlaceholders(id, spec.prompt, collector);
    nodePaths.push(["ops", id]);
    nodes.push({
      id,
      type: "inference",
      model: spec.model,
      system_prompt: spec.prompt,
      max_tokens: spec.max_tokens,
      temperature: spec.temperature,
      ...(spec.quantization === undefined ? {} : { quantization: spec.quantization }),
      ...(spec.dtype === undefined ? {} : { dtype: spec.dtype }),
      inputs: [document.column, ...opParents.map((entry) => entry.parent)],
      outputs: [id],
    });
    if (opParents.length === 0) {
      edges.push({ from: inputId, to: id });
      edgePaths.push(["ops", id]);
    }
    for (const entry of opParents) {
      edges.push({ from: entry.parent, to: id });
      edgePaths.push(entry.path);
    }
  }

  const translate = (segments: readonly PathSegment[]): PathSegment[] => {
    if (segments[0] !== "graph") return [...segments];
    const [, section, index, field, ...rest] = segments;
    if (typeof index !== "number") return [];
    if (section === "nodes") {
      const base = nodePaths[index] ?? [];
      if (field === undefined) return [...base];
      return [...base, FIELD_NAMES[String(field)] ?? field, ...rest];
    }
    if (section === "edges") return [...(edgePaths[index] ?? [])];
    return [];
  };
  const base = collector.locator;
  const locator: SourceLocator = {
    file: base.file,
    locate: (segments): SourceRef => base.locate(translate(segments)),
  };
  return {
    document: {
      graph: {
        name: defaultName,
        description:
          document.description ?? (document.dataset ? `ops workflow over ${document.dataset}` : ""),
        nodes,
        edges,
      },
    },
    ...(document.dataset
      ? {
          dataset: {
            name: document.dataset,
            ...(document.name === undefined ? {} : { config: document.name }),
            column: document.column,
          },
        }
      : {}),
    locator,
  };
}

/** `{name}` placeholders (Python format style); `{{`, `}}` and JSON like `{ "a": 1 }` are not. */
const PLACEHOLDER = /(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})/g;

/**
 * The prototype sends an op's prompt as written (its worker uses it as the
 * system text; nothing formats it), so a `{name}` in it reaches the model
 * verbatim. Halo does the same and warns, naming them: the query text and the
 * parents' outputs are appended to the user part instead.
 */
function warnUnfilledPlaceholders(id: string, prompt: string, collector: ProblemCollector): void {
  const names = [...new Set([...prompt.matchAll(PLACEHOLDER)].map((match) => `{${match[1]}}`))];
  if (names.length === 0) return;
  collector.warn(
    "unfilled-placeholder",
    `the prompt of op "${id}" has ${names.join(", ")}, which nothing fills: the prompt is sent as written (as in the prototype); the query and the parent ops' outputs are appended after it`,
    ["ops", id, "prompt"],
  );
}

/** True when a parsed document looks like the ops dialect. */
export function isOpsDocument(value: unknown): boolean {
  return isJsonObject(value) && Object.hasOwn(value, "ops") && !Object.hasOwn(value, "graph");
}
