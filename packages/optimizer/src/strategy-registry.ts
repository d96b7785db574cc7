import { PlanningError } from "./planning-problem.js";
import { epochDpStrategy } from "./strategies/epoch-dp-strategy.js";
import { greedyStrategy } from "./strategies/greedy-strategy.js";
import { milpStrategy } from "./strategies/milp-strategy.js";
import { minSwitchStrategy } from "./strategies/min-switch-strategy.js";
import { naiveStrategy } from "./strategies/naive-strategy.js";
import { operatorWiseStrategy } from "./strategies/operator-wise-strategy.js";
import {
  PLANNING_STRATEGY_SPECIFICATION_VERSION,
  type PlanningStrategy,
} from "./strategies/planning-strategy.js";
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

/**
 * Checks that `value` implements the `PlanningStrategy` contract this package
 * speaks (`specificationVersion` "v1", a name, a description, a `plan`
 * function); throws `PlanningError` naming `source` (a file, a module) and
 * every problem otherwise. Strategies come from outside (modules, research
 * code), so they are checked before anything runs them.
 */
export function assertPlanningStrategy(
  value: unknown,
  source = "strategy",
): asserts value is PlanningStrategy {
  const problems: string[] = [];
  if (typeof value !== "object" || value === null) {
    throw new PlanningError(`${source}: a planning strategy must be an object, got ${typeof value}`);
  }
  const candidate = value as Record<string, unknown>;
  if (candidate.specificationVersion !== PLANNING_STRATEGY_SPECIFICATION_VERSION) {
    problems.push(
      `specificationVersion must be "${PLANNING_STRATEGY_SPECIFICATION_VERSION}" (got ${JSON.stringify(candidate.specificationVersion)})`,
    );
  }
  if (typeof candidate.name !== "string" || !/^[A-Za-z0-9][\w.-]*$/.test(candidate.name)) {
    problems.push(
      `name must be a non-empty string of letters, digits, "-", "_" or "." (got ${JSON.stringify(candidate.name)})`,
    );
  }
  if (typeof candidate.description !== "string") problems.push("description must be a string");
  if (typeof candidate.plan !== "function")
    problems.push("plan must be a function (problem, options) => result");
  if (problems.length > 0)
    throw new PlanningError(`${source}: not a planning strategy: ${problems.join("; ")}`);
}

/**
 * Adds (or replaces) a strategy, so research code can plug its own in by
 * name: `runStrategy`, `planBatch` and the CLI's `--strategy <name>` find it.
 * Throws `PlanningError` when it does not implement the contract.
 */
export function registerStrategy(strategy: PlanningStrategy): void {
  assertPlanningStrategy(strategy, `strategy ${JSON.stringify((strategy as { name?: unknown })?.name)}`);
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
