import { Sfc32 } from "@halo/seeded-random";
import { DatasetInputError } from "./dataset-input-error.js";
import { openDuckDbFile } from "./duckdb-file.js";
import { IMDB_DATASET } from "./imdb-dataset.js";
import {
  buildQueryRecords,
  DEFAULT_QUERY_SOURCE,
  type QueryRecord,
  validateQueryCount,
} from "./query-record.js";
import type { RowValue } from "./table-schema.js";

/** A title questions can be about. */
interface QuestionTitle {
  readonly title: string;
  readonly year: number;
  readonly genres: readonly string[];
}

/** Questions are about the most-voted titles, as real users ask about well-known ones. */
const CANDIDATE_TITLES = 2_000;

const QUESTION_TEMPLATES: readonly ((title: QuestionTitle, genre: string) => string)[] = [
  (title) => `Who directed ${title.title} (${title.year})?`,
  (title) => `What is the IMDb rating of ${title.title}?`,
  (title, genre) => `Which ${genre} movies from ${title.year} are worth watching besides ${title.title}?`,
  (title) => `Who wrote ${title.title} and what else are they known for?`,
  (title, genre) =>
    `Recommend ${genre} titles released since ${title.year} that are similar to ${title.title}.`,
  (title) => `What alternate titles does ${title.title} have in other countries?`,
  (title) => `Tell me about the people behind ${title.title} (${title.year}).`,
  (title, genre) =>
    `How does ${title.title} compare with other ${genre} films of the ${Math.floor(title.year / 10) * 10}s?`,
];

/**
 * Natural-language movie questions that mention generated titles, their
 * genres and years. Titles come from `title_basics` of `dbPath` (an IMDb
 * dataset from `generateDataset`), or, without it, from the dataset the
 * generator writes with its default scale and seed.
 */
export async function generateMovieQuestions(
  count: number,
  seed: number,
  dbPath?: string,
): Promise<QueryRecord[]> {
  validateQueryCount(count);
  const titles = dbPath ? await titlesFromDatabase(dbPath) : titlesFromGenerator();
  if (titles.length === 0)
    throw new DatasetInputError(`${dbPath} has no rated titles with a year and genres`);
  const random = Sfc32.fromParts("imdb-questions", seed);
  return buildQueryRecords("imdb", count, random, () => {
    const title = random.pick(titles);
    return random.pick(QUESTION_TEMPLATES)(title, random.pick(title.genres).toLowerCase());
  });
}

async function titlesFromDatabase(dbPath: string): Promise<QuestionTitle[]> {
  const file = await openDuckDbFile(dbPath, { readOnly: true });
  try {
    const reader = await file.connection.runAndReadAll(
      `SELECT b.primary_title, b.start_year, b.genres
       FROM title_basics b JOIN title_ratings r ON r.tconst = b.tconst
       WHERE b.title_type IN ('movie', 'tvMovie', 'tvSeries') AND b.start_year IS NOT NULL AND b.genres IS NOT NULL
       ORDER BY r.num_votes DESC, b.tconst
       LIMIT ${CANDIDATE_TITLES}`,
    );
    return reader.getRows().map(([title, year, genres]) => ({
      title: String(title),
      year: Number(year),
      genres: String(genres).split(","),
    }));
  } catch (error) {
    throw new DatasetInputError(
      `cannot read IMDb titles from ${dbPath}: ${error instanceof Error ? error.message : String(error)}`,
    );
  } finally {
    file.close();
  }
}

function titlesFromGenerator(): QuestionTitle[] {
  const basics: RowValue[][] = [];
  const votes = new Map<string, number>();
  IMDB_DATASET.generate(DEFAULT_QUERY_SOURCE, {
    table: (name) => {
      if (name === "title_basics") return (row) => basics.push(row);
      if (name === "title_ratings") return (row) => votes.set(String(row[0]), Number(row[2]));
      return () => {};
    },
  });
  // Same selection as the SQL above; column order is that of IMDB_TABLES' title_basics.
  return basics
    .filter(([tconst, type, , , , year, , , genres]) => {
      return (
        ["movie", "tvMovie", "tvSeries"].includes(String(type)) &&
        year !== null &&
        genres !== null &&
        votes.has(String(tconst))
      );
    })
    .sort(
      ([a], [b]) =>
        (votes.get(String(b)) ?? 0) - (votes.get(String(a)) ?? 0) || String(a).localeCompare(String(b)),
    )
    .slice(0, CANDIDATE_TITLES)
    .map(([, , title, , , year, , , genres]) => ({
      title: String(title),
      year: Number(year),
      genres: String(genres).split(","),
    }));
}
