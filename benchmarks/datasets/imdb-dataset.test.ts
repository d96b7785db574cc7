import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DuckDbFile, openDuckDbFile } from "./duckdb-file.js";
import { generateDataset } from "./generate-dataset.js";
import { IMDB_GENRES, IMDB_PROFESSIONS, IMDB_TITLE_TYPES } from "./imdb-vocabulary.js";

let directory: string;
let file: DuckDbFile;

async function scalar(sql: string): Promise<unknown> {
  return (await file.connection.runAndReadAll(sql)).getRowsJson()[0]?.[0];
}

async function column(sql: string): Promise<unknown[]> {
  return (await file.connection.runAndReadAll(sql)).getRowsJson().map((row) => row[0]);
}

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), "halo-imdb-"));
  const path = join(directory, "imdb.duckdb");
  await generateDataset({ dataset: "imdb", scale: 0.003, seed: 5, outPath: path });
  file = await openDuckDbFile(path, { readOnly: true });
});

afterAll(() => {
  file?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe("IMDb-shaped generator", () => {
  it("writes IMDb-style identifiers and title types", async () => {
    expect(
      await scalar("SELECT COUNT(*) FROM title_basics WHERE NOT regexp_full_match(tconst, 'tt\\d{7}')"),
    ).toBe("0");
    expect(
      await scalar("SELECT COUNT(*) FROM name_basics WHERE NOT regexp_full_match(nconst, 'nm\\d{7}')"),
    ).toBe("0");
    expect(await scalar("SELECT MIN(tconst) FROM title_basics")).toBe("tt0000001");
    expect(await column("SELECT DISTINCT title_type FROM title_basics ORDER BY 1")).toEqual(
      IMDB_TITLE_TYPES.map((entry) => entry.type).sort(),
    );
  });

  it("draws genres and professions from IMDb's vocabulary, comma-separated", async () => {
    const genres = await column(
      "SELECT DISTINCT unnest(string_split(genres, ',')) FROM title_basics ORDER BY 1",
    );
    expect(genres).toEqual([...IMDB_GENRES].sort());
    expect(
      await scalar(
        "SELECT COUNT(*) FROM title_basics WHERE genres <> array_to_string(list_sort(string_split(genres, ',')), ',')",
      ),
    ).toBe("0");
    const professions = await column(
      "SELECT DISTINCT unnest(string_split(primary_profession, ',')) FROM name_basics ORDER BY 1",
    );
    for (const profession of professions)
      expect(IMDB_PROFESSIONS as readonly unknown[]).toContain(profession);
  });

  it("keeps years, runtimes and ratings plausible", async () => {
    expect(await scalar("SELECT MIN(start_year) >= 1920 AND MAX(start_year) <= 2024 FROM title_basics")).toBe(
      true,
    );
    expect(await scalar("SELECT COUNT(*) FROM title_basics WHERE end_year < start_year")).toBe("0");
    expect(
      await scalar(
        "SELECT COUNT(*) FROM title_basics WHERE end_year IS NOT NULL AND title_type NOT IN ('tvSeries', 'tvMiniSeries')",
      ),
    ).toBe("0");
    expect(
      await scalar("SELECT MIN(average_rating) >= 1 AND MAX(average_rating) <= 10 FROM title_ratings"),
    ).toBe(true);
    expect(
      await scalar(
        "SELECT COUNT(*) FROM title_ratings WHERE average_rating * 10 <> ROUND(average_rating * 10)",
      ),
    ).toBe("0");
    expect(await scalar("SELECT COUNT(*) FROM name_basics WHERE death_year < birth_year")).toBe("0");
    // Recent years are more frequent, as in IMDb.
    expect(
      await scalar(
        "SELECT COUNT(*) FILTER (start_year >= 2000) > COUNT(*) FILTER (start_year < 1960) FROM title_basics",
      ),
    ).toBe(true);
  });

  it("references only existing titles and people", async () => {
    const orphans = [
      "SELECT COUNT(*) FROM title_ratings WHERE tconst NOT IN (SELECT tconst FROM title_basics)",
      "SELECT COUNT(*) FROM title_crew WHERE tconst NOT IN (SELECT tconst FROM title_basics)",
      "SELECT COUNT(*) FROM title_akas WHERE title_id NOT IN (SELECT tconst FROM title_basics)",
      "SELECT COUNT(*) FROM (SELECT unnest(string_split(directors, ',')) AS n FROM title_crew) WHERE n NOT IN (SELECT nconst FROM name_basics)",
      "SELECT COUNT(*) FROM (SELECT unnest(string_split(writers, ',')) AS n FROM title_crew) WHERE n NOT IN (SELECT nconst FROM name_basics)",
      "SELECT COUNT(*) FROM (SELECT unnest(string_split(known_for_titles, ',')) AS t FROM name_basics) WHERE t NOT IN (SELECT tconst FROM title_basics)",
    ];
    for (const sql of orphans) expect(await scalar(sql), sql).toBe("0");
    // Directors are people whose professions include director.
    expect(
      await scalar(
        `SELECT COUNT(*) FROM (SELECT unnest(string_split(directors, ',')) AS n FROM title_crew) d
         JOIN name_basics ON nconst = d.n WHERE NOT contains(primary_profession, 'director')`,
      ),
    ).toBe("0");
  });

  it("gives every title one original alternate title first, then regional ones", async () => {
    expect(
      await scalar(
        `SELECT COUNT(*) FROM title_basics b JOIN title_akas a ON a.title_id = b.tconst AND a.ordering = 1
         WHERE a.title = b.original_title AND a.is_original_title AND a.region IS NULL`,
      ),
    ).toBe(await scalar("SELECT CAST(COUNT(*) AS VARCHAR) FROM title_basics"));
    expect(
      await scalar(
        "SELECT COUNT(*) FROM title_akas WHERE ordering > 1 AND (region IS NULL OR is_original_title)",
      ),
    ).toBe("0");
  });
});
