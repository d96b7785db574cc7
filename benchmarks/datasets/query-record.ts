import { writeFile } from "node:fs/promises";
import type { SeededRandom } from "@halo/seeded-random";
import type { GenerationOptions } from "./dataset-definition.js";
import { DatasetInputError } from "./dataset-input-error.js";

/** One workload input: the query context of the workflows' `input` node. */
export interface QueryRecord {
  readonly id: string;
  readonly context: { readonly user_query: string };
}

/**
 * The dataset the query generators draw titles from when no database file is
 * given: the one `halo datasets gen <name>` writes with its default scale and seed.
 */
export const DEFAULT_QUERY_SOURCE: GenerationOptions = { scale: 0.01, seed: 1 };

/** Share of queries that repeat an earlier one verbatim (real batches repeat questions; coalescing needs them). */
export const REPEATED_QUERY_SHARE = 0.15;

/** Checks a query count; throws {@link DatasetInputError}. */
export function validateQueryCount(count: number): void {
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new DatasetInputError(`the number of queries must be a positive integer (got ${count})`);
  }
}

/**
 * `count` records `prefix-00001`…, each text from `makeText` or, with
 * probability {@link REPEATED_QUERY_SHARE}, a repeat of an earlier text.
 */
export function buildQueryRecords(
  prefix: string,
  count: number,
  random: SeededRandom,
  makeText: () => string,
): QueryRecord[] {
  validateQueryCount(count);
  const width = Math.max(5, String(count).length);
  const texts: string[] = [];
  for (let index = 0; index < count; index++) {
    texts.push(index > 0 && random.chance(REPEATED_QUERY_SHARE) ? random.pick(texts) : makeText());
  }
  return texts.map((text, index) => ({
    id: `${prefix}-${String(index + 1).padStart(width, "0")}`,
    context: { user_query: text },
  }));
}

/** Writes records as JSON Lines (one record per line). */
export async function writeQueryRecords(path: string, records: readonly QueryRecord[]): Promise<void> {
  await writeFile(path, records.map((record) => `${JSON.stringify(record)}\n`).join(""));
}
