/**
 * What `halo explain` knows about a workflow before running it: operators by
 * kind and model, edges, topological levels, static prompt prefixes, and — with
 * queries — instances, coalescing groups and prefix sharing. Built once as plain
 * data, then rendered as text, Mermaid or JSON (a plan section can be added the same way).
 */
import type { ConsolidatedBatch, OperatorConsolidation } from "./batch-consolidation.js";
import { describeNameSource, type NameSource, nameSources } from "./name-sources.js";
import { explainPromptLayout, type PromptLayoutExplanation } from "./prompt-layout.js";
import { countTokens } from "./token-count.js";
import type { CompiledWorkflow, HttpLatency, OperatorKind, WorkflowProblem } from "./types.js";

export interface ExplainedOperator {
  readonly id: string;
  readonly kind: OperatorKind;
  readonly level: number;
  readonly parents: readonly string[];
  readonly children: readonly string[];
  readonly coalesce: boolean;
  readonly model?: string;
  readonly maxTokens?: number;
  readonly temperature?: number;
  readonly outputFormat?: "text" | "json";
  readonly staticPrefixChars?: number;
  readonly staticPrefixTokens?: number;
  readonly processor?: string;
  readonly latency?: HttpLatency;
  readonly owner?: string;
  readonly loop?: { readonly id: string; readonly iteration: number };
  /** Where each name the operator reads comes from (the scope rule: mapping, pass-through, ancestor, input). */
  readonly reads: readonly NameSource[];
  /** LLM operators: the prompt layout and the order of the lines it appends. */
  readonly promptLayout?: PromptLayoutExplanation;
}

export interface ExplainedBatch {
  readonly queryFile: string;
  readonly queryCount: number;
  readonly totals: ConsolidatedBatch["totals"];
  readonly operators: readonly OperatorConsolidation[];
}

/** The explanation of a workflow (and optionally a batch), as data. */
export interface WorkflowExplanation {
  /** The one-line summary `halo validate` prints. */
  readonly summary: string;
  readonly workflow: {
    readonly name: string;
    readonly description: string;
    readonly dialect: CompiledWorkflow["dialect"];
    readonly source: string;
    readonly inputOperator: string;
    readonly inputFields: readonly string[];
    readonly endOperators: readonly string[];
    readonly operatorsByKind: Readonly<Partial<Record<OperatorKind, number>>>;
  };
  readonly operators: readonly ExplainedOperator[];
  readonly models: readonly { readonly model: string; readonly operators: readonly string[] }[];
  readonly levels: readonly (readonly string[])[];
  readonly edges: readonly {
    readonly from: string;
    readonly to: string;
    readonly mapping: Readonly<Record<string, string>> | null;
    /** Added by the scope rule (an ancestor's output read with no spec edge providing it). */
    readonly implicit?: true;
  }[];
  readonly warnings: readonly WorkflowProblem[];
  readonly batch?: ExplainedBatch;
}

const KIND_ORDER: readonly OperatorKind[] = ["input", "processor", "sql", "http", "llm"];

/** Builds the explanation; `batch` adds the query-dependent section. */
export function explainWorkflow(
  workflow: CompiledWorkflow,
  options: {
    readonly warnings?: readonly WorkflowProblem[];
    readonly batch?: { readonly queryFile: string; readonly consolidated: ConsolidatedBatch };
  } = {},
): WorkflowExplanation {
  const levelOf = new Map<string, number>();
  workflow.levels.forEach((level, index) => {
    for (const id of level) levelOf.set(id, index);
  });
  const operatorsByKind: Partial<Record<OperatorKind, number>> = {};
  const models = new Map<string, string[]>();
  const operators = workflow.operators.map((operator): ExplainedOperator => {
    operatorsByKind[operator.kind] = (operatorsByKind[operator.kind] ?? 0) + 1;
    const common = {
      id: operator.id,
      kind: operator.kind,
      level: levelOf.get(operator.id) ?? 0,
      parents: operator.parents,
      children: operator.children,
      coalesce: operator.coalesce,
      reads: operator.kind === "input" ? [] : nameSources(workflow, operator.id),
      ...(operator.loop ? { loop: operator.loop } : {}),
      ...("owner" in operator && operator.owner !== undefined ? { owner: operator.owner } : {}),
    };
    switch (operator.kind) {
      case "llm":
        models.set(operator.model, [...(models.get(operator.model) ?? []), operator.id]);
        return {
          ...common,
          model: operator.model,
          maxTokens: operator.maxTokens,
          temperature: operator.temperature,
          outputFormat: operator.outputFormat.type,
          staticPrefixChars: operator.prompt.staticPrefix.length,
          staticPrefixTokens: countTokens(operator.prompt.staticPrefix),
          promptLayout: explainPromptLayout(workflow, operator.id),
        };
      case "processor":
        return { ...common, processor: operator.processor };
      case "http":
        return { ...common, latency: operator.latency };
      default:
        return common;
    }
  });
  return {
    summary: summaryLine(workflow),
    workflow: {
      name: workflow.name,
      description: workflow.description,
      dialect: workflow.dialect,
      source: workflow.source,
      inputOperator: workflow.inputOperator,
      inputFields: workflow.inputFields,
      endOperators: workflow.endOperators,
      operatorsByKind,
    },
    operators,
    models: [...models.entries()]
      .sort(([left], [right]) => (left < right ? -1 : 1))
      .map(([model, ids]) => ({ model, operators: ids })),
    levels: workflow.levels,
    edges: workflow.edges.map((edge) => ({
      from: edge.from,
      to: edge.to,
      mapping:
        edge.mapping === null
          ? null
          : Object.fromEntries(Object.entries(edge.mapping).map(([name, template]) => [name, template.text])),
      ...(edge.implicit ? { implicit: true as const } : {}),
    })),
    warnings: options.warnings ?? [],
    ...(options.batch
      ? {
          batch: {
            queryFile: options.batch.queryFile,
            queryCount: options.batch.consolidated.queryCount,
            totals: options.batch.consolidated.totals,
            operators: options.batch.consolidated.operators,
          },
        }
      : {}),
  };
}

/** One line: name, dialect, operator counts by kind, edges, levels, input fields. */
export function summaryLine(workflow: CompiledWorkflow): string {
  const counts = new Map<OperatorKind, number>();
  for (const operator of workflow.operators) counts.set(operator.kind, (counts.get(operator.kind) ?? 0) + 1);
  const kinds = KIND_ORDER.filter((kind) => counts.has(kind))
    .map((kind) => `${counts.get(kind)} ${kind}`)
    .join(", ");
  return `${workflow.name} (${workflow.dialect} dialect): ${workflow.operators.length} operators (${kinds}), ${workflow.edges.length} edges, ${workflow.levels.length} levels; input fields: ${workflow.inputFields.join(", ")}`;
}

function describeLatency(latency: HttpLatency): string {
  if (latency.mode === "sleep") return `sleep ${latency.ms} ms`;
  if (latency.mode === "padded")
    return `padded to mean ${latency.meanMs} ms, timeout ${latency.timeoutMs} ms`;
  return `live, timeout ${latency.timeoutMs} ms`;
}

function describeOperator(operator: ExplainedOperator): string {
  const parts: string[] = [];
  if (operator.model !== undefined) {
    parts.push(operator.model, `max ${operator.maxTokens} tokens`, `temperature ${operator.temperature}`);
    parts.push(`${operator.outputFormat} output`);
    parts.push(`static prefix ${operator.staticPrefixChars} chars / ${operator.staticPrefixTokens} tokens`);
  }
  if (operator.processor !== undefined) parts.push(operator.processor);
  if (operator.latency !== undefined) parts.push(describeLatency(operator.latency));
  if (operator.owner !== undefined) parts.push(`tool of ${operator.owner}`);
  if (operator.loop !== undefined) parts.push(`loop ${operator.loop.id} #${operator.loop.iteration}`);
  if (operator.kind !== "input" && operator.kind !== "llm")
    parts.push(operator.coalesce ? "coalesces" : "no coalescing");
  return parts.join(" · ");
}

function table(
  rows: readonly (readonly string[])[],
  rightAligned: ReadonlySet<number> = new Set(),
): string[] {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, column) =>
        rightAligned.has(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
      )
      .join("  ")
      .trimEnd(),
  );
}

/** Renders the explanation as human-readable text. */
export function renderExplanationText(explanation: WorkflowExplanation): string {
  const { workflow } = explanation;
  const lines: string[] = [`workflow ${explanation.summary}`, `  source: ${workflow.source}`];
  if (workflow.description.trim().length > 0)
    lines.push(`  ${workflow.description.trim().replace(/\s+/g, " ")}`);
  lines.push(`  ends: ${workflow.endOperators.join(", ")}`, "", "operators by kind");
  for (const kind of KIND_ORDER) {
    const ofKind = explanation.operators.filter((operator) => operator.kind === kind);
    if (ofKind.length === 0) continue;
    lines.push(`  ${kind} (${ofKind.length})`);
    for (const row of table(ofKind.map((operator) => [`    ${operator.id}`, describeOperator(operator)])))
      lines.push(row);
  }
  if (explanation.models.length > 0) {
    lines.push("", "models");
    for (const row of table(
      explanation.models.map((entry) => [`  ${entry.model}`, entry.operators.join(", ")]),
    )) {
      lines.push(row);
    }
  }
  lines.push("", "topological levels");
  explanation.levels.forEach((level, index) => {
    lines.push(`  ${String(index).padStart(2)}  ${level.join(", ")}`);
  });
  lines.push("", "edges");
  for (const edge of explanation.edges) {
    const mapping =
      edge.mapping === null
        ? "(pass-through)"
        : Object.keys(edge.mapping).length === 0
          ? "(dependency only)"
          : Object.entries(edge.mapping)
              .map(([name, template]) => (template === `{{ ${name} }}` ? name : `${name} = ${template}`))
              .join(", ");
    lines.push(`  ${edge.from} → ${edge.to}  ${mapping}${edge.implicit ? "  (scope rule)" : ""}`);
  }
  lines.push("", "where each name an operator reads comes from");
  for (const operator of explanation.operators) {
    if (operator.reads.length === 0) continue;
    lines.push(`  ${operator.id}`);
    for (const source of operator.reads) lines.push(`    ${describeNameSource(source)}`);
  }
  const layouts = explanation.operators.filter((operator) => operator.promptLayout !== undefined);
  if (layouts.length > 0) {
    lines.push(
      "",
      "prompt layout (lines appended after the template, in prompt order, with their sharing class)",
    );
    for (const operator of layouts) {
      const layout = operator.promptLayout!;
      const appended = layout.appended.map((entry) => `${entry.name} (${entry.sharing})`).join(", ");
      const fixed = layout.fixed.length > 0 ? `; placed by the template: ${layout.fixed.join(", ")}` : "";
      const moved = layout.layout === "shared-first" && !layout.reordered ? " (same as declared)" : "";
      lines.push(`  ${operator.id}: ${layout.layout}${moved}: ${appended || "(none)"}${fixed}`);
    }
  }
  if (explanation.batch) lines.push("", ...renderBatchText(explanation.batch));
  if (explanation.warnings.length > 0) {
    lines.push("", "warnings");
    for (const warning of explanation.warnings)
      lines.push(`  ${warning.source.path}: ${warning.message} [${warning.code}]`);
  }
  return `${lines.join("\n")}\n`;
}

function renderBatchText(batch: ExplainedBatch): string[] {
  const lines = [`batch: ${batch.queryCount} queries from ${batch.queryFile} (what is known before running)`];
  const rows: string[][] = [["  operator", "kind", "instances", "known", "distinct", "coalesced", "unknown"]];
  for (const entry of batch.operators) {
    rows.push([
      `  ${entry.operator}`,
      entry.kind,
      String(entry.instances),
      String(entry.knownRequests),
      String(entry.distinctRequests),
      String(entry.coalescedInstances),
      String(entry.unknownRequests),
    ]);
  }
  const { totals } = batch;
  rows.push([
    "  total",
    "",
    String(totals.instances),
    String(totals.knownRequests),
    "",
    String(totals.coalescedInstances),
    String(totals.unknownRequests),
  ]);
  lines.push(...table(rows, new Set([2, 3, 4, 5, 6])));
  lines.push(`  calls after coalescing what is known: ${totals.calls} of ${totals.instances} instances`);
  const grouped = batch.operators.filter((entry) => entry.groups.length > 0);
  lines.push("", "coalescing groups (identical requests that run once)");
  if (grouped.length === 0) lines.push("  none known before running");
  for (const entry of grouped) {
    const largest = entry.groups[0];
    const sample = largest
      ? largest.queryIds.slice(0, 4).join(", ") + (largest.queryIds.length > 4 ? ", …" : "")
      : "";
    lines.push(
      `  ${entry.operator}: ${entry.groups.length} group${entry.groups.length === 1 ? "" : "s"} of ${entry.groups.reduce((sum, group) => sum + group.queryIds.length, 0)} queries; largest ${largest?.queryIds.length} (${sample})`,
    );
  }
  lines.push("", "prefix sharing (LLM operators)");
  for (const entry of batch.operators) {
    const prefix = entry.prefix;
    if (!prefix) continue;
    const known =
      prefix.knownPrompts === 0
        ? "prompts known only at run time (they read tool or LLM results)"
        : `${prefix.distinctPrompts} distinct of ${prefix.knownPrompts} known prompts; beyond the static prefix all share ${prefix.commonPrefixChars} chars / ${prefix.commonPrefixTokens} tokens, the longest shared ${prefix.longestSharedPrefixChars} chars / ${prefix.longestSharedPrefixTokens} tokens; per-query parts ${prefix.suffixChars} chars / ${prefix.suffixTokens} tokens (${prefix.uniqueSuffixChars} chars if shared parts are computed once)`;
    lines.push(
      `  ${entry.operator} (${entry.model}): static prefix ${prefix.staticPrefixChars} chars / ${prefix.staticPrefixTokens} tokens shared by ${entry.instances} instances; ${known}`,
    );
  }
  return lines;
}

function mermaidLabel(text: string): string {
  return text.replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;");
}

/** Renders the explanation as a Mermaid flowchart (one node per operator, shapes by kind). */
export function renderExplanationMermaid(explanation: WorkflowExplanation): string {
  const nodeIds = new Map(explanation.operators.map((operator, index) => [operator.id, `op${index}`]));
  const batchOf = new Map(explanation.batch?.operators.map((entry) => [entry.operator, entry]) ?? []);
  const lines = ["flowchart TD"];
  for (const operator of explanation.operators) {
    const details: string[] = [operator.kind];
    if (operator.model !== undefined) details.push(operator.model);
    if (operator.processor !== undefined) details.push(operator.processor);
    if (operator.latency !== undefined) details.push(describeLatency(operator.latency));
    const entry = batchOf.get(operator.id);
    if (entry)
      details.push(`${entry.instances} instances, ${entry.instances - entry.coalescedInstances} calls known`);
    const label = `"${mermaidLabel(`${operator.id}<br/>${details.join(" · ")}`).replace(/#lt;br\/#gt;/g, "<br/>")}"`;
    const id = nodeIds.get(operator.id);
    const shape =
      operator.kind === "input"
        ? `([${label}])`
        : operator.kind === "sql"
          ? `[(${label})]`
          : operator.kind === "http"
            ? `{{${label}}}`
            : operator.kind === "processor"
              ? `[[${label}]]`
              : `[${label}]`;
    lines.push(`  ${id}${shape}`);
  }
  for (const edge of explanation.edges) {
    const names = edge.mapping === null ? "" : Object.keys(edge.mapping).join(", ");
    const arrow = names.length > 0 ? `-->|"${mermaidLabel(names)}"|` : "-->";
    lines.push(`  ${nodeIds.get(edge.from)} ${arrow} ${nodeIds.get(edge.to)}`);
  }
  return `${lines.join("\n")}\n`;
}

/** Renders the explanation as JSON. */
export function renderExplanationJson(explanation: WorkflowExplanation): string {
  return `${JSON.stringify(explanation, null, 2)}\n`;
}
