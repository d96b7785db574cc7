import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DuckDbFile, openDuckDbFile } from "../datasets/duckdb-file.js";
import { generateDataset } from "../datasets/generate-dataset.js";
import { categoryUrl } from "./data-api-endpoints.js";
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

// The expected answers are computed here in plain code from the tables, following the
// prototype's contract (mlsys-io/Halo_demo scripts/mock_api.py), not from the server's SQL.

const byVotesThenId = (a: JsonRow, b: JsonRow) =>
  Number(b.num_votes ?? 0) - Number(a.num_votes ?? 0) || compare(String(a.tconst), String(b.tconst));

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const containsIgnoringCase = (value: unknown, keyword: string) =>
  typeof value === "string" && value.toLowerCase().includes(keyword.toLowerCase());

async function titles(): Promise<JsonRow[]> {
  return rows(
    `SELECT b.tconst, b.primary_title, b.original_title, b.start_year, b.title_type, b.genres,
            r.average_rating, r.num_votes
     FROM title_basics b LEFT JOIN title_ratings r USING (tconst)`,
  );
}

const pick = (row: JsonRow, fields: readonly string[]) =>
  Object.fromEntries(fields.map((field) => [field, row[field] ?? null]));

const SEARCH_FIELDS = [
  "tconst",
  "primary_title",
  "original_title",
  "start_year",
  "title_type",
  "average_rating",
  "num_votes",
];
const RECENT_FIELDS = ["tconst", "primary_title", "start_year", "genres", "average_rating", "num_votes"];
const PEOPLE_FIELDS = ["nconst", "primary_name", "primary_profession", "known_for_titles"];

describe("data API over real HTTP: the prototype's contract", () => {
  it("listens on a free port and lists its datasets, endpoints and aliases", async () => {
    expect(api.port).toBeGreaterThan(0);
    expect(api.url).toBe(`http://127.0.0.1:${api.port}`);
    const { status, body } = await get("/health");
    expect(status).toBe(200);
    expect(body.datasets).toEqual(["finewiki", "imdb", "tpch"]);
    const endpoints = body.endpoints as {
      path: string;
      parameters: string[];
      aliases: Record<string, string>;
    }[];
    expect(endpoints.map((endpoint) => endpoint.path)).toEqual([
      "/imdb/titles/search",
      "/imdb/titles/recent",
      "/imdb/people/search",
      "/finewiki/categories",
      "/finewiki/outbound-links",
      "/tpch/reports/shipmode-priority",
      "/tpch/reports/promo-revenue",
      "/tpch/reports/segment-revenue",
    ]);
    expect(endpoints.map((endpoint) => endpoint.parameters)).toEqual([
      ["keyword", "limit"],
      ["keyword", "since", "limit"],
      ["keyword", "limit"],
      ["topic", "limit"],
      ["topic", "limit"],
      ["shipmode", "shipmode2", "year"],
      ["year"],
      ["segment", "year"],
    ]);
    expect(endpoints[1]?.aliases).toEqual({ since_year: "since" });
  });

  it("searches movies, TV movies and series by keyword in either title, most-voted first, 25 by default", async () => {
    const all = await titles();
    const matching = all
      .filter((row) => ["movie", "tvMovie", "tvSeries"].includes(String(row.title_type)))
      .filter(
        (row) =>
          containsIgnoringCase(row.primary_title, "river") ||
          containsIgnoringCase(row.original_title, "river"),
      )
      .sort(byVotesThenId);
    expect(matching.length).toBeGreaterThan(7);

    const { status, body } = await get("/imdb/titles/search?keyword=RIVER&limit=7");
    expect(status).toBe(200);
    expect(body.endpoint).toBe("/imdb/titles/search");
    expect(body.params).toEqual({ keyword: "RIVER", limit: 7 });
    expect(body.rows).toEqual(matching.slice(0, 7).map((row) => pick(row, SEARCH_FIELDS)));
    expect(body.rowcount).toBe(7);
    expect(Object.keys(body.rows[0] ?? {})).toEqual(SEARCH_FIELDS);

    const defaults = await get("/imdb/titles/search?keyword=river");
    expect(defaults.body.params).toEqual({ keyword: "river", limit: 25 });
    expect(defaults.body.rowcount).toBe(Math.min(25, matching.length));

    // The project's earlier name `q` is an alias, answered under the contract's name.
    const alias = await get("/imdb/titles/search?q=RIVER&limit=7");
    expect(alias.body).toEqual(body);

    // An empty keyword is a value, as in the prototype: every title matches.
    const everything = await get("/imdb/titles/search?keyword=&limit=3");
    expect(everything.status).toBe(200);
    expect(everything.body.rows.map((row) => row.tconst)).toEqual(
      all
        .filter((row) => ["movie", "tvMovie", "tvSeries"].includes(String(row.title_type)))
        .sort(byVotesThenId)
        .slice(0, 3)
        .map((row) => row.tconst),
    );
  });

  it("lists recent movies and TV movies matching the keyword, since 2000 and 15 by default", async () => {
    const all = await titles();
    const recent = (keyword: string, since: number) =>
      all
        .filter((row) => ["movie", "tvMovie"].includes(String(row.title_type)))
        .filter((row) => row.start_year !== null && Number(row.start_year) >= since)
        .filter(
          (row) =>
            containsIgnoringCase(row.primary_title, keyword) ||
            containsIgnoringCase(row.original_title, keyword),
        )
        .sort(byVotesThenId);
    const expected = recent("the", 2010);
    expect(expected.length).toBeGreaterThan(10);
    const { body } = await get("/imdb/titles/recent?keyword=the&since=2010&limit=10");
    expect(body.params).toEqual({ keyword: "the", since: 2010, limit: 10 });
    expect(body.rows).toEqual(expected.slice(0, 10).map((row) => pick(row, RECENT_FIELDS)));

    const defaults = await get("/imdb/titles/recent?keyword=the");
    expect(defaults.body.params).toEqual({ keyword: "the", since: 2000, limit: 15 });
    expect(defaults.body.rows.map((row) => row.tconst)).toEqual(
      recent("the", 2000)
        .slice(0, 15)
        .map((row) => row.tconst),
    );
    const alias = await get("/imdb/titles/recent?keyword=the&since_year=2010&limit=10");
    expect(alias.body).toEqual(body);
  });

  it("searches people by keyword in name order, 40 by default", async () => {
    const people = (
      await rows("SELECT nconst, primary_name, primary_profession, known_for_titles FROM name_basics")
    )
      .filter((row) => containsIgnoringCase(row.primary_name, "an"))
      .sort(
        (a, b) =>
          compare(String(a.primary_name), String(b.primary_name)) ||
          compare(String(a.nconst), String(b.nconst)),
      );
    expect(people.length).toBeGreaterThan(40);
    const { body } = await get("/imdb/people/search?keyword=an");
    expect(body.params).toEqual({ keyword: "an", limit: 40 });
    expect(body.rows).toEqual(people.slice(0, 40).map((row) => pick(row, PEOPLE_FIELDS)));
    const alias = await get("/imdb/people/search?name=an");
    expect(alias.body).toEqual(body);
  });

  it("answers the categories of the articles matching a topic, most shared first, with their member pages", async () => {
    const pages = await rows(
      "SELECT page_id, title, url, wikitext FROM pages WHERE in_language = 'en' ORDER BY page_id",
    );
    // A word in many titles, so that the 40-article pool and the limit both matter.
    const counts = new Map<string, number>();
    for (const page of pages)
      for (const word of new Set(String(page.title).toLowerCase().split(/\s+/)))
        if (word.length > 3) counts.set(word, (counts.get(word) ?? 0) + 1);
    const [topic] = [...counts].sort((a, b) => b[1] - a[1] || compare(a[0], b[0]))[0] ?? ["", 0];
    const matching = pages.filter((page) => containsIgnoringCase(page.title, topic));
    expect(matching.length).toBeGreaterThan(40);

    const pool = matching.slice(0, 40);
    const members = new Map<string, string[]>();
    for (const page of pool)
      for (const category of wikitextCategories(String(page.wikitext)))
        members.set(category, [...(members.get(category) ?? []), String(page.title)]);
    const expected = [...members]
      .sort((a, b) => b[1].length - a[1].length || compare(a[0], b[0]))
      .map(([category, titles]) => ({
        category,
        title: `Category:${category}`,
        url: categoryUrl(category),
        member_count: titles.length,
        member_pages: titles.slice(0, 10),
      }));

    const { status, body } = await get(
      `/finewiki/categories?topic=${encodeURIComponent(topic.toUpperCase())}&limit=5`,
    );
    expect(status).toBe(200);
    expect(body.params).toEqual({ topic: topic.toUpperCase(), limit: 5 });
    expect(body.pages_scanned).toBe(40);
    expect(body.rows).toEqual(expected.slice(0, 5));
    expect(body.rows[0]?.member_count).toBeGreaterThan(1);

    const defaults = await get(`/finewiki/categories?topic=${encodeURIComponent(topic)}`);
    expect(defaults.body.params).toEqual({ topic, limit: 30 });
    expect(defaults.body.rows).toEqual(expected.slice(0, 30));
    const alias = await get(`/finewiki/categories?title=${encodeURIComponent(topic.toUpperCase())}&limit=5`);
    expect(alias.body).toEqual(body);

    const none = await get("/finewiki/categories?topic=No%20such%20article%20anywhere");
    expect(none.body).toMatchObject({ pages_scanned: 0, rowcount: 0, rows: [] });
  });

  it("answers one row per article matching a topic with its outbound links, 40 articles by default", async () => {
    const pages = await rows(
      "SELECT page_id, title, url, wikitext FROM pages WHERE in_language = 'en' ORDER BY page_id",
    );
    const article = pages[3] as JsonRow;
    const topic = String(article.title);
    const expected = pages
      .filter((page) => containsIgnoringCase(page.title, topic))
      .map((page) => {
        const links = wikitextLinks(String(page.wikitext));
        return {
          page_id: page.page_id,
          title: page.title,
          url: page.url,
          outbound_link_count: links.length,
          outbound_links: links.slice(0, 25),
        };
      });
    const { body } = await get(`/finewiki/outbound-links?topic=${encodeURIComponent(topic)}`);
    expect(body.params).toEqual({ topic, limit: 40 });
    expect(body.rows).toEqual(expected.slice(0, 40));
    expect(body.rows[0]?.title).toBe(topic);
    expect(body.rows[0]?.outbound_link_count).toBeGreaterThan(0);

    // A common word: many articles, the limit counts articles.
    const many = await get("/finewiki/outbound-links?topic=a&limit=3");
    expect(many.body.rows.map((row) => row.page_id)).toEqual(
      pages
        .filter((page) => containsIgnoringCase(page.title, "a"))
        .slice(0, 3)
        .map((page) => page.page_id),
    );
    for (const row of many.body.rows) expect((row.outbound_links as string[]).length).toBeLessThanOrEqual(25);
    const alias = await get(`/finewiki/outbound-links?title=${encodeURIComponent(topic)}`);
    expect(alias.body).toEqual(body);
  });

  it("computes the TPC-H Q12 report, accepting the prototype's ship mode spelling AIR REG", async () => {
    const lines = await rows(
      `SELECT l_shipmode, o_orderpriority, l_shipdate, l_commitdate, l_receiptdate
       FROM lineitem JOIN orders ON o_orderkey = l_orderkey`,
    );
    const expected = (modes: string[], year: number) =>
      [...modes].sort(compare).flatMap((mode) => {
        const selected = lines.filter(
          (line) =>
            line.l_shipmode === mode &&
            String(line.l_commitdate) < String(line.l_receiptdate) &&
            String(line.l_shipdate) < String(line.l_commitdate) &&
            String(line.l_receiptdate).startsWith(`${year}-`),
        );
        const high = selected.filter((line) =>
          ["1-URGENT", "2-HIGH"].includes(String(line.o_orderpriority)),
        ).length;
        if (selected.length === 0) return [];
        return [
          {
            l_shipmode: mode,
            line_count: selected.length,
            high_line_count: high,
            low_line_count: selected.length - high,
          },
        ];
      });
    const { body } = await get("/tpch/reports/shipmode-priority?shipmode=SHIP&shipmode2=mail&year=1994");
    expect(body.report).toBe("TPC-H Q12: shipping modes and order priority");
    expect(body.params).toEqual({ shipmode: "SHIP", shipmode2: "MAIL", year: 1994 });
    expect(body.rows).toEqual(expected(["SHIP", "MAIL"], 1994));
    expect(body.rowcount).toBe(2);

    const airReg = await get("/tpch/reports/shipmode-priority?shipmode=AIR%20REG&shipmode2=AIR&year=1995");
    expect(airReg.status).toBe(200);
    expect(airReg.body.params).toEqual({ shipmode: "REG AIR", shipmode2: "AIR", year: 1995 });
    expect(airReg.body.rows).toEqual(expected(["REG AIR", "AIR"], 1995));
    expect(airReg.body.rowcount).toBe(2);

    // A year without data: no rows, as in the prototype.
    const empty = await get("/tpch/reports/shipmode-priority?shipmode=SHIP&shipmode2=MAIL&year=1985");
    expect(empty.body).toMatchObject({ rowcount: 0, rows: [] });
  });

  it("computes the TPC-H Q14 report for September of a year, null without lines", async () => {
    const lines = await rows(
      `SELECT p_type, CAST(l_extendedprice AS DOUBLE) AS price, CAST(l_discount AS DOUBLE) AS discount, l_shipdate
       FROM lineitem JOIN part ON p_partkey = l_partkey`,
    );
    let promo = 0;
    let total = 0;
    for (const line of lines.filter((candidate) => String(candidate.l_shipdate).startsWith("1995-09-"))) {
      const revenue = Number(line.price) * (1 - Number(line.discount));
      total += revenue;
      if (String(line.p_type).startsWith("PROMO")) promo += revenue;
    }
    const { body } = await get("/tpch/reports/promo-revenue?year=1995");
    expect(body.report).toBe("TPC-H Q14: promotion effect (September)");
    expect(body.params).toEqual({ year: 1995 });
    expect(body.rows).toHaveLength(1);
    expect(Object.keys(body.rows[0] ?? {})).toEqual(["promo_revenue"]);
    expect(body.rows[0]?.promo_revenue).toBeCloseTo((100 * promo) / total, 6);

    const none = await get("/tpch/reports/promo-revenue?year=2005");
    expect(none.body).toMatchObject({ rowcount: 1, rows: [{ promo_revenue: null }] });
  });

  it("computes segment revenue with the prototype's field names, and its empty answer", async () => {
    const lines = await rows(
      `SELECT o_orderpriority, CAST(l_extendedprice * (1 - l_discount) AS DOUBLE) AS revenue
       FROM customer JOIN orders ON o_custkey = c_custkey JOIN lineitem ON l_orderkey = o_orderkey
       WHERE c_mktsegment = 'BUILDING' AND year(o_orderdate) = 1996 AND l_shipdate > o_orderdate`,
    );
    const high = lines.filter((line) => ["1-URGENT", "2-HIGH"].includes(String(line.o_orderpriority))).length;
    const { body } = await get("/tpch/reports/segment-revenue?segment=building&year=1996");
    expect(body.report).toBe("Revenue and order-priority mix of a market segment");
    expect(body.params).toEqual({ segment: "BUILDING", year: 1996 });
    expect(body.rows).toHaveLength(1);
    expect(Object.keys(body.rows[0] ?? {})).toEqual([
      "revenue",
      "line_cnt",
      "high_pri_lines",
      "low_pri_lines",
    ]);
    expect(body.rows[0]).toMatchObject({
      line_cnt: lines.length,
      high_pri_lines: high,
      low_pri_lines: lines.length - high,
    });
    expect(lines.length).toBeGreaterThan(0);
    expect(body.rows[0]?.revenue).toBeCloseTo(
      lines.reduce((sum, line) => sum + Number(line.revenue), 0),
      1,
    );
    const none = await get("/tpch/reports/segment-revenue?segment=BUILDING&year=1980");
    expect(none.body.rows).toEqual([
      { revenue: null, line_cnt: 0, high_pri_lines: null, low_pri_lines: null },
    ]);
  });

  // The HTTP nodes of the prototype's evaluation workflows (templates/exps/w1–w6 in
  // mlsys-io/Halo_demo), with the values their templates render: a planner's keyword,
  // an article title, the regex extractor's TPC-H parameters (its defaults and its
  // ship mode spellings, AIR REG among them).
  it.each([
    ["w1 http_entry_movie_by_title", "/imdb/titles/search?keyword=Lantern&limit=25"],
    ["w1 http_entry_movie_recent", "/imdb/titles/recent?keyword=Lantern&since=2000&limit=15"],
    ["w2 http_people_overview", "/imdb/people/search?keyword=an&limit=40"],
    ["w3 http_fw_category_pages", "/finewiki/categories?topic=Brook&limit=30"],
    ["w3 http_fw_outbound_links", "/finewiki/outbound-links?topic=Brook&limit=40"],
    ["w4 http_fw_category_pages", "/finewiki/categories?topic=Brook&limit=20"],
    ["w5 http_tpch_q12_shipmode", "/tpch/reports/shipmode-priority?shipmode=MAIL&shipmode2=SHIP&year=1994"],
    ["w5 http_tpch_q14_promo", "/tpch/reports/promo-revenue?year=1994"],
    ["w6 http_s1_q3_q3_segment_revenue", "/tpch/reports/segment-revenue?segment=BUILDING&year=1994"],
    [
      "w6 http_s1_q3_q12_shipmode_priority",
      "/tpch/reports/shipmode-priority?shipmode=AIR%20REG&shipmode2=TRUCK&year=1997",
    ],
  ])("answers the prototype's %s request", async (_node, path) => {
    const { status, body } = await get(path);
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.endpoint).toBe(path.split("?")[0]);
    expect(body.rowcount).toBe(body.rows.length);
    expect(body.rowcount).toBeGreaterThan(0);
  });

  it.each([
    ["/imdb/titles/search?limit=5", "keyword", /missing required parameter 'keyword'/],
    [
      "/imdb/titles/search?keyword=x&limit=0",
      "limit",
      /'limit' must be an integer in \[1, 100\] \(got '0'\)/,
    ],
    ["/imdb/titles/search?keyword=x&limit=101", "limit", /'limit' must be an integer in \[1, 100\]/],
    ["/imdb/titles/search?keyword=x&limit=ten", "limit", /'limit' must be an integer/],
    ["/imdb/titles/search?keyword=a&keyword=b", "keyword", /given more than once/],
    ["/imdb/titles/search?keyword=a&q=b", "q", /'q' is given more than once \(also as 'keyword'\)/],
    [
      "/imdb/titles/search?keyword=x&genre=Drama",
      "genre",
      /unknown parameter 'genre'; expected 'keyword', 'limit'/,
    ],
    ["/imdb/titles/recent?since=2000", "keyword", /missing required parameter 'keyword'/],
    [
      `/imdb/titles/recent?keyword=${"x".repeat(2001)}`,
      "keyword",
      /'keyword' is longer than 2000 characters/,
    ],
    ["/imdb/titles/recent?keyword=x&since=abc", "since", /'since' must be an integer/],
    ["/imdb/people/search?keyword=x&profession=actor", "profession", /unknown parameter 'profession'/],
    ["/finewiki/categories?limit=3", "topic", /missing required parameter 'topic'/],
    ["/finewiki/outbound-links?topic=x&limit=500", "limit", /\[1, 100\]/],
    [
      "/tpch/reports/shipmode-priority?shipmode=BOAT&shipmode2=SHIP&year=1994",
      "shipmode",
      /'shipmode' must be one of REG AIR, AIR, RAIL, SHIP, TRUCK, MAIL, FOB, AIR REG \(got 'BOAT'\)/,
    ],
    [
      "/tpch/reports/shipmode-priority?shipmode=MAIL&year=1994",
      "shipmode2",
      /missing required parameter 'shipmode2'/,
    ],
    [
      "/tpch/reports/promo-revenue?year=95",
      "year",
      /'year' must be an integer in \[1000, 9999\] \(got '95'\)/,
    ],
    ["/tpch/reports/promo-revenue?year=1995&month=3", "month", /unknown parameter 'month'/],
    ["/tpch/reports/segment-revenue?year=1995", "segment", /missing required parameter 'segment'/],
    [
      "/tpch/reports/segment-revenue?segment=RETAIL&year=1995",
      "segment",
      /'segment' must be one of AUTOMOBILE/,
    ],
  ])("answers %s with 400 naming %s", async (path, parameter, message) => {
    const { status, body } = await get(path);
    expect(status).toBe(400);
    expect(body.parameter).toBe(parameter);
    expect(String(body.error)).toMatch(message);
  });

  it("binds parameters: SQL in a keyword is only text", async () => {
    const { status, body } = await get(`/imdb/titles/search?keyword=${encodeURIComponent("x' OR 1=1 --")}`);
    expect(status).toBe(200);
    expect(body.rowcount).toBe(0);
  });

  it("answers unknown paths with 404 and other methods with 405", async () => {
    const unknown = await get("/imdb/titles/lookup?keyword=x");
    expect(unknown.status).toBe(404);
    expect(String(unknown.body.error)).toMatch(
      /unknown path \/imdb\/titles\/lookup; endpoints: \/imdb\/titles\/search/,
    );
    const post = await fetch(`${api.url}/imdb/titles/search?keyword=x`, { method: "POST" });
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
