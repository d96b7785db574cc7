import {
  consolidateBatch,
  explainWorkflow,
  renderExplanationJson,
  renderExplanationMermaid,
  renderExplanationText,
  type WorkflowExplanation,
} from "@halo/ir";
import { type Command, Option } from "commander";
import { InvalidInputError } from "../cli-error.js";
import type { CommandIo } from "../io.js";
import { explainPlanFile } from "../plan-explain.js";
import { loadQueriesOrFail, loadWorkflowOrFail, printWarnings } from "../workflow-input.js";
import type { RegisterCommand } from "./index.js";

/** Output formats of `halo explain`. */
export const EXPLAIN_FORMATS = ["text", "mermaid", "json"] as const;
type ExplainFormat = (typeof EXPLAIN_FORMATS)[number];

interface ExplainOptions {
  readonly queries?: string;
  readonly format: ExplainFormat;
  readonly plan?: string;
  readonly svg?: string;
}

const RENDERERS: Readonly<Record<ExplainFormat, (explanation: WorkflowExplanation) => string>> = {
  text: renderExplanationText,
  mermaid: renderExplanationMermaid,
  json: renderExplanationJson,
};

/**
 * `halo explain <workflow> [--queries file] [--format text|mermaid|json]`: the
 * workflow's operators, edges, levels and static prefixes; with queries, what
 * consolidation knows before running (instances, coalescing, prefix sharing).
 */
export const registerExplainCommand: RegisterCommand = (program: Command, io: CommandIo) => {
  program
    .command("explain")
    .description(
      "explain a workflow: operators, models, edges, levels, prompt prefixes; with --queries, the batch",
    )
    .argument("[workflow]", "workflow YAML or JSON file (omit with --plan)")
    .option("--queries <file>", "queries (.jsonl or .csv) to instantiate and consolidate")
    .addOption(new Option("--format <format>", "output format").choices(EXPLAIN_FORMATS).default("text"))
    .option("--plan <file>", "explain an execution plan written by `halo plan` instead of a workflow")
    .option("--svg <file>", "with --plan: also write the plan as a Gantt chart (SVG)")
    .action(async (path: string | undefined, options: ExplainOptions) => {
      if (options.plan !== undefined) {
        await explainPlanFile(io, options.plan, options.format, options.svg);
        return;
      }
      if (options.svg !== undefined) throw new InvalidInputError("--svg needs --plan <plan.json>");
      if (path === undefined)
        throw new InvalidInputError("explain: give a workflow file, or --plan <plan.json>");
      const { workflow, warnings } = await loadWorkflowOrFail(path);
      const queries =
        options.queries === undefined ? undefined : await loadQueriesOrFail(options.queries, workflow);
      const explanation = explainWorkflow(workflow, {
        warnings,
        ...(queries && options.queries !== undefined
          ? { batch: { queryFile: options.queries, consolidated: consolidateBatch(workflow, queries) } }
          : {}),
      });
      // Text and JSON carry the warnings; a Mermaid chart cannot, so they go to stderr.
      if (options.format === "mermaid") printWarnings(io, warnings);
      io.stdout(RENDERERS[options.format](explanation));
    });
};
