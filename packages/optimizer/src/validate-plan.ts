import { batchKvTokens, llmRequestCount } from "./cost-model.js";
import type { ExecutionPlan } from "./execution-plan.js";
import {
  disabledOptimizations,
  formatGiB,
  type PlannedLlmOperator,
  PlanningError,
  type PlanningProblem,
  workerModelProfile,
} from "./planning-problem.js";

/**
 * Checks a plan against its problem and returns every problem found (empty
 * when valid): LLM operators missing, repeated in two epochs or unknown; a
 * step earlier than (or in the same epoch as) a parent's; unknown workers or a
 * worker used twice in an epoch; a step's model differing from its
 * operator's; requests not adding up; weights + resident KV + the batch's KV
 * over a worker's memory; tool operators missing or repeated.
 */
export function planProblems(plan: ExecutionPlan, problem: PlanningProblem): string[] {
  const problems: string[] = [];
  const workers = new Map(problem.workers.map((worker) => [worker.id, worker]));
  const planWorkers = new Set<string>();
  for (const worker of plan.workers) {
    if (planWorkers.has(worker.id)) problems.push(`workers: "${worker.id}" is listed twice`);
    planWorkers.add(worker.id);
    if (!workers.has(worker.id)) problems.push(`workers: "${worker.id}" is not a worker of the problem`);
  }
  const operators = new Map(problem.operators.map((operator) => [operator.id, operator]));
  const disabled = disabledOptimizations(plan.disabledOptimizations);
  const epochOf = new Map<string, number>();
  const requestsOf = new Map<string, number>();

  for (const epoch of plan.epochs) {
    const usedWorkers = new Set<string>();
    const inEpoch = new Set<string>();
    for (const preload of epoch.preloads) {
      const where = `epoch ${epoch.index} preload of ${preload.model} on ${preload.worker}`;
      const worker = workers.get(preload.worker);
      if (!worker || !planWorkers.has(preload.worker)) {
        problems.push(`${where}: unknown worker "${preload.worker}"`);
        continue;
      }
      if (usedWorkers.has(preload.worker))
        problems.push(`${where}: worker "${preload.worker}" is busy in this epoch`);
      usedWorkers.add(preload.worker);
      const model = workerModelProfile(worker, preload.model);
      if (!model)
        problems.push(`${where}: worker "${preload.worker}" has no profile for model "${preload.model}"`);
      else if (model.weightsBytes > worker.profile.memoryBytes) {
        problems.push(
          `${where}: overfills worker memory: weights ${formatGiB(model.weightsBytes)} > ${formatGiB(worker.profile.memoryBytes)}`,
        );
      }
    }
    for (const [stepIndex, step] of epoch.steps.entries()) {
      const where = `epoch ${epoch.index} step ${stepIndex} (${step.operator} on ${step.worker})`;
      const operator = operators.get(step.operator);
      if (!operator) {
        problems.push(`${where}: unknown operator "${step.operator}"`);
        continue;
      }
      if (operator.kind !== "llm") {
        problems.push(
          `${where}: "${step.operator}" is a ${operator.kind} operator; only LLM operators are steps`,
        );
        continue;
      }
      const previous = epochOf.get(step.operator);
      if (previous !== undefined && previous !== epoch.index) {
        problems.push(`${where}: operator "${step.operator}" repeats (already planned in epoch ${previous})`);
      }
      epochOf.set(step.operator, epoch.index);
      inEpoch.add(step.operator);
      requestsOf.set(step.operator, (requestsOf.get(step.operator) ?? 0) + step.queries);
      const worker = workers.get(step.worker);
      if (!worker || !planWorkers.has(step.worker)) {
        problems.push(`${where}: unknown worker "${step.worker}"`);
        continue;
      }
      if (usedWorkers.has(step.worker))
        problems.push(`${where}: worker "${step.worker}" already runs a step in this epoch`);
      usedWorkers.add(step.worker);
      if (step.model !== operator.model) {
        problems.push(
          `${where}: model "${step.model}" differs from the operator's model "${operator.model}"`,
        );
        continue;
      }
      const model = workerModelProfile(worker, operator.model);
      if (!model) {
        problems.push(`${where}: worker "${step.worker}" has no profile for model "${operator.model}"`);
        continue;
      }
      const batchKvBytes = Math.max(
        step.batchKvBytes,
        batchKvTokens(operator.statistics, Math.min(step.batchSize, step.queries), disabled) *
          model.kvBytesPerToken,
      );
      const neededBytes = model.weightsBytes + step.residentKvBytes + batchKvBytes;
      if (neededBytes > worker.profile.memoryBytes) {
        problems.push(
          `${where}: overfills worker memory: weights ${formatGiB(model.weightsBytes)} + resident KV ` +
            `${formatGiB(step.residentKvBytes)} + batch KV ${formatGiB(batchKvBytes)} > ${formatGiB(worker.profile.memoryBytes)}`,
        );
      }
    }
  }

  const llmOperators = problem.operators.filter(
    (operator): operator is PlannedLlmOperator => operator.kind === "llm",
  );
  for (const operator of llmOperators) {
    const epoch = epochOf.get(operator.id);
    if (epoch === undefined) {
      problems.push(`LLM operator "${operator.id}" is missing from the plan`);
      continue;
    }
    const expected = llmRequestCount(operator.statistics, disabled);
    const planned = requestsOf.get(operator.id) ?? 0;
    if (planned !== expected) {
      problems.push(`LLM operator "${operator.id}": steps run ${planned} requests, expected ${expected}`);
    }
    for (const ancestor of llmAncestorsOf(operator.id, operators)) {
      const parentEpoch = epochOf.get(ancestor);
      if (parentEpoch !== undefined && parentEpoch >= epoch) {
        problems.push(
          `LLM operator "${operator.id}" (epoch ${epoch}) breaks a dependency: it needs "${ancestor}" (epoch ${parentEpoch}) first`,
        );
      }
    }
  }

  const seenTools = new Map<string, number>();
  for (const cpu of plan.cpuOperators) {
    const operator = operators.get(cpu.operator);
    if (!operator || operator.kind === "llm")
      problems.push(`cpuOperators: unknown tool operator "${cpu.operator}"`);
    seenTools.set(cpu.operator, (seenTools.get(cpu.operator) ?? 0) + 1);
  }
  for (const operator of problem.operators) {
    if (operator.kind === "llm") continue;
    const count = seenTools.get(operator.id) ?? 0;
    if (count === 0) problems.push(`tool operator "${operator.id}" is missing from cpuOperators`);
    if (count > 1) problems.push(`tool operator "${operator.id}" repeats in cpuOperators`);
  }
  return problems;
}

/** Throws `PlanningError` listing every problem when the plan is not valid for the problem. */
export function validatePlan(plan: ExecutionPlan, problem: PlanningProblem): void {
  const problems = planProblems(plan, problem);
  if (problems.length > 0) {
    throw new PlanningError(`invalid plan (${plan.strategy}):\n  ${problems.join("\n  ")}`);
  }
}

/** LLM operators an operator depends on, directly or through tools (not past another LLM operator). */
function llmAncestorsOf(
  id: string,
  operators: ReadonlyMap<string, PlanningProblem["operators"][number]>,
): Set<string> {
  const result = new Set<string>();
  const seen = new Set<string>();
  const stack = [...(operators.get(id)?.parents ?? [])];
  while (stack.length > 0) {
    const parent = stack.pop()!;
    if (seen.has(parent)) continue;
    seen.add(parent);
    const operator = operators.get(parent);
    if (!operator) continue;
    if (operator.kind === "llm") result.add(parent);
    else stack.push(...operator.parents);
  }
  return result;
}
