import type { RunSummary } from "@halo/runtime";
import { formatSeconds } from "./run-progress.js";

const integer = (value: number) => Math.round(value).toLocaleString("en-US");
const percent = (part: number, whole: number) =>
  whole > 0 ? `${Math.round((part / whole) * 100)} %` : "0 %";

/** The plan's estimate against the run: device makespan (wall ÷ time scale), its estimate and their ratio. */
export interface EstimateVsActual {
  readonly deviceMakespanMs: number;
  /** The plan's replayed (pipelined) makespan when it has one, else its step-level estimate. */
  readonly estimatedMakespanMs: number;
  /** The step-level estimate strategies minimize (`ExecutionPlan.estimatedMakespanMs`). */
  readonly stepEstimatedMakespanMs: number;
  readonly lowerBoundMs: number;
  /** Device makespan ÷ the plan's estimate (1 = exact; above 1: the plan was optimistic). */
  readonly actualOverEstimate: number | null;
  /** Device makespan ÷ the plan's lower bound. */
  readonly actualOverLowerBound: number | null;
}

/** The plan's estimate against the run; `deviceTimeScale` is the sim engine's time scale (1 elsewhere). */
export function estimateVsActual(summary: RunSummary, deviceTimeScale = 1): EstimateVsActual {
  const deviceMakespanMs = summary.makespanMs / deviceTimeScale;
  const ratio = (reference: number) =>
    reference > 0 ? Math.round((deviceMakespanMs / reference) * 1000) / 1000 : null;
  const estimateMs = summary.plan.pipelinedMakespanMs ?? summary.plan.estimatedMakespanMs;
  return {
    deviceMakespanMs: Math.round(deviceMakespanMs),
    estimatedMakespanMs: Math.round(estimateMs),
    stepEstimatedMakespanMs: Math.round(summary.plan.estimatedMakespanMs),
    lowerBoundMs: Math.round(summary.plan.lowerBoundMs),
    actualOverEstimate: ratio(estimateMs),
    actualOverLowerBound: ratio(summary.plan.lowerBoundMs),
  };
}

/**
 * The human-readable summary `halo run` prints at the end. `deviceTimeScale`:
 * the sim engine's time scale (wall time per device time), so that the
 * makespan compares with the plan's estimate, which is device time.
 */
export function formatRunSummary(summary: RunSummary, resultsPath: string, deviceTimeScale = 1): string {
  const { queries, tokens, llm, tools } = summary;
  const versus = estimateVsActual(summary, deviceTimeScale);
  const times = (value: number | null) => (value === null ? "–" : `${value.toFixed(2)}×`);
  const lines = [
    `halo run ${summary.workflow}: ${queries.ok} ok, ${queries.failed} failed` +
      `${queries.skipped ? `, ${queries.skipped} skipped (already done)` : ""}` +
      `${queries.unfinished ? `, ${queries.unfinished} unfinished` : ""} of ${queries.total} queries` +
      `${summary.aborted ? " (aborted)" : ""}`,
    `  strategy ${summary.strategy} (${summary.mode})` +
      `${summary.disabledOptimizations.length ? `, disabled: ${summary.disabledOptimizations.join(", ")}` : ""}` +
      `, ${summary.workers.length} executor(s)`,
    `  makespan ${formatSeconds(summary.makespanMs / 1000)}, ${summary.queriesPerSecond.toFixed(2)} queries/s` +
      ` (plan estimate ${formatSeconds(versus.estimatedMakespanMs / 1000)}` +
      `${versus.estimatedMakespanMs === versus.stepEstimatedMakespanMs ? "" : `, step-level ${formatSeconds(versus.stepEstimatedMakespanMs / 1000)}`}` +
      `, lower bound ${formatSeconds(summary.plan.lowerBoundMs / 1000)})`,
    `  estimate vs actual: ${deviceTimeScale === 1 ? "" : `device makespan ${formatSeconds(versus.deviceMakespanMs / 1000)} (wall ÷ time scale ${deviceTimeScale}); `}` +
      `actual ÷ estimate ${times(versus.actualOverEstimate)}, actual ÷ lower bound ${times(versus.actualOverLowerBound)}`,
    `  tokens: ${integer(tokens.prompt)} prompt = ${integer(tokens.prefilled)} prefilled + ${integer(tokens.cached)} from cache (${percent(tokens.cached, tokens.prompt)}); ${integer(tokens.generated)} generated`,
    `  LLM: ${integer(llm.instances)} instances → ${integer(llm.calls)} calls (${integer(llm.coalesced)} coalesced, ${integer(llm.cached)} served from earlier calls) in ${integer(llm.batches)} batches` +
      `${llm.failedItems ? `, ${llm.failedItems} failed items` : ""}`,
    `  tools: ${integer(tools.instances)} instances → ${integer(tools.calls)} calls (${integer(tools.coalesced + tools.cached)} coalesced)` +
      `${tools.failed ? `, ${tools.failed} failed` : ""}`,
    `  model loads ${summary.modelLoads} (plan ${summary.plan.modelLoads}), KV migrations ${summary.migrations.succeeded}/${summary.migrations.attempted}, retries ${summary.retries}` +
      `, executors lost: ${summary.executorsLost.length ? summary.executorsLost.join(", ") : "none"}`,
    formatDeviations(summary.deviations),
  ];
  for (const worker of summary.workers) {
    const utilization =
      summary.makespanMs > 0 ? Math.min(100, (worker.busyMs / summary.makespanMs) * 100) : 0;
    lines.push(
      `  ${worker.id} ${worker.address}${worker.alive ? "" : " (lost)"}: ${worker.batches} batches, ${worker.items} items, ` +
        `${worker.modelLoads} loads, busy ${formatSeconds(worker.busyMs / 1000)} (${Math.round(utilization)} %)`,
    );
  }
  lines.push(`  results: ${resultsPath}`);
  return `${lines.join("\n")}\n`;
}

/** One line of the run's departures from its plan. */
export function formatDeviations(deviations: RunSummary["deviations"]): string {
  const { stolen, modelLoads, preloads, items } = deviations;
  return (
    `  off plan: ${integer(stolen.items)} items stolen in ${integer(stolen.batches)} calls, ` +
    `${integer(deviations.offSplitItems)} of ${integer(items.run)} items off their planned split (plan ${integer(items.planned)}); ` +
    `loads ${modelLoads.planned} planned + ${modelLoads.preload} preloads + ${modelLoads.unplanned} unplanned ` +
    `(plan ${deviations.plannedModelLoads}, of which ${preloads.planned} preloads)`
  );
}
