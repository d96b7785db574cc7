import { greedyEpoch, scheduleByRule } from "../epoch-heuristics.js";
import { lowerBoundTables } from "../lower-bound.js";
import type { PlanningStrategy } from "./planning-strategy.js";

/**
 * `greedy`: epoch by epoch, the most urgent ready operators (longest remaining
 * critical path) each take the free worker where they run fastest; idle
 * workers then join the slowest operator while that shortens it.
 */
export const greedyStrategy: PlanningStrategy = {
  specificationVersion: "v1",
  name: "greedy",
  description: "urgent operators first, each on its fastest free worker; idle workers split the slowest",
  plan(index, options) {
    const tables = lowerBoundTables(index, options.disabled);
    const spread = options.splitOperators !== false;
    const schedule = scheduleByRule(
      index,
      options.disabled,
      (state) => greedyEpoch(index, tables, state, options.disabled, { spread }),
      "greedy",
    );
    return { schedule, warnings: [] };
  },
};
