import { bit } from "../problem-index.js";
import type { Epoch, EpochAssignment } from "../search-state.js";
import type { PlanningStrategy } from "./planning-strategy.js";

/**
 * `rr-topo`: LLM operators in topological order, dealt to workers round-robin
 * (skipping workers whose memory cannot hold the model); a new epoch starts
 * when an operator depends on one of the current epoch or its worker is taken.
 */
export const roundRobinTopologicalStrategy: PlanningStrategy = {
  specificationVersion: "v1",
  name: "rr-topo",
  description: "round-robin over workers in topological order",
  plan(index) {
    const workerCount = index.problem.workers.length;
    const schedule: Epoch[] = [];
    let current: EpochAssignment[] = [];
    let currentMask = 0n;
    let nextWorker = 0;
    for (let operator = 0; operator < index.llm.length; operator++) {
      let worker = nextWorker;
      while (index.modelOn[worker]![operator] === undefined) worker = (worker + 1) % workerCount;
      nextWorker = (worker + 1) % workerCount;
      const dependsOnCurrent = (index.llmAncestors[operator]! & currentMask) !== 0n;
      const workerTaken = current.some((assignment) => assignment.workers.includes(worker));
      if (dependsOnCurrent || workerTaken) {
        schedule.push(current);
        current = [];
        currentMask = 0n;
      }
      current.push({ operator, workers: [worker] });
      currentMask |= bit(operator);
    }
    if (current.length > 0) schedule.push(current);
    return { schedule, warnings: [] };
  },
};
