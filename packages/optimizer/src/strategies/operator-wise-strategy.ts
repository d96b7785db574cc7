import type { Epoch } from "../search-state.js";
import type { PlanningStrategy } from "./planning-strategy.js";

/**
 * `opwise`: one operator at a time over all queries, data-parallel across
 * every worker that can hold its model, with a barrier after each operator.
 */
export const operatorWiseStrategy: PlanningStrategy = {
  specificationVersion: "v1",
  name: "opwise",
  description: "one operator at a time, split over all workers, barrier between operators",
  plan(index) {
    const schedule: Epoch[] = index.llm.map((_, operator) => [
      {
        operator,
        workers: index.problem.workers.flatMap((_, worker) =>
          index.modelOn[worker]![operator] === undefined ? [] : [worker],
        ),
      },
    ]);
    return { schedule, warnings: [] };
  },
};
