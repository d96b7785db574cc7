import { describe, expect, it } from "vitest";
import { planToGanttSvg } from "./plan-gantt-svg.js";
import { planToMermaid } from "./plan-mermaid.js";
import { formatDuration, planSummary, planToText } from "./plan-text.js";
import { runStrategy } from "./run-strategy.js";
import { workloadShapeProblem } from "./test/index.js";

describe("plan explanations", async () => {
  const problem = workloadShapeProblem("W5", { queries: 100, workers: 2, seed: 3 });
  const plan = await runStrategy(problem, { strategy: "greedy" });
  const steps = plan.epochs.flatMap((epoch) => epoch.steps);

  it("text lists every epoch, step and tool", () => {
    const text = planToText(plan);
    expect(text).toContain(planSummary(plan));
    for (const epoch of plan.epochs) expect(text).toContain(`epoch ${epoch.index} `);
    for (const step of steps) expect(text).toContain(`${step.operator} on ${step.worker} [${step.model}]`);
    for (const tool of plan.cpuOperators) expect(text).toContain(`· ${tool.operator} (${tool.kind}`);
  });

  it("mermaid has a subgraph per epoch and a node per step, chained in order", () => {
    const mermaid = planToMermaid(plan);
    expect(mermaid.startsWith("flowchart LR\n")).toBe(true);
    expect(mermaid.match(/^\s+subgraph /gm)?.length).toBe(plan.epochs.length);
    expect(mermaid.match(/ @ /g)?.length).toBe(steps.length);
    expect(mermaid.match(/-->/g)?.length ?? 0).toBe(plan.epochs.length - 1);
  });

  it("the Gantt SVG is well-formed with a bar per step and tool", () => {
    const svg = planToGanttSvg(plan);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith("</svg>")).toBe(true);
    const preloads = plan.epochs.reduce((sum, epoch) => sum + epoch.preloads.length, 0);
    expect(svg.match(/<title>/g)?.length).toBe(steps.length + plan.cpuOperators.length + preloads);
    expect(svg.match(/<g>/g)?.length).toBe(svg.match(/<\/g>/g)?.length);
    for (const step of steps) expect(svg).toContain(`${step.operator} on ${step.worker}`);
  });

  it("formats durations", () => {
    expect(formatDuration(850.4)).toBe("850 ms");
    expect(formatDuration(12_345)).toBe("12.3 s");
    expect(formatDuration(245_000)).toBe("4 min 05 s");
  });
});
