import { PlanningError } from "./planning-problem.js";
import { epochDpStrategy } from "./strategies/epoch-dp-strategy.js";
import { greedyStrategy } from "./strategies/greedy-strategy.js";
import { milpStrategy } from "./strategies/milp-strategy.js";
import { minSwitchStrategy } from "./strategies/min-switch-strategy.js";
import { naiveStrategy } from "./strategies/naive-strategy.js";
import { operatorWiseStrategy } from "./strategies/operator-wise-strategy.js";
import type { PlanningStrategy } from "./strategies/planning-strategy.js";
import { roundRobinTopologicalStrategy } from "./strategies/round-robin-topological-strategy.js";

/** The built-in strategies, in the order `halo plan --help` lists them. */
export const BUILTIN_STRATEGIES: readonly PlanningStrategy[] = [
  epochDpStrategy,
  milpStrategy,
  greedyStrategy,
  roundRobinTopologicalStrategy,
  operatorWiseStrategy,
  minSwitchStrategy,
  naiveStrategy,
];

/** The default strategy's name. */
export const DEFAULT_STRATEGY = "dp";

const registry = new Map<string, PlanningStrategy>(
  BUILTIN_STRATEGIES.map((strategy) => [strategy.name, strategy]),
);

/** Adds (or replaces) a strategy, so research code can plug its own in by name. */
export function registerStrategy(strategy: PlanningStrategy): void {
  registry.set(strategy.name, strategy);
}

/** Names of the registered strategies. */
export function strategyNames(): string[] {
  return [...registry.keys()];
}

/** The strategy of that name; throws `PlanningError` naming it and the known ones. */
export function getStrategy(name: string): PlanningStrategy {
  const strategy = registry.get(name);
  if (!strategy) throw new PlanningError(`unknown strategy "${name}" (known: ${strategyNames().join(", ")})`);
  return strategy;
}
