/**
 * Batched SQL: calls of one statement with different parameters run as one
 * query. The parameters become a typed `VALUES` table and the statement a
 * `LATERAL` subquery evaluated for each of its rows:
 *
 *   SELECT p.index, q.* FROM (VALUES (0, CAST(:b0_x AS T)), …) AS p(index, x),
 *     LATERAL (<statement, :x → p.x>) AS q
 *
 * DuckDB and PostgreSQL plan that as one query: what does not depend on the
 * parameters runs once for the whole batch instead of once per call (35× on
 * W1's per-year aggregate). Each call gets exactly the rows it gets alone, but
 * not necessarily in the same order: neither database keeps a subquery's
 * ORDER BY through the join (measured: DuckDB reordered 4–17 % of W1's
 * multi-row results, even numbered with `row_number() OVER ()`). So a batch
 * counts only when every call got at most one row, where order cannot differ;
 * a statement that gives some call more rows is run call by call from then on.
 * A statement's first batch is a small probe, so finding that out costs
 * little; a probe that runs longer than `SQL_BATCH_PROBE_TIMEOUT_MS` is
 * stopped and its statement run call by call too (a batch can cost far more
 * than its calls when the parameters' filters cannot be pushed below a join). Only statements that can be batched safely are tried: one SELECT
 * (or WITH … SELECT), every parameter with a declared type (so the `VALUES`
 * columns have the type a lone call binds), every call with every value. A
 * batch the database refuses, or that fails, runs call by call: each call
 * then gets exactly the result or error it gets alone.
 */
import type { JsonValue, SqlToolOutcome, SqlToolRequest, SqlToolResult } from "@halo/ir";
import { parseNamedParameters, renderPositionalSql } from "./named-parameters.js";

/** Most calls one batched query carries. */
export const MAX_SQL_BATCH = 256;

/** What a batch runs on: the tool's own single-statement path. */
export interface SqlQueryRunner {
  doQuery(request: SqlToolRequest, options?: { readonly signal?: AbortSignal }): Promise<SqlToolResult>;
}

/** Calls in a statement's first batch (the probe that shows whether it gives one row per call). */
export const SQL_BATCH_PROBE = 8;

/**
 * Longest a probe may run before the statement is left to run call by call: a batch can cost far
 * more than its calls alone when the database cannot push the parameters' filters below a join
 * (measured: 8 s for a probe of W1's crew lookup, which takes 8 ms a call alone).
 */
export const SQL_BATCH_PROBE_TIMEOUT_MS = 1_000;

// Names no workload column uses: the batch's own column and aliases.
const INDEX = "halo_batch_index__";
const PARAMETERS = "halo_batch_parameters__";
const ROWS = "halo_batch_rows__";

/** Why `requests` cannot run as one query, or undefined when they can. */
export function unbatchableReason(requests: readonly SqlToolRequest[]): string | undefined {
  return requests.length < 2 ? "fewer than two calls" : statementReason(requests);
}

/** Why calls like `requests` (however many) cannot run as one query: the statement, its types, the values. */
function statementReason(requests: readonly SqlToolRequest[]): string | undefined {
  const [first] = requests;
  const sql = first!.sql;
  const types = first!.parameterTypes;
  for (const request of requests) {
    if (request.sql !== sql) return "the calls run different statements";
    if (!sameTypes(request.parameterTypes, types)) return "the calls declare different parameter types";
  }
  const body = statementBody(sql);
  if (body === undefined) return "not a single SELECT statement";
  let parsed: ReturnType<typeof parseNamedParameters>;
  try {
    parsed = parseNamedParameters(body);
  } catch {
    return "the statement does not parse";
  }
  if (parsed.parameterNames.length === 0) return "the statement has no parameters";
  const undeclared = parsed.parameterNames.filter((name) => !Object.hasOwn(types, name));
  if (undeclared.length > 0) return `parameters without a declared type: ${undeclared.join(", ")}`;
  // A call missing a value fails alone with the error naming it.
  for (const request of requests)
    if (parsed.parameterNames.some((name) => !Object.hasOwn(request.parameters, name)))
      return "a call lacks a parameter value";
  return undefined;
}

/** The statement without a trailing `;`, when it is one SELECT (or WITH … SELECT); else undefined. */
function statementBody(sql: string): string | undefined {
  const body = sql.trim().replace(/;\s*$/, "");
  // Another `;` (even one in a literal) or something other than a query: not batched.
  if (body.includes(";")) return undefined;
  const start = body.replace(/^(\s+|--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/)*/, "");
  return /^(select|with)\b/i.test(start) ? body : undefined;
}

function sameTypes(left: Readonly<Record<string, string>>, right: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(left);
  return keys.length === Object.keys(right).length && keys.every((key) => right[key] === left[key]);
}

/**
 * The one request that runs `requests` (checked with `unbatchableReason`) as a
 * batch: `:name` in the statement reads the parameters table's column, and
 * call `i`'s value of `name` is parameter `b{i}_{name}`, with the same declared type.
 */
export function batchRequest(requests: readonly SqlToolRequest[]): SqlToolRequest {
  const first = requests[0]!;
  const parsed = parseNamedParameters(statementBody(first.sql)!);
  const names = parsed.parameterNames;
  const column = (name: string) => `"${name.replaceAll('"', '""')}"`;
  const statement = renderPositionalSql(parsed, (name) => `${PARAMETERS}.${column(name)}`);
  const parameters: Record<string, JsonValue> = {};
  const parameterTypes: Record<string, string> = {};
  const rows = requests.map((request, index) => {
    const values = names.map((name) => {
      const batchName = `b${index}_${name}`;
      parameters[batchName] = request.parameters[name]!;
      parameterTypes[batchName] = first.parameterTypes[name]!;
      return `:${batchName}`;
    });
    return `(${index}, ${values.join(", ")})`;
  });
  const sql =
    `SELECT ${PARAMETERS}.${INDEX}, ${ROWS}.* ` +
    `FROM (VALUES ${rows.join(", ")}) AS ${PARAMETERS}(${INDEX}, ${names.map(column).join(", ")}), ` +
    `LATERAL (\n${statement}\n) AS ${ROWS}`;
  return { sql, parameters, parameterTypes };
}

/** The batch's rows split back per call, without the batch's own column. */
export function splitBatchRows(result: SqlToolResult, calls: number): SqlToolResult[] {
  const perCall: Record<string, JsonValue>[][] = Array.from({ length: calls }, () => []);
  for (const row of result.rows) {
    const { [INDEX]: index, ...rest } = row;
    const call = perCall[Number(index)];
    if (call === undefined) throw new Error(`a batched row names call ${String(index)} of ${calls}`);
    call.push(rest);
  }
  return perCall.map((rows) => ({ rows, rowCount: rows.length, elapsedMs: result.elapsedMs }));
}

/** Options of `querySqlBatch`. */
export interface SqlBatchOptions {
  readonly signal?: AbortSignal;
  /** Longest a probe may run (default `SQL_BATCH_PROBE_TIMEOUT_MS`). */
  readonly probeTimeoutMs?: number;
}

/** Calls of a statement run alone first: if each gives at most one row, batching is tried. */
export const SQL_BATCH_FIRST_ALONE = 4;

/**
 * Per tool and statement, how its calls run: `alone` first (and for good once a call gives several
 * rows, a probe runs too long or the database refuses the batch), `probe` once its first calls
 * each gave at most one row, `batched` once a probe succeeded.
 */
type Verdict = "alone" | "probe" | "batched";

const verdicts = new WeakMap<SqlQueryRunner, Map<string, Verdict | number>>();

/**
 * Runs `requests` on `tool`: its first `SQL_BATCH_FIRST_ALONE` calls alone;
 * when each gave at most one row, a probe of `SQL_BATCH_PROBE` calls as one
 * query (stopped after `SQL_BATCH_PROBE_TIMEOUT_MS`), then batches of up to
 * `MAX_SQL_BATCH` while every call gets at most one row. Otherwise call by
 * call. Each outcome is what the call alone returns or throws. Once `signal`
 * is aborted, the calls not yet run fail with the abort.
 */
export async function querySqlBatch(
  tool: SqlQueryRunner,
  requests: readonly SqlToolRequest[],
  options?: SqlBatchOptions,
): Promise<SqlToolOutcome[]> {
  const outcomes: SqlToolOutcome[] = [];
  // Calls of several statements, or of one that cannot be batched, run alone and teach nothing.
  if (requests.length === 0 || statementReason(requests) !== undefined) {
    for (const request of requests) outcomes.push(await queryAlone(tool, request, options));
    return outcomes;
  }
  let known = verdicts.get(tool);
  if (!known) {
    known = new Map();
    verdicts.set(tool, known);
  }
  const sql = requests[0]!.sql;
  let start = 0;
  while (start < requests.length) {
    const verdict = known.get(sql) ?? 0;
    if (verdict === "alone" || typeof verdict === "number" || start === requests.length - 1) {
      const request = requests[start]!;
      const outcome = await queryAlone(tool, request, options);
      outcomes.push(outcome);
      // A statement still watched: one more call alone, and how many rows it gave.
      if (typeof verdict === "number" && outcome.ok) {
        const seen = verdict + 1;
        known.set(
          sql,
          outcome.result.rowCount > 1 ? "alone" : seen >= SQL_BATCH_FIRST_ALONE ? "probe" : seen,
        );
      }
      start += 1;
      continue;
    }
    const chunk = requests.slice(start, start + (verdict === "batched" ? MAX_SQL_BATCH : SQL_BATCH_PROBE));
    outcomes.push(...(await queryChunk(tool, chunk, known, verdict, options)));
    start += chunk.length;
  }
  return outcomes;
}

async function queryAlone(
  tool: SqlQueryRunner,
  request: SqlToolRequest,
  options?: { readonly signal?: AbortSignal },
): Promise<SqlToolOutcome> {
  try {
    return { ok: true, result: await tool.doQuery(request, options) };
  } catch (error) {
    return { ok: false, error };
  }
}

/** A chunk of calls that pass `statementReason`: as one query when the database gives each at most one row, else alone. */
async function queryChunk(
  tool: SqlQueryRunner,
  requests: readonly SqlToolRequest[],
  known: Map<string, Verdict | number>,
  verdict: "probe" | "batched",
  options?: SqlBatchOptions,
): Promise<SqlToolOutcome[]> {
  const sql = requests[0]!.sql;
  const probe =
    verdict === "probe"
      ? AbortSignal.timeout(options?.probeTimeoutMs ?? SQL_BATCH_PROBE_TIMEOUT_MS)
      : undefined;
  const signal = probe
    ? AbortSignal.any(options?.signal ? [probe, options.signal] : [probe])
    : options?.signal;
  try {
    const perCall = splitBatchRows(
      await tool.doQuery(batchRequest(requests), signal ? { signal } : {}),
      requests.length,
    );
    if (perCall.every((result) => result.rowCount <= 1)) {
      known.set(sql, "batched");
      return perCall.map((result) => ({ ok: true, result }));
    }
    // Several rows for a call: their order may differ from the call's own.
    known.set(sql, "alone");
  } catch (error) {
    if (options?.signal?.aborted) return requests.map(() => ({ ok: false, error }));
    // Every call runs alone below, so a bad call fails alone. A statement the database would
    // not run batched, or whose probe ran too long, is not tried batched again; a bad value, a
    // timeout or a lost connection may pass.
    const code = (error as { code?: unknown } | undefined)?.code;
    if (code === "query-failed" || code === "invalid-sql" || probe?.aborted) known.set(sql, "alone");
  }
  const outcomes: SqlToolOutcome[] = [];
  for (const request of requests) outcomes.push(await queryAlone(tool, request, options));
  return outcomes;
}
