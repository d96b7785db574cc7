import type { ExecutionPlan } from "./execution-plan.js";

/** Milliseconds as a short human duration (`850 ms`, `12.3 s`, `4 min 05 s`). */
export function formatDuration(milliseconds: number): string {
  if (milliseconds < 1000) return `${Math.round(milliseconds)} ms`;
  if (milliseconds < 60_000) return `${(milliseconds / 1000).toFixed(1)} s`;
  const minutes = Math.floor(milliseconds / 60_000);
  const seconds = Math.round((milliseconds - minutes * 60_000) / 1000);
  return `${minutes} min ${String(seconds).padStart(2, "0")} s`;
}

/** One line summing a plan up (what `halo plan` prints to stderr). */
export function planSummary(plan: ExecutionPlan): string {
  const operators = new Set(plan.epochs.flatMap((epoch) => epoch.steps.map((step) => step.operator))).size;
  const disabled =
    plan.disabledOptimizations.length > 0 ? `; disabled: ${plan.disabledOptimizations.join(", ")}` : "";
  const solver = plan.solver
    ? `; ${plan.solver.solver} ${plan.solver.status}${plan.solver.gap !== undefined ? ` (gap ${(plan.solver.gap * 100).toFixed(1)}%)` : ""}`
    : "";
  return (
    `plan ${plan.workflow}: strategy ${plan.strategy}, ${plan.queryCount} queries, ${operators} LLM operators in ` +
    `${plan.epochs.length} epochs on ${plan.workers.length} workers, ${plan.modelLoads} model loads; ` +
    `estimated makespan ${formatDuration(plan.estimatedMakespanMs)} (lower bound ${formatDuration(plan.lowerBoundMs)}); ` +
    `solved in ${formatDuration(plan.solveMs)}${solver}${disabled}`
  );
}

/** The plan as text: a header, then each epoch with its steps and tools, then warnings. */
export function planToText(plan: ExecutionPlan): string {
  const lines = [planSummary(plan), ""];
  lines.push("workers:");
  for (const worker of plan.workers) {
    lines.push(
      `  ${worker.id}  ${worker.device}, ${(worker.memoryBytes / 1024 ** 3).toFixed(0)} GiB${worker.address ? `, ${worker.address}` : ""}`,
    );
  }
  const toolsByEpoch = new Map<number, ExecutionPlan["cpuOperators"]>();
  for (const tool of plan.cpuOperators)
    toolsByEpoch.set(tool.epoch, [...(toolsByEpoch.get(tool.epoch) ?? []), tool]);
  for (const epoch of plan.epochs) {
    lines.push(
      "",
      `epoch ${epoch.index}  ${formatDuration(epoch.startMs)} → ${formatDuration(epoch.endMs)} (${formatDuration(epoch.endMs - epoch.startMs)})`,
    );
    for (const step of epoch.steps) {
      const estimate = step.estimate;
      const parts = [
        estimate.loadMs > 0 ? `load ${formatDuration(estimate.loadMs)}` : "",
        `prefill ${formatDuration(estimate.prefillMs)}`,
        estimate.migrateMs > 0 ? `migrate ${formatDuration(estimate.migrateMs)}` : "",
        `decode ${formatDuration(estimate.decodeMs)}`,
      ].filter((part) => part.length > 0);
      lines.push(
        `  ${step.operator} on ${step.worker} [${step.model}]: ${step.queries} requests in ${step.waves} × ≤${step.batchSize}, ` +
          `kv ${step.kv}${step.migrateFrom ? ` from ${step.migrateFrom}` : ""}; ${parts.join(", ")} = ${formatDuration(estimate.totalMs)}`,
      );
    }
    for (const preload of epoch.preloads) {
      lines.push(`  ↻ ${preload.worker} preloads ${preload.model} (${formatDuration(preload.loadMs)})`);
    }
    for (const tool of toolsByEpoch.get(epoch.index) ?? []) {
      lines.push(
        `  · ${tool.operator} (${tool.kind}, pool ${tool.pool}): ${tool.calls} calls × ${formatDuration(tool.latencyMeanMs)}, ` +
          `pool busy ${formatDuration(tool.workMs)}`,
      );
    }
  }
  if (plan.epochs.length === 0) {
    for (const tool of plan.cpuOperators) {
      lines.push(`  · ${tool.operator} (${tool.kind}, pool ${tool.pool}): ${tool.calls} calls`);
    }
  }
  if (plan.warnings.length > 0) {
    lines.push("", "warnings:");
    for (const warning of plan.warnings) lines.push(`  ${warning}`);
  }
  return `${lines.join("\n")}\n`;
}
