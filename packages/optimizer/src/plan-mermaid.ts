import type { ExecutionPlan } from "./execution-plan.js";
import { formatDuration } from "./plan-text.js";

/** Mermaid node ids must be plain words. */
function nodeId(prefix: string, text: string): string {
  return `${prefix}_${text.replace(/[^A-Za-z0-9_]/g, "_")}`;
}

/** Labels are quoted; quotes inside become `#quot;` (Mermaid's entity). */
function label(text: string): string {
  return `"${text.replace(/"/g, "#quot;")}"`;
}

/**
 * The plan as a Mermaid flowchart: one subgraph per epoch with a node per step
 * (operator, worker, requests, time) and a hexagon per tool operator run in
 * it; epochs chained in order.
 */
export function planToMermaid(plan: ExecutionPlan): string {
  const lines = ["flowchart LR"];
  for (const epoch of plan.epochs) {
    const epochId = `epoch_${epoch.index}`;
    lines.push(
      `  subgraph ${epochId}[${label(`epoch ${epoch.index}: ${formatDuration(epoch.endMs - epoch.startMs)}`)}]`,
    );
    for (const step of epoch.steps) {
      const id = nodeId(`s${epoch.index}`, `${step.operator}_${step.worker}`);
      lines.push(
        `    ${id}[${label(`${step.operator} @ ${step.worker}<br/>${step.model}<br/>${step.queries} req, ${formatDuration(step.estimate.totalMs)}, kv ${step.kv}`)}]`,
      );
    }
    for (const preload of epoch.preloads) {
      lines.push(
        `    ${nodeId(`p${epoch.index}`, `${preload.worker}_${preload.model}`)}([${label(`${preload.worker} preloads ${preload.model}`)}])`,
      );
    }
    for (const tool of plan.cpuOperators.filter((candidate) => candidate.epoch === epoch.index)) {
      lines.push(
        `    ${nodeId(`t${epoch.index}`, tool.operator)}{{${label(`${tool.operator} (${tool.kind})`)}}}`,
      );
    }
    lines.push("  end");
  }
  for (let index = 1; index < plan.epochs.length; index++) {
    lines.push(`  epoch_${plan.epochs[index - 1]!.index} --> epoch_${plan.epochs[index]!.index}`);
  }
  if (plan.epochs.length === 0) {
    for (const tool of plan.cpuOperators)
      lines.push(`  ${nodeId("t", tool.operator)}{{${label(tool.operator)}}}`);
  }
  return `${lines.join("\n")}\n`;
}
