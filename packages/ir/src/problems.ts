/**
 * Problems found while loading and validating workflows and query files:
 * stable codes, YAML-path formatting, a collector that keeps going after the
 * first problem, and the error thrown by `compile()`.
 */
import type { SourceRef, WorkflowProblem } from "./types.js";

/** Stable problem codes (the `code` of a `WorkflowProblem`). */
export const PROBLEM_CODES = [
  "yaml-syntax",
  "unknown-dialect",
  "invalid-value",
  "missing-field",
  "unknown-field",
  "duplicate-id",
  "duplicate-name",
  "duplicate-edge",
  "dangling-edge",
  "edge-into-input",
  "cycle",
  "unknown-node-type",
  "unknown-processor",
  "invalid-config",
  "invalid-regex",
  "invalid-template",
  "unbound-variable",
  "unknown-mapping-target",
  "unprovided-input",
  "ambiguous-ancestor",
  "missing-sql-parameter",
  "invalid-url",
  "unfilled-placeholder",
  "missing-model",
  "invalid-latency",
  "invalid-loop",
  "missing-input-node",
  "multiple-input-nodes",
  "output-mismatch",
  "inconsistent-ops-links",
  "file-not-found",
  "invalid-query-file",
  "missing-input-field",
  "duplicate-query-id",
  "internal",
] as const;

export type ProblemCode = (typeof PROBLEM_CODES)[number];

/** A step of a path into a spec: an object key or an array index. */
export type PathSegment = string | number;

/** Formats path segments as a YAML path: `graph.nodes[3].db_queries[0].parameters.date`. */
export function formatYamlPath(segments: readonly PathSegment[]): string {
  let path = "";
  for (const segment of segments) {
    if (typeof segment === "number") path += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) path += path.length === 0 ? segment : `.${segment}`;
    else path += `[${JSON.stringify(segment)}]`;
  }
  return path.length === 0 ? "(document)" : path;
}

/** Turns spec path segments into a source reference (file, human path, optional line). */
export interface SourceLocator {
  readonly file: string;
  locate(segments: readonly PathSegment[]): SourceRef;
}

/** A locator that prints plain YAML paths and knows no line numbers. */
export function plainLocator(file: string): SourceLocator {
  return { file, locate: (segments) => ({ file, path: formatYamlPath(segments) }) };
}

/** Collects problems (errors) and warnings; validation goes on after each one. */
export class ProblemCollector {
  readonly problems: WorkflowProblem[] = [];
  readonly warnings: WorkflowProblem[] = [];
  private readonly seen = new Set<string>();

  constructor(readonly locator: SourceLocator) {}

  /** Records an error at a spec path; an identical problem at the same path is kept once. */
  error(code: ProblemCode, message: string, segments: readonly PathSegment[]): void {
    this.push(this.problems, code, message, segments);
  }

  /** Records a warning (the workflow still compiles). */
  warn(code: ProblemCode, message: string, segments: readonly PathSegment[]): void {
    this.push(this.warnings, code, message, segments);
  }

  get errorCount(): number {
    return this.problems.length;
  }

  private push(
    list: WorkflowProblem[],
    code: ProblemCode,
    message: string,
    segments: readonly PathSegment[],
  ): void {
    const source = this.locator.locate(segments);
    const key = `${list === this.problems ? "e" : "w"}|${code}|${source.path}|${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    list.push({ code, message, source });
  }
}

/** Thrown by the builder's `validate()` / `compile()` and `loadWorkflowFileOrThrow`; lists every problem. */
export class WorkflowValidationError extends Error {
  constructor(readonly problems: readonly WorkflowProblem[]) {
    super(
      `workflow is invalid (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${formatProblems(problems)}`,
    );
    this.name = "WorkflowValidationError";
  }
}

/** Where a problem is: `file:line:column path` (line when known). */
export function formatSource(source: SourceRef): string {
  const position =
    source.line === undefined
      ? ""
      : `:${source.line}${source.column === undefined ? "" : `:${source.column}`}`;
  return `${source.file}${position} ${source.path}`;
}

/** One problem per line: `file:line:col path: message [code]`. */
export function formatProblems(problems: readonly WorkflowProblem[]): string {
  return problems
    .map((problem) => `  ${formatSource(problem.source)}: ${problem.message} [${problem.code}]`)
    .join("\n");
}

/** Converts anything thrown to a message (internal errors become problems, never crashes). */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
