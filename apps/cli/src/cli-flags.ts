import { isPromptLayout, PROMPT_LAYOUTS, type PromptLayout } from "@halo/ir";
import { InvalidInputError } from "./cli-error.js";

/** A numeric flag's value; invalid input (exit 2) naming the flag when it is not a number that passes `check`. */
export function numberFlag(
  flag: string,
  text: string,
  check: (value: number) => boolean,
  expected: string,
): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || !check(value)) {
    throw new InvalidInputError(`${flag}: expected ${expected} (got "${text}")`);
  }
  return value;
}

/** A `check` for `numberFlag`: an integer of at least 1. */
export const positiveInteger = (value: number) => Number.isInteger(value) && value >= 1;

/** `--prompt-layout`: shared-first or declared; invalid input (exit 2) otherwise. */
export function promptLayoutFlag(text: string): PromptLayout {
  if (!isPromptLayout(text)) {
    throw new InvalidInputError(`--prompt-layout: expected ${PROMPT_LAYOUTS.join(" or ")} (got "${text}")`);
  }
  return text;
}
