import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateArticleTitles } from "./article-title-generator.js";
import { openDuckDbFile } from "./duckdb-file.js";
import { generateDataset } from "./generate-dataset.js";
import { IMDB_GENRES } from "./imdb-vocabulary.js";
import { generateMovieQuestions } from "./movie-question-generator.js";
import { DEFAULT_QUERY_SOURCE, writeQueryRecords } from "./query-record.js";
import { TPCH_REGIONS, TPCH_SEGMENTS, TPCH_SHIP_MODES, TPCH_TYPE_SYLLABLES } from "./tpch-domains.js";
import { generateTpchQueries } from "./tpch-query-generator.js";

let directory: string;
let defaultDbPath: string;
let otherDbPath: string;

async function readColumn(path: string, sql: string): Promise<string[]> {
  const file = await openDuckDbFile(path, { readOnly: true });
  try {
    return (await file.connection.runAndReadAll(sql)).getRows().map((row) => String(row[0]));
  } finally {
    file.close();
  }
}

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), "halo-queries-"));
  // The dataset the generators fall back to, and a different one.
  defaultDbPath = join(directory, "default.duckdb");
  await generateDataset({ dataset: "imdb", ...DEFAULT_QUERY_SOURCE, outPath: defaultDbPath });
  await generateDataset({ dataset: "finewiki", ...DEFAULT_QUERY_SOURCE, outPath: defaultDbPath });
  otherDbPath = join(directory, "other.duckdb");
  await generateDataset({ dataset: "imdb", scale: 0.002, seed: 9, outPath: otherDbPath });
  await generateDataset({ dataset: "finewiki", scale: 0.002, seed: 9, outPath: otherDbPath });
});

afterAll(() => {
  rmSync(directory, { recursive: true, force: true });
});

const PARAMETER = /(\w+)=(.+?)(?= \w+=|$)/g;

describe("generateTpchQueries", () => {
  it("writes TPC-H parameter strings with values from the data's domains", () => {
    const records = generateTpchQueries(300, 4);
    expect(records[0]?.id).toBe("tpch-00001");
    expect(new Set(records.map((record) => record.id)).size).toBe(300);
    for (const { context } of records) {
      const fields = Object.fromEntries(
        [...context.user_query.matchAll(PARAMETER)].map((match) => [match[1], match[2]]),
      );
      expect(Number(fields.year)).toBeGreaterThanOrEqual(1993);
      expect(Number(fields.year)).toBeLessThanOrEqual(1997);
      if (fields.region) expect(TPCH_REGIONS as readonly string[]).toContain(fields.region);
      if (fields.segment) expect(TPCH_SEGMENTS as readonly string[]).toContain(fields.segment);
      for (const mode of [fields.shipmode, fields.shipmode2]) {
        if (mode) expect(TPCH_SHIP_MODES as readonly string[]).toContain(mode);
      }
      if (fields.shipmode && fields.shipmode2) expect(fields.shipmode).not.toBe(fields.shipmode2);
      if (fields.brand) expect(fields.brand).toMatch(/^Brand#[1-5][1-5]$/);
      if (fields.type) expect(TPCH_TYPE_SYLLABLES[2] as readonly string[]).toContain(fields.type);
      if (fields.size) expect(Number(fields.size)).toBeGreaterThanOrEqual(1);
      if (fields.date) expect(fields.date).toMatch(/^1995-03-(0[1-9]|[12]\d|3[01])$/);
      if (fields.discount) expect(Number(fields.discount)).toBeLessThanOrEqual(0.09);
    }
    const texts = records.map((record) => record.context.user_query);
    expect(texts[0]).toMatch(/year=\d{4}/);
    // Some queries repeat (coalescing has work), most do not.
    expect(new Set(texts).size).toBeLessThan(300);
    expect(new Set(texts).size).toBeGreaterThan(200);
  });

  it("is deterministic per seed and rejects a bad count", () => {
    expect(generateTpchQueries(50, 4)).toEqual(generateTpchQueries(50, 4));
    expect(generateTpchQueries(50, 5)).not.toEqual(generateTpchQueries(50, 4));
    expect(() => generateTpchQueries(0, 1)).toThrow(/positive integer \(got 0\)/);
    expect(() => generateTpchQueries(2.5, 1)).toThrow(/positive integer/);
  });
});

describe("generateMovieQuestions", () => {
  it("mentions titles, genres and years of the database it is given", async () => {
    const titles = new Set(await readColumn(otherDbPath, "SELECT primary_title FROM title_basics"));
    const records = await generateMovieQuestions(80, 2, otherDbPath);
    expect(records).toHaveLength(80);
    for (const { context } of records) {
      expect(
        [...titles].some((title) => context.user_query.includes(title)),
        context.user_query,
      ).toBe(true);
    }
    const genres = IMDB_GENRES.map((genre) => genre.toLowerCase());
    expect(
      records.some(({ context }) => genres.some((genre) => context.user_query.includes(` ${genre} `))),
    ).toBe(true);
    expect(records.some(({ context }) => /\b(19|20)\d{2}\b/.test(context.user_query))).toBe(true);
    expect(await generateMovieQuestions(80, 2, otherDbPath)).toEqual(records);
  });

  it("without a database uses the default dataset's titles", async () => {
    const fromGenerator = await generateMovieQuestions(60, 3);
    expect(await generateMovieQuestions(60, 3, defaultDbPath)).toEqual(fromGenerator);
  });

  it("reports a database without IMDb tables", async () => {
    const tpchOnly = join(directory, "tpch-only.duckdb");
    await generateDataset({ dataset: "tpch", scale: 0.001, seed: 1, outPath: tpchOnly });
    await expect(generateMovieQuestions(5, 1, tpchOnly)).rejects.toThrow(
      /cannot read IMDb titles from .*tpch-only/,
    );
    await expect(generateMovieQuestions(5, 1, join(directory, "missing.duckdb"))).rejects.toThrow(
      /does not exist/,
    );
  });
});

describe("generateArticleTitles", () => {
  it("picks titles that exist in pages, with some repeats", async () => {
    const titles = new Set(await readColumn(otherDbPath, "SELECT title FROM pages"));
    const records = await generateArticleTitles(300, 1, otherDbPath);
    for (const { context } of records) expect(titles.has(context.user_query)).toBe(true);
    expect(new Set(records.map(({ context }) => context.user_query)).size).toBeLessThan(300);
  });

  it("without a database uses the default dataset's titles", async () => {
    expect(await generateArticleTitles(40, 8, defaultDbPath)).toEqual(await generateArticleTitles(40, 8));
  });
});

describe("writeQueryRecords", () => {
  it("writes one JSON record per line", async () => {
    const path = join(directory, "queries.jsonl");
    const records = generateTpchQueries(3, 1);
    await writeQueryRecords(path, records);
    const lines = readFileSync(path, "utf8").trimEnd().split("\n");
    expect(lines.map((line) => JSON.parse(line))).toEqual(records);
  });
});
