import type { JsonValue } from "@halo/ir";
import type { DatasetName } from "../datasets/dataset-definition.js";
import { TPCH_SEGMENTS, TPCH_SHIP_MODES } from "../datasets/tpch-domains.js";
import type { JsonRow } from "./json-rows.js";
import type { ParameterSpec, ParameterValues } from "./request-parameters.js";
import { wikitextCategories, wikitextLinks } from "./wikitext-links.js";

/**
 * Runs one SQL statement with bound `:name` parameters (`%%` is a literal `%`), on
 * DuckDB or PostgreSQL, and returns its rows as JSON.
 */
export type SqlRunner = (
  sql: string,
  values: Readonly<Record<string, string | number>>,
) => Promise<JsonRow[]>;

/** What an endpoint answers besides the envelope the server adds. */
export interface EndpointAnswer {
  readonly rows: JsonRow[];
  /** Fields of the answer beside `rows` (the category endpoint's `pages_scanned`). */
  readonly fields?: Record<string, JsonValue>;
}

/**
 * One endpoint of the reference data API. The paths, parameter names and
 * defaults, row fields, ordering and tiebreakers are the contract of the
 * prototype's data API (mlsys-io/Halo_demo `scripts/mock_api.py`), so that
 * workflows written for it run unchanged.
 */
export interface DataApiEndpoint {
  readonly path: string;
  /** The dataset whose tables it reads. */
  readonly dataset: DatasetName;
  /** One line for the endpoint list. */
  readonly description: string;
  /** The TPC-H reports' `report` title, as the prototype answers it. */
  readonly report?: string;
  readonly parameters: readonly ParameterSpec[];
  /** The answer; SQL text is constant per endpoint and valid on DuckDB and PostgreSQL, values are always bound. */
  answer(parameters: ParameterValues, run: SqlRunner): Promise<EndpointAnswer>;
}

// Longer than any search phrase, article title or LLM-written keyword the prototype's workflows send
// (it has no limit), short enough to bound a request's work and to fit in a URL.
const MAX_TEXT_LENGTH = 2000;

const limit = (defaultValue: number): ParameterSpec => ({
  name: "limit",
  kind: "integer",
  required: false,
  minimum: 1,
  maximum: 100,
  defaultValue,
});

const text = (name: string, aliases: readonly string[] = []): ParameterSpec => ({
  name,
  kind: "text",
  required: true,
  maxLength: MAX_TEXT_LENGTH,
  aliases,
});

// Any four-digit year is answered (a year without data gets the reports' empty answer, as in the
// prototype); anything else is a mistake worth a 400.
const tpchYear: ParameterSpec = {
  name: "year",
  kind: "integer",
  required: true,
  minimum: 1000,
  maximum: 9999,
};

const shipMode = (name: string): ParameterSpec => ({
  name,
  kind: "enum",
  required: true,
  values: TPCH_SHIP_MODES,
  // The prototype's workflows spell TPC-H's `REG AIR` as `AIR REG`.
  valueAliases: { "AIR REG": "REG AIR" },
});

const HIGH_PRIORITIES = "('1-URGENT', '2-HIGH')";

// `ILIKE '%' || :keyword || '%'` with PostgreSQL's escape character, so `%`, `_` and `\` in a keyword
// mean on DuckDB what they mean to the prototype's PostgreSQL.
const contains = (column: string, parameter: string) =>
  `${column} ILIKE '%%' || ${parameter} || '%%' ESCAPE '\\'`;

// The prototype's category endpoint aggregates the categories of this many matching articles.
const CATEGORY_PAGE_POOL = 40;
const CATEGORY_MEMBER_PAGES = 10;
const OUTBOUND_LINKS_PER_PAGE = 25;

/** Every endpoint, by path. */
export const DATA_API_ENDPOINTS: readonly DataApiEndpoint[] = [
  {
    path: "/imdb/titles/search",
    dataset: "imdb",
    description:
      "movies, TV movies and TV series whose primary or original title contains keyword, most-voted first",
    parameters: [text("keyword", ["q"]), limit(25)],
    answer: async (parameters, run) => ({
      rows: await run(
        `SELECT b.tconst, b.primary_title, b.original_title, b.start_year, b.title_type,
                r.average_rating, r.num_votes
         FROM title_basics b LEFT JOIN title_ratings r ON r.tconst = b.tconst
         WHERE b.title_type IN ('movie', 'tvMovie', 'tvSeries')
           AND (${contains("b.primary_title", ":keyword")} OR ${contains("b.original_title", ":keyword")})
         ORDER BY COALESCE(r.num_votes, 0) DESC, b.tconst
         LIMIT :limit`,
        parameters,
      ),
    }),
  },
  {
    path: "/imdb/titles/recent",
    dataset: "imdb",
    description: "movies and TV movies released in or after since that match keyword, most-voted first",
    parameters: [
      text("keyword"),
      {
        name: "since",
        kind: "integer",
        required: false,
        minimum: -Number.MAX_SAFE_INTEGER,
        maximum: Number.MAX_SAFE_INTEGER,
        defaultValue: 2000,
        aliases: ["since_year"],
      },
      limit(15),
    ],
    answer: async (parameters, run) => ({
      rows: await run(
        `SELECT b.tconst, b.primary_title, b.start_year, b.genres, r.average_rating, r.num_votes
         FROM title_basics b LEFT JOIN title_ratings r ON r.tconst = b.tconst
         WHERE b.title_type IN ('movie', 'tvMovie') AND b.start_year >= :since
           AND (${contains("b.primary_title", ":keyword")} OR ${contains("b.original_title", ":keyword")})
         ORDER BY COALESCE(r.num_votes, 0) DESC, b.tconst
         LIMIT :limit`,
        parameters,
      ),
    }),
  },
  {
    path: "/imdb/people/search",
    dataset: "imdb",
    description: "people whose name contains keyword, in name order",
    parameters: [text("keyword", ["name"]), limit(40)],
    answer: async (parameters, run) => ({
      rows: await run(
        `SELECT nconst, primary_name, primary_profession, known_for_titles
         FROM name_basics
         WHERE ${contains("primary_name", ":keyword")}
         ORDER BY primary_name, nconst
         LIMIT :limit`,
        parameters,
      ),
    }),
  },
  {
    path: "/finewiki/categories",
    dataset: "finewiki",
    description:
      "categories of the first 40 English articles whose title contains topic, most shared first, with their member pages",
    parameters: [text("topic", ["title"]), limit(30)],
    answer: async (parameters, run) => {
      const pages = await topicPages(String(parameters.topic), CATEGORY_PAGE_POOL, run);
      const members = new Map<string, string[]>();
      for (const page of pages) {
        for (const category of wikitextCategories(String(page.wikitext ?? ""))) {
          const titles = members.get(category) ?? [];
          titles.push(String(page.title));
          members.set(category, titles);
        }
      }
      const rows = [...members]
        .sort(([a, aTitles], [b, bTitles]) => bTitles.length - aTitles.length || compareCodePoints(a, b))
        .slice(0, Number(parameters.limit))
        .map(([category, titles]) => ({
          category,
          title: `Category:${category}`,
          url: categoryUrl(category),
          member_count: titles.length,
          member_pages: titles.slice(0, CATEGORY_MEMBER_PAGES),
        }));
      return { rows, fields: { pages_scanned: pages.length } };
    },
  },
  {
    path: "/finewiki/outbound-links",
    dataset: "finewiki",
    description: "English articles whose title contains topic, each with the article titles it links to",
    parameters: [text("topic", ["title"]), limit(40)],
    answer: async (parameters, run) => {
      const pages = await topicPages(String(parameters.topic), Number(parameters.limit), run);
      return {
        rows: pages.map((page) => {
          const links = wikitextLinks(String(page.wikitext ?? ""));
          return {
            page_id: page.page_id ?? null,
            title: page.title ?? null,
            url: page.url ?? null,
            outbound_link_count: links.length,
            outbound_links: links.slice(0, OUTBOUND_LINKS_PER_PAGE),
          };
        }),
      };
    },
  },
  {
    path: "/tpch/reports/shipmode-priority",
    dataset: "tpch",
    description:
      "TPC-H Q12: lines of high- and low-priority orders per ship mode, received in year after their commit date",
    report: "TPC-H Q12: shipping modes and order priority",
    parameters: [shipMode("shipmode"), shipMode("shipmode2"), tpchYear],
    answer: async (parameters, run) => ({
      rows: await run(
        `SELECT l.l_shipmode,
                COUNT(*) AS line_count,
                SUM(CASE WHEN o.o_orderpriority IN ${HIGH_PRIORITIES} THEN 1 ELSE 0 END) AS high_line_count,
                SUM(CASE WHEN o.o_orderpriority NOT IN ${HIGH_PRIORITIES} THEN 1 ELSE 0 END) AS low_line_count
         FROM orders o JOIN lineitem l ON l.l_orderkey = o.o_orderkey
         WHERE l.l_shipmode IN (:shipmode, :shipmode2)
           AND l.l_commitdate < l.l_receiptdate AND l.l_shipdate < l.l_commitdate
           AND EXTRACT(YEAR FROM l.l_receiptdate) = :year
         GROUP BY l.l_shipmode
         ORDER BY l.l_shipmode`,
        parameters,
      ),
    }),
  },
  {
    path: "/tpch/reports/promo-revenue",
    dataset: "tpch",
    description:
      "TPC-H Q14: percentage of revenue from PROMO parts among lines shipped in September of year (null without lines)",
    report: "TPC-H Q14: promotion effect (September)",
    parameters: [tpchYear],
    answer: async (parameters, run) => ({
      rows: await run(
        `SELECT 100.00 * CAST(SUM(CASE WHEN p.p_type LIKE 'PROMO%%' THEN l.l_extendedprice * (1 - l.l_discount) ELSE 0 END) AS DOUBLE PRECISION)
                  / CAST(SUM(l.l_extendedprice * (1 - l.l_discount)) AS DOUBLE PRECISION) AS promo_revenue
         FROM lineitem l JOIN part p ON p.p_partkey = l.l_partkey
         WHERE EXTRACT(MONTH FROM l.l_shipdate) = 9 AND EXTRACT(YEAR FROM l.l_shipdate) = :year`,
        parameters,
      ),
    }),
  },
  {
    path: "/tpch/reports/segment-revenue",
    dataset: "tpch",
    description:
      "revenue and order-priority mix of the lines of a market segment's orders placed in year, shipped after the order",
    report: "Revenue and order-priority mix of a market segment",
    parameters: [{ name: "segment", kind: "enum", required: true, values: TPCH_SEGMENTS }, tpchYear],
    // Without lines: revenue and the priority counts null, line_cnt 0, as the prototype answers.
    answer: async (parameters, run) => ({
      rows: await run(
        `SELECT SUM(l.l_extendedprice * (1 - l.l_discount)) AS revenue,
                COUNT(*) AS line_cnt,
                SUM(CASE WHEN o.o_orderpriority IN ${HIGH_PRIORITIES} THEN 1 ELSE 0 END) AS high_pri_lines,
                SUM(CASE WHEN o.o_orderpriority NOT IN ${HIGH_PRIORITIES} THEN 1 ELSE 0 END) AS low_pri_lines
         FROM orders o
         JOIN customer c ON c.c_custkey = o.o_custkey
         JOIN lineitem l ON l.l_orderkey = o.o_orderkey
         WHERE c.c_mktsegment = :segment AND EXTRACT(YEAR FROM o.o_orderdate) = :year
           AND l.l_shipdate > o.o_orderdate`,
        parameters,
      ),
    }),
  },
];

/** English articles whose title contains `topic`, by page id. */
function topicPages(topic: string, count: number, run: SqlRunner): Promise<JsonRow[]> {
  return run(
    `SELECT page_id, title, url, wikitext
     FROM pages
     WHERE in_language = 'en' AND ${contains("title", ":topic")}
     ORDER BY page_id
     LIMIT :count`,
    { topic, count },
  );
}

/** Orders strings by character code, as Python's `sorted` does (not by locale; the same order for text without astral characters). */
function compareCodePoints(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The Wikipedia URL of a category page, percent-encoded as Python's
 * `urllib.parse.quote(…, safe=":/(),'")` encodes it (the prototype's spelling).
 */
export function categoryUrl(name: string): string {
  const path = encodeURIComponent(`Category:${name.replaceAll(" ", "_")}`)
    .replace(/%3A|%2F|%2C/g, (escaped) => decodeURIComponent(escaped))
    .replace(/[!*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
  return `https://en.wikipedia.org/wiki/${path}`;
}
