import { type DuckDBValue, listValue } from "@duckdb/node-api";
import type { DatasetName } from "../datasets/dataset-definition.js";
import { articleUrl } from "../datasets/finewiki-dataset.js";
import { IMDB_GENRES, IMDB_PROFESSIONS } from "../datasets/imdb-vocabulary.js";
import { TPCH_FIRST_YEAR, TPCH_LAST_YEAR, TPCH_SEGMENTS, TPCH_SHIP_MODES } from "../datasets/tpch-domains.js";
import type { JsonRow } from "./json-rows.js";
import type { ParameterSpec, ParameterValues } from "./request-parameters.js";
import { wikitextCategories, wikitextLinks } from "./wikitext-links.js";

/** Runs one SQL statement with bound `$name` parameters and returns its rows as JSON. */
export type SqlRunner = (sql: string, values?: Record<string, DuckDBValue>) => Promise<JsonRow[]>;

/** One endpoint of the reference data API. */
export interface DataApiEndpoint {
  readonly path: string;
  /** The dataset whose tables it reads. */
  readonly dataset: DatasetName;
  /** One line for the endpoint list. */
  readonly description: string;
  readonly parameters: readonly ParameterSpec[];
  /** Rows of the answer; SQL text is constant per endpoint shape, values are always bound. */
  rows(parameters: ParameterValues, run: SqlRunner): Promise<JsonRow[]>;
}

const limit = (defaultValue: number): ParameterSpec => ({
  name: "limit",
  kind: "integer",
  required: false,
  minimum: 1,
  maximum: 100,
  defaultValue,
});

const tpchYear: ParameterSpec = {
  name: "year",
  kind: "integer",
  required: true,
  minimum: TPCH_FIRST_YEAR,
  maximum: TPCH_LAST_YEAR,
};

const HIGH_PRIORITIES = "('1-URGENT', '2-HIGH')";

/** Every endpoint, by path. */
export const DATA_API_ENDPOINTS: readonly DataApiEndpoint[] = [
  {
    path: "/imdb/titles/search",
    dataset: "imdb",
    description: "titles whose primary or original title contains q, most-voted first",
    parameters: [
      { name: "q", kind: "text", required: true, maxLength: 200 },
      { name: "year", kind: "integer", required: false, minimum: 1870, maximum: 2100 },
      { name: "genre", kind: "enum", required: false, values: IMDB_GENRES },
      limit(25),
    ],
    rows: (parameters, run) =>
      run(
        `SELECT b.tconst, b.primary_title, b.original_title, b.title_type, b.start_year, b.genres,
                r.average_rating, r.num_votes
         FROM title_basics b LEFT JOIN title_ratings r ON r.tconst = b.tconst
         WHERE (contains(lower(b.primary_title), lower($q)) OR contains(lower(b.original_title), lower($q)))
           ${parameters.year === undefined ? "" : "AND b.start_year = $year"}
           ${parameters.genre === undefined ? "" : "AND list_contains(string_split(b.genres, ','), $genre)"}
         ORDER BY COALESCE(r.num_votes, 0) DESC, b.tconst
         LIMIT $limit`,
        parameters,
      ),
  },
  {
    path: "/imdb/titles/recent",
    dataset: "imdb",
    description: "movies and TV movies released in or after since_year, newest and most-voted first",
    parameters: [
      { name: "genre", kind: "enum", required: false, values: IMDB_GENRES },
      {
        name: "since_year",
        kind: "integer",
        required: false,
        minimum: 1870,
        maximum: 2100,
        defaultValue: 2000,
      },
      limit(15),
    ],
    rows: (parameters, run) =>
      run(
        `SELECT b.tconst, b.primary_title, b.title_type, b.start_year, b.genres, r.average_rating, r.num_votes
         FROM title_basics b LEFT JOIN title_ratings r ON r.tconst = b.tconst
         WHERE b.title_type IN ('movie', 'tvMovie') AND b.start_year >= $since_year
           ${parameters.genre === undefined ? "" : "AND list_contains(string_split(b.genres, ','), $genre)"}
         ORDER BY b.start_year DESC, COALESCE(r.num_votes, 0) DESC, b.tconst
         LIMIT $limit`,
        parameters,
      ),
  },
  {
    path: "/imdb/people/search",
    dataset: "imdb",
    description: "people whose name contains name, optionally with a profession, in name order",
    parameters: [
      { name: "name", kind: "text", required: true, maxLength: 200 },
      { name: "profession", kind: "enum", required: false, values: IMDB_PROFESSIONS },
      limit(40),
    ],
    rows: (parameters, run) =>
      run(
        `SELECT nconst, primary_name, birth_year, death_year, primary_profession, known_for_titles
         FROM name_basics
         WHERE contains(lower(primary_name), lower($name))
           ${parameters.profession === undefined ? "" : "AND list_contains(string_split(primary_profession, ','), lower($profession))"}
         ORDER BY primary_name, nconst
         LIMIT $limit`,
        parameters,
      ),
  },
  {
    path: "/finewiki/categories",
    dataset: "finewiki",
    description: "categories of the article titled title, each with its member count and first members",
    parameters: [{ name: "title", kind: "text", required: true, maxLength: 300 }, limit(30)],
    rows: async (parameters, run) => {
      const categories = wikitextCategories(await pageWikitext(parameters.title, run));
      if (categories.length === 0) return [];
      const rows = await run(
        `SELECT c.category, COUNT(p.page_id) AS member_count, list(p.title ORDER BY p.page_id)[1:5] AS member_titles
         FROM unnest($categories) AS c(category)
         JOIN pages p ON contains(p.wikitext, '[[Category:' || c.category || ']]')
         GROUP BY c.category
         ORDER BY member_count DESC, c.category
         LIMIT $limit`,
        { categories: listValue(categories), limit: parameters.limit as number },
      );
      return rows.map((row) => ({ ...row, url: articleUrl(`Category:${String(row.category)}`) }));
    },
  },
  {
    path: "/finewiki/outbound-links",
    dataset: "finewiki",
    description:
      "article titles the article titled title links to, in page order, with the linked page if it exists",
    parameters: [{ name: "title", kind: "text", required: true, maxLength: 300 }, limit(40)],
    rows: async (parameters, run) => {
      const links = wikitextLinks(await pageWikitext(parameters.title, run)).slice(
        0,
        parameters.limit as number,
      );
      if (links.length === 0) return [];
      const found = await run(
        "SELECT title, page_id, url FROM pages WHERE title IN (SELECT unnest($titles))",
        {
          titles: listValue(links),
        },
      );
      const byTitle = new Map(found.map((row) => [row.title, row]));
      return links.map((title, index) => ({
        position: index + 1,
        target_title: title,
        target_page_id: byTitle.get(title)?.page_id ?? null,
        target_url: byTitle.get(title)?.url ?? null,
      }));
    },
  },
  {
    path: "/tpch/reports/shipmode-priority",
    dataset: "tpch",
    description: "TPC-H Q12: lines of high- and low-priority orders per ship mode, received in year",
    parameters: [
      { name: "shipmode", kind: "enum", required: true, values: TPCH_SHIP_MODES },
      { name: "shipmode2", kind: "enum", required: true, values: TPCH_SHIP_MODES },
      tpchYear,
    ],
    rows: (parameters, run) =>
      run(
        `SELECT l.l_shipmode,
                COUNT(*) AS line_count,
                SUM(CASE WHEN o.o_orderpriority IN ${HIGH_PRIORITIES} THEN 1 ELSE 0 END) AS high_line_count,
                SUM(CASE WHEN o.o_orderpriority NOT IN ${HIGH_PRIORITIES} THEN 1 ELSE 0 END) AS low_line_count
         FROM orders o JOIN lineitem l ON l.l_orderkey = o.o_orderkey
         WHERE l.l_shipmode IN ($shipmode, $shipmode2)
           AND l.l_commitdate < l.l_receiptdate AND l.l_shipdate < l.l_commitdate
           AND l.l_receiptdate >= make_date($year, 1, 1) AND l.l_receiptdate < make_date($year + 1, 1, 1)
         GROUP BY l.l_shipmode
         ORDER BY l.l_shipmode`,
        parameters,
      ),
  },
  {
    path: "/tpch/reports/promo-revenue",
    dataset: "tpch",
    description:
      "TPC-H Q14: percentage of revenue from PROMO parts among lines shipped in year/month (month 9 by default)",
    parameters: [
      tpchYear,
      { name: "month", kind: "integer", required: false, minimum: 1, maximum: 12, defaultValue: 9 },
    ],
    rows: (parameters, run) =>
      run(
        `SELECT $year AS year, $month AS month,
                ROUND(100.00 * SUM(CASE WHEN p.p_type LIKE 'PROMO%' THEN l.l_extendedprice * (1 - l.l_discount) ELSE 0 END)
                  / SUM(l.l_extendedprice * (1 - l.l_discount)), 2) AS promo_revenue,
                ROUND(SUM(l.l_extendedprice * (1 - l.l_discount)), 2) AS total_revenue,
                COUNT(l.l_orderkey) AS line_count
         FROM lineitem l JOIN part p ON p.p_partkey = l.l_partkey
         WHERE l.l_shipdate >= make_date($year, $month, 1)
           AND l.l_shipdate < make_date($year, $month, 1) + INTERVAL 1 MONTH`,
        parameters,
      ),
  },
  {
    path: "/tpch/reports/segment-revenue",
    dataset: "tpch",
    description: "revenue and line counts of a market segment's orders placed in year",
    parameters: [{ name: "segment", kind: "enum", required: true, values: TPCH_SEGMENTS }, tpchYear],
    rows: (parameters, run) =>
      run(
        `SELECT $segment AS segment, $year AS year,
                ROUND(COALESCE(SUM(l.l_extendedprice * (1 - l.l_discount)), 0), 2) AS revenue,
                COUNT(DISTINCT o.o_orderkey) AS order_count,
                COUNT(l.l_orderkey) AS line_count,
                COALESCE(SUM(CASE WHEN o.o_orderpriority IN ${HIGH_PRIORITIES} THEN 1 ELSE 0 END), 0) AS high_priority_lines,
                COALESCE(SUM(CASE WHEN o.o_orderpriority NOT IN ${HIGH_PRIORITIES} THEN 1 ELSE 0 END), 0) AS low_priority_lines
         FROM customer c
         JOIN orders o ON o.o_custkey = c.c_custkey
         JOIN lineitem l ON l.l_orderkey = o.o_orderkey
         WHERE c.c_mktsegment = $segment
           AND o.o_orderdate >= make_date($year, 1, 1) AND o.o_orderdate < make_date($year + 1, 1, 1)
           AND l.l_shipdate > o.o_orderdate`,
        parameters,
      ),
  },
];

async function pageWikitext(title: string | number | undefined, run: SqlRunner): Promise<string> {
  const rows = await run("SELECT wikitext FROM pages WHERE title = $title", { title: String(title) });
  return String(rows[0]?.wikitext ?? "");
}
