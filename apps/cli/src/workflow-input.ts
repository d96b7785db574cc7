/**
 * Loading a workflow and its queries for a command: every problem becomes one
 * invalid-input error (exit 2) listing each problem with its file, line and path.
 */
import {
  type CompiledWorkflow,
  formatProblems,
  loadQueries,
  loadWorkflowFile,
  type QueryContext,
  type WorkflowProblem,
} from "@halo/ir";
import { InvalidInputError } from "./cli-error.js";
import type { CommandIo } from "./io.js";

/** A workflow that compiled, with the warnings found on the way. */
export interface LoadedWorkflow {
  readonly workflow: CompiledWorkflow;
  readonly warnings: readonly WorkflowProblem[];
}

function problemList(what: string, problems: readonly WorkflowProblem[]): string {
  return `${what} has ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n${formatProblems(problems)}`;
}

/** Loads and compiles a workflow file; throws an InvalidInputError listing every problem. */
export async function loadWorkflowOrFail(path: string): Promise<LoadedWorkflow> {
  const result = await loadWorkflowFile(path);
  if (!result.ok) throw new InvalidInputError(problemList(`workflow ${path}`, result.problems));
  return { workflow: result.workflow, warnings: result.warnings };
}

/** Loads a query file (.jsonl or .csv) checked against the workflow's input fields. */
export async function loadQueriesOrFail(
  path: string,
  workflow: CompiledWorkflow,
): Promise<readonly QueryContext[]> {
  const result = await loadQueries(path, { workflow });
  if (!result.ok) throw new InvalidInputError(problemList(`query file ${path}`, result.problems));
  return result.queries;
}

/** Prints warnings to stderr, one per line. */
export function printWarnings(io: CommandIo, warnings: readonly WorkflowProblem[]): void {
  if (warnings.length === 0) return;
  io.stderr(
    `${problemList("warning: the workflow", warnings).replace(/ has (\d+) problems?:/, " has $1 warning(s):")}\n`,
  );
}
