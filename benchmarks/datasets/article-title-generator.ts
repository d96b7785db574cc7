import { Sfc32 } from "@halo/seeded-random";
import { DatasetInputError } from "./dataset-input-error.js";
import { openDuckDbFile } from "./duckdb-file.js";
import { FINEWIKI_DATASET } from "./finewiki-dataset.js";
import {
  buildQueryRecords,
  DEFAULT_QUERY_SOURCE,
  type QueryRecord,
  validateQueryCount,
} from "./query-record.js";

/** Inputs are drawn from the first pages, as the paper's were from the first 2,048 rows of FineWiki. */
const CANDIDATE_PAGES = 2_048;

/**
 * Article titles that exist in `pages`: from `dbPath` (a FineWiki dataset from
 * `generateDataset`), or, without it, from the dataset the generator writes
 * with its default scale and seed.
 */
export async function generateArticleTitles(
  count: number,
  seed: number,
  dbPath?: string,
): Promise<QueryRecord[]> {
  validateQueryCount(count);
  const titles = dbPath ? await titlesFromDatabase(dbPath) : titlesFromGenerator();
  if (titles.length === 0) throw new DatasetInputError(`${dbPath} has no pages`);
  const random = Sfc32.fromParts("finewiki-titles", seed);
  return buildQueryRecords("finewiki", count, random, () => random.pick(titles));
}

async function titlesFromDatabase(dbPath: string): Promise<string[]> {
  const file = await openDuckDbFile(dbPath, { readOnly: true });
  try {
    const reader = await file.connection.runAndReadAll(
      `SELECT title FROM pages ORDER BY page_id LIMIT ${CANDIDATE_PAGES}`,
    );
    return reader.getRows().map(([title]) => String(title));
  } catch (error) {
    throw new DatasetInputError(
      `cannot read pages from ${dbPath}: ${error instanceof Error ? error.message : String(error)}`,
    );
  } finally {
    file.close();
  }
}

function titlesFromGenerator(): string[] {
  const titles: string[] = [];
  // Rows arrive in page_id order; the title is the fourth column of FINEWIKI_TABLES' pages.
  FINEWIKI_DATASET.generate(DEFAULT_QUERY_SOURCE, {
    table: () => (row) => {
      if (titles.length < CANDIDATE_PAGES) titles.push(String(row[3]));
    },
  });
  return titles;
}
