/**
 * `halo explain --plan <plan.json>`: an execution plan written by `halo plan`
 * as text, Mermaid or JSON, and optionally as a Gantt chart in SVG.
 */
import { writeFile } from "node:fs/promises";
import { parseExecutionPlan, planToGanttSvg, planToMermaid, planToText } from "@halo/optimizer";
import type { CommandIo } from "./io.js";
import { readJsonInput } from "./json-input.js";

/** Reads, validates and prints a plan; writes the SVG Gantt chart when `svgPath` is given. */
export async function explainPlanFile(
  io: CommandIo,
  planPath: string,
  format: "text" | "mermaid" | "json",
  svgPath: string | undefined,
): Promise<void> {
  const plan = await readJsonInput(planPath, "--plan", parseExecutionPlan);
  if (svgPath !== undefined) await writeFile(svgPath, planToGanttSvg(plan));
  if (format === "mermaid") io.stdout(planToMermaid(plan));
  else if (format === "json") io.stdout(`${JSON.stringify(plan, null, 2)}\n`);
  else io.stdout(planToText(plan));
}
