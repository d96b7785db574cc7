import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { assertPlanningStrategy, getStrategy, registerStrategy } from "@halo/optimizer";
import { InvalidInputError } from "./cli-error.js";

/** True when a `--strategy` value names a module file rather than a registered strategy. */
export function isStrategyModulePath(value: string): boolean {
  return value.startsWith(".") || isAbsolute(value) || /\.(m|c)?(j|t)s$/.test(value);
}

/**
 * Loads a user's strategy module (ESM; its default export, or its `strategy`
 * export, implements `PlanningStrategy` v1), checks the contract and
 * registers it; returns the strategy's name. Bad modules are bad input
 * (exit 2) with the file named.
 */
export async function loadStrategyModule(path: string, cwd = process.cwd()): Promise<string> {
  const file = resolve(cwd, path);
  if (!existsSync(file)) throw new InvalidInputError(`--strategy: module ${file} does not exist`);
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw new InvalidInputError(`--strategy: cannot load ${file}: ${(error as Error).message}`);
  }
  const strategy = module.default ?? module.strategy;
  try {
    assertPlanningStrategy(strategy, file);
    registerStrategy(strategy);
  } catch (error) {
    throw new InvalidInputError(
      `--strategy: ${(error as Error).message} (export it as default or as "strategy")`,
    );
  }
  return strategy.name;
}

/**
 * The `--strategy` flag of `plan`, `run` and `bench`: a registered name, or a
 * path to a module (`./my-strategy.mjs`) that is loaded and registered.
 * Returns the name to plan with; an unknown name is bad input (exit 2).
 */
export async function resolveStrategyFlag(value: string): Promise<string> {
  if (isStrategyModulePath(value)) return loadStrategyModule(value);
  try {
    return getStrategy(value).name;
  } catch (error) {
    throw new InvalidInputError(`--strategy: ${(error as Error).message}`);
  }
}
