/**
 * `halo explain --plan <plan.json>`: an execution plan written by `halo plan`
 * as text, Mermaid or JSON, and optionally as a Gantt chart in SVG.
 */
import { readFile, writeFile } from "node:fs/promises";
import {
  PlanFormatError,
  parseExecutionPlan,
  planToGanttSvg,
  planToMermaid,
  planToText,
} from "@halo/optimizer";
import { InvalidInputError } from "./cli-error.js";
import type { CommandIo } from "./io.js";

/** Reads, validates and prints a plan; writes the SVG Gantt chart when `svgPath` is given. */
export async function explainPlanFile(
  io: CommandIo,
  planPath: string,
  format: "text" | "mermaid" | "json",
  svgPath: string | undefined,
): Promise<void> {
  let text: string;
  try {
    text = await readFile(planPath, "utf8");
  } catch (error) {
    throw new InvalidInputError(`--plan: cannot read ${planPath}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`${planPath}: not JSON: ${(error as Error).message}`);
  }
  let plan: ReturnType<typeof parseExecutionPlan>;
  try {
    plan = parseExecutionPlan(value, planPath);
  } catch (error) {
    if (error instanceof PlanFormatError) throw new InvalidInputError(error.message);
    throw error;
  }
  if (svgPath !== undefined) await writeFile(svgPath, planToGanttSvg(plan));
  if (format === "mermaid") io.stdout(planToMermaid(plan));
  else if (format === "json") io.stdout(`${JSON.stringify(plan, null, 2)}\n`);
  else io.stdout(planToText(plan));
}
