import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DuckDbFile, openDuckDbFile } from "../datasets/duckdb-file.js";
import { generateDataset } from "../datasets/generate-dataset.js";
import { type DataApi, startDataApi } from "./data-api-server.js";
import type { JsonRow } from "./json-rows.js";
import { wikitextCategories, wikitextLinks } from "./wikitext-links.js";

let directory: string;
let dbPath: string;
let api: DataApi;
let file: DuckDbFile;

interface Answer {
  status: number;
  body: { endpoint?: string; params?: Record<string, unknown>; rowcount?: number; rows: JsonRow[] } & Record<
    string,
    unknown
  >;
}

async function get(path: string, base = api.url): Promise<Answer> {
  const response = await fetch(`${base}${path}`);
  expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
  return { status: response.status, body: (await response.json()) as Answer["body"] };
}

/** Rows read directly, for computing expected answers in plain code. */
async function rows(sql: string): Promise<JsonRow[]> {
  return (await file.connection.runAndReadAll(sql)).getRowObjectsJson();
}

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), "halo-data-api-"));
  dbPath = join(directory, "all.duckdb");
  await generateDataset({ dataset: "tpch", scale: 0.01, seed: 2, outPath: dbPath });
  await generateDataset({ dataset: "imdb", scale: 0.002, seed: 2, outPath: dbPath });
  await generateDataset({ dataset: "finewiki", scale: 0.002, seed: 2, outPath: dbPath });
  api = await startDataApi({ dbPath, host: "127.0.0.1", port: 0 });
  file = await openDuckDbFile(dbPath, { readOnly: true });
});

afterAll(async () => {
  await api?.close();
  file?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe("data API over real HTTP", () => {
  it("listens on a free port and lists its datasets and endpoints", async () => {
    expect(api.port).toBeGreaterThan(0);
    expect(api.url).toBe(`http://127.0.0.1:${api.port}`);
    const { status, body } = await get("/health");
    expect(status).toBe(200);
    expect(body.datasets).toEqual(["finewiki", "imdb", "tpch"]);
    expect((body.endpoints as { path: string }[]).map((endpoint) => endpoint.path)).toContain(
      "/tpch/reports/promo-revenue",
    );
  });

  it("searches titles by substring, most-voted first", async () => {
    const { status, body } = await get("/imdb/titles/search?q=river&limit=7");
    expect(status).toBe(200);
    expect(body.endpoint).toBe("/imdb/titles/search");
    expect(body.params).toEqual({ q: "river", limit: 7 });
    const expected = (
      await rows(
        `SELECT b.tconst, b.primary_title, b.original_title, COALESCE(r.num_votes, 0) AS votes
         FROM title_basics b LEFT JOIN title_ratings r USING (tconst)`,
      )
    )
      .filter((row) => `${row.primary_title} ${row.original_title}`.toLowerCase().includes("river"))
      .sort((a, b) => Number(b.votes) - Number(a.votes) || String(a.tconst).localeCompare(String(b.tconst)))
      .slice(0, 7)
      .map((row) => row.tconst);
    expect(body.rows.map((row) => row.tconst)).toEqual(expected);
    expect(body.rowcount).toBe(7);
    expect(typeof body.rows[0]?.num_votes).toBe("number");
  });

  it("filters titles by year and genre, matching the genre case-insensitively", async () => {
    const [sample] = await rows(
      "SELECT start_year, split_part(genres, ',', 1) AS genre FROM title_basics WHERE primary_title ILIKE '%the%' AND genres IS NOT NULL AND start_year IS NOT NULL LIMIT 1",
    );
    const genre = String(sample?.genre);
    const { body } = await get(
      `/imdb/titles/search?q=the&year=${sample?.start_year}&genre=${genre.toUpperCase()}`,
    );
    expect(body.params).toEqual({ q: "the", year: sample?.start_year, genre, limit: 25 });
    expect(body.rowcount).toBeGreaterThan(0);
    for (const row of body.rows) {
      expect(row.start_year).toBe(sample?.start_year);
      expect(String(row.genres).split(",")).toContain(genre);
    }
  });

  it("lists recent movies and searches people", async () => {
    const recent = await get("/imdb/titles/recent?genre=drama&since_year=2010&limit=10");
    expect(recent.body.params).toEqual({ genre: "Drama", since_year: 2010, limit: 10 });
    expect(recent.body.rowcount).toBeGreaterThan(0);
    for (const row of recent.body.rows) {
      expect(Number(row.start_year)).toBeGreaterThanOrEqual(2010);
      expect(["movie", "tvMovie"]).toContain(row.title_type);
      expect(String(row.genres)).toContain("Drama");
    }
    const years = recent.body.rows.map((row) => Number(row.start_year));
    expect(years).toEqual([...years].sort((a, b) => b - a));

    const people = await get("/imdb/people/search?name=an&profession=director&limit=100");
    expect(people.body.rowcount).toBeGreaterThan(0);
    for (const row of people.body.rows) {
      expect(String(row.primary_name).toLowerCase()).toContain("an");
      expect(String(row.primary_profession).split(",")).toContain("director");
    }
    const names = people.body.rows.map((row) => String(row.primary_name));
    expect(names).toEqual([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  });

  it("answers a page's categories with member counts, and its outbound links", async () => {
    const pages = await rows("SELECT page_id, title, wikitext FROM pages ORDER BY page_id");
    const page = pages[0] as JsonRow;
    const title = String(page.title);
    const categories = await get(`/finewiki/categories?title=${encodeURIComponent(title)}`);
    expect(categories.status).toBe(200);
    const expectedCategories = wikitextCategories(String(page.wikitext));
    expect(categories.body.rows.map((row) => row.category).sort()).toEqual([...expectedCategories].sort());
    for (const row of categories.body.rows) {
      const members = pages.filter((other) =>
        wikitextCategories(String(other.wikitext)).includes(String(row.category)),
      );
      expect(row.member_count).toBe(members.length);
      expect(row.member_titles).toEqual(members.slice(0, 5).map((member) => member.title));
      expect(row.url).toBe(
        `https://en.wikipedia.org/wiki/Category:${String(row.category).replaceAll(" ", "_")}`,
      );
    }

    const links = await get(`/finewiki/outbound-links?title=${encodeURIComponent(title)}&limit=4`);
    const expectedLinks = wikitextLinks(String(page.wikitext)).slice(0, 4);
    expect(links.body.rows.map((row) => row.target_title)).toEqual(expectedLinks);
    const idByTitle = new Map(pages.map((other) => [other.title, other.page_id]));
    for (const row of links.body.rows)
      expect(row.target_page_id).toBe(idByTitle.get(row.target_title) ?? null);

    const missing = await get("/finewiki/categories?title=No%20such%20article");
    expect(missing.status).toBe(200);
    expect(missing.body.rowcount).toBe(0);
  });

  it("computes the TPC-H Q12 report", async () => {
    const { body } = await get("/tpch/reports/shipmode-priority?shipmode=mail&shipmode2=SHIP&year=1994");
    expect(body.params).toEqual({ shipmode: "MAIL", shipmode2: "SHIP", year: 1994 });
    const lines = await rows(
      `SELECT l_shipmode, o_orderpriority, l_shipdate, l_commitdate, l_receiptdate
       FROM lineitem JOIN orders ON o_orderkey = l_orderkey`,
    );
    const expected = ["MAIL", "SHIP"].map((mode) => {
      const selected = lines.filter(
        (line) =>
          line.l_shipmode === mode &&
          String(line.l_commitdate) < String(line.l_receiptdate) &&
          String(line.l_shipdate) < String(line.l_commitdate) &&
          String(line.l_receiptdate).startsWith("1994-"),
      );
      const high = selected.filter((line) =>
        ["1-URGENT", "2-HIGH"].includes(String(line.o_orderpriority)),
      ).length;
      return {
        l_shipmode: mode,
        line_count: selected.length,
        high_line_count: high,
        low_line_count: selected.length - high,
      };
    });
    expect(body.rows).toEqual(expected);
    expect(expected[0]?.line_count).toBeGreaterThan(0);
  });

  it("computes the TPC-H Q14 report, September by default", async () => {
    const lines = await rows(
      `SELECT p_type, CAST(l_extendedprice AS DOUBLE) AS price, CAST(l_discount AS DOUBLE) AS discount, l_shipdate
       FROM lineitem JOIN part ON p_partkey = l_partkey`,
    );
    const expected = (year: number, month: number) => {
      const prefix = `${year}-${String(month).padStart(2, "0")}-`;
      let promo = 0;
      let total = 0;
      for (const line of lines.filter((candidate) => String(candidate.l_shipdate).startsWith(prefix))) {
        const revenue = Number(line.price) * (1 - Number(line.discount));
        total += revenue;
        if (String(line.p_type).startsWith("PROMO")) promo += revenue;
      }
      return (100 * promo) / total;
    };
    const september = await get("/tpch/reports/promo-revenue?year=1995");
    expect(september.body.params).toEqual({ year: 1995, month: 9 });
    expect(september.body.rows[0]?.promo_revenue).toBeCloseTo(expected(1995, 9), 2);
    const march = await get("/tpch/reports/promo-revenue?year=1997&month=3");
    expect(march.body.rows[0]?.promo_revenue).toBeCloseTo(expected(1997, 3), 2);
    expect(march.body.rows[0]).toMatchObject({ year: 1997, month: 3 });
  });

  it("computes segment revenue", async () => {
    const { body } = await get("/tpch/reports/segment-revenue?segment=building&year=1996");
    const lines = await rows(
      `SELECT o_orderkey, o_orderpriority, CAST(l_extendedprice * (1 - l_discount) AS DOUBLE) AS revenue
       FROM customer JOIN orders ON o_custkey = c_custkey JOIN lineitem ON l_orderkey = o_orderkey
       WHERE c_mktsegment = 'BUILDING' AND year(o_orderdate) = 1996`,
    );
    const high = lines.filter((line) => ["1-URGENT", "2-HIGH"].includes(String(line.o_orderpriority))).length;
    expect(body.rows).toHaveLength(1);
    expect(body.rows[0]).toMatchObject({
      segment: "BUILDING",
      year: 1996,
      order_count: new Set(lines.map((line) => line.o_orderkey)).size,
      line_count: lines.length,
      high_priority_lines: high,
      low_priority_lines: lines.length - high,
    });
    expect(body.rows[0]?.revenue).toBeCloseTo(
      lines.reduce((sum, line) => sum + Number(line.revenue), 0),
      1,
    );
  });

  it.each([
    ["/imdb/titles/search?year=1999", "q", /missing required parameter 'q'/],
    ["/imdb/titles/search?q=x&year=abc", "year", /'year' must be an integer in \[1870, 2100\] \(got 'abc'\)/],
    ["/imdb/titles/search?q=x&genre=Opera", "genre", /'genre' must be one of Action, .*\(got 'Opera'\)/],
    [
      "/imdb/titles/search?keyword=x",
      "keyword",
      /unknown parameter 'keyword'; expected 'q', 'year', 'genre', 'limit'/,
    ],
    ["/imdb/titles/search?q=x&limit=0", "limit", /'limit' must be an integer in \[1, 100\]/],
    ["/imdb/titles/search?q=a&q=b", "q", /given more than once/],
    ["/imdb/people/search?name=x&profession=pilot", "profession", /'profession' must be one of/],
    [
      "/tpch/reports/shipmode-priority?shipmode=BOAT&shipmode2=SHIP&year=1994",
      "shipmode",
      /must be one of REG AIR/,
    ],
    [
      "/tpch/reports/shipmode-priority?shipmode=MAIL&shipmode2=SHIP&year=1991",
      "year",
      /\[1992, 1998\] \(got '1991'\)/,
    ],
    ["/tpch/reports/promo-revenue?year=1995&month=13", "month", /'month' must be an integer in \[1, 12\]/],
    ["/tpch/reports/segment-revenue?year=1995", "segment", /missing required parameter 'segment'/],
    ["/finewiki/categories?title=", "title", /missing required parameter 'title'/],
  ])("answers %s with 400 naming %s", async (path, parameter, message) => {
    const { status, body } = await get(path);
    expect(status).toBe(400);
    expect(body.parameter).toBe(parameter);
    expect(String(body.error)).toMatch(message);
  });

  it("answers unknown paths with 404 and other methods with 405", async () => {
    const unknown = await get("/imdb/titles/lookup?q=x");
    expect(unknown.status).toBe(404);
    expect(String(unknown.body.error)).toMatch(
      /unknown path \/imdb\/titles\/lookup; endpoints: \/imdb\/titles\/search/,
    );
    const post = await fetch(`${api.url}/imdb/titles/search?q=x`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  it("gives concurrent identical requests the same answer", async () => {
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => get("/tpch/reports/segment-revenue?segment=MACHINERY&year=1993")),
    );
    for (const answer of answers) expect(answer.body).toEqual(answers[0]?.body);
  });
});

describe("data API lifecycle", () => {
  it("answers 503 for a dataset the file lacks and refuses requests after close", async () => {
    const partialPath = join(directory, "finewiki-only.duckdb");
    await generateDataset({ dataset: "finewiki", scale: 0.001, seed: 1, outPath: partialPath });
    const partial = await startDataApi({ dbPath: partialPath, port: 0, cacheEntries: 0 });
    const { status, body } = await get("/tpch/reports/promo-revenue?year=1995", partial.url);
    expect(status).toBe(503);
    expect(String(body.error)).toMatch(
      /dataset tpch is not in .*finewiki-only\.duckdb; generate it with: halo datasets gen tpch/,
    );
    expect((await get("/health", partial.url)).body.datasets).toEqual(["finewiki"]);
    await partial.close();
    await expect(fetch(`${partial.url}/health`)).rejects.toThrow();
  });

  it("reports a missing database file and a port in use", async () => {
    await expect(startDataApi({ dbPath: join(directory, "missing.duckdb"), port: 0 })).rejects.toThrow(
      /missing\.duckdb does not exist/,
    );
    await expect(startDataApi({ dbPath, host: "127.0.0.1", port: api.port })).rejects.toThrow(/EADDRINUSE/);
  });
});
