import { readFile } from "node:fs/promises";
import { type ObservedStatistics, PlanFormatError, parseObservedStatistics } from "@halo/optimizer";
import { InvalidInputError } from "./cli-error.js";

/**
 * Reads a JSON file named by `flag` and validates it with `parse` (which throws `PlanFormatError`
 * naming the file and field); an unreadable file, bad JSON or a failed validation is invalid input.
 */
export async function readJsonInput<T>(
  path: string,
  flag: string,
  parse: (value: unknown, where: string) => T,
): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new InvalidInputError(`${flag}: cannot read ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`${path}: not JSON: ${(error as Error).message}`);
  }
  try {
    return parse(value, path);
  } catch (error) {
    if (error instanceof PlanFormatError) throw new InvalidInputError(error.message);
    throw error;
  }
}

/**
 * `--statistics <file>`: what an earlier run of the workflow measured (a run summary written by
 * `halo run --summary`, or its `observed` member alone), or undefined without the flag.
 */
export async function loadObservedStatistics(
  path: string | undefined,
): Promise<ObservedStatistics | undefined> {
  if (path === undefined) return undefined;
  return readJsonInput(path, "--statistics", parseObservedStatistics);
}
