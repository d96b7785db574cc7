/**
 * The tools of `halo run`, opened and checked before any work starts: the SQL
 * tool of `--db` (a DuckDB file that must exist, or a reachable PostgreSQL
 * URL) and the HTTP tool with its host allowlist. Problems are invalid input
 * (exit 2) naming the flag and the database.
 */
import { type CompiledWorkflow, formatSource, type HttpToolV1, type SqlToolV1 } from "@halo/ir";
import { HttpTool } from "@halo/tool-http";
import { createSqlTool, DuckDbProcessSqlTool, DuckDbSqlTool, describePostgresUrl } from "@halo/tool-sql";
import { InvalidInputError } from "../cli-error.js";

const POSTGRES_URL = /^postgres(ql)?:\/\//i;

/** Opens and checks the SQL tool when the workflow runs SQL; an unneeded `--db` is left closed. */
export async function openSqlTool(
  workflow: CompiledWorkflow,
  db: string | undefined,
): Promise<SqlToolV1 | undefined> {
  const sqlOperators = workflow.operators.filter((operator) => operator.kind === "sql");
  if (sqlOperators.length === 0) return undefined;
  if (db === undefined || db.trim() === "") {
    throw new InvalidInputError(
      `workflow ${workflow.name} runs SQL (${sqlOperators.map((operator) => operator.id).join(", ")}) but no --db was given: pass a DuckDB file or a postgres:// URL`,
    );
  }
  const where = POSTGRES_URL.test(db) ? describePostgresUrl(db) : db;
  let tool: SqlToolV1;
  try {
    tool = createSqlTool(db);
  } catch (error) {
    throw new InvalidInputError(`--db ${where}: ${(error as Error).message}`);
  }
  try {
    await tool.doCheck();
  } catch (error) {
    await tool.close().catch(() => undefined);
    throw new InvalidInputError(`--db: ${(error as Error).message}`);
  }
  if (tool instanceof DuckDbProcessSqlTool || tool instanceof DuckDbSqlTool) {
    try {
      await checkStatementsOnDuckDb(workflow, tool, where);
    } catch (error) {
      await tool.close().catch(() => undefined);
      throw error;
    }
  }
  return tool;
}

/** Constructs DuckDB lacks that PostgreSQL SQL often uses (named in the hint when a failing statement has one). */
const POSTGRES_ONLY = [
  { pattern: /@@/, name: "@@ (full-text match)" },
  {
    pattern:
      /\b(?:to_tsvector|to_tsquery|plainto_tsquery|phraseto_tsquery|websearch_to_tsquery|ts_rank\w*)\b/i,
    name: "full-text search functions",
  },
  { pattern: /~\*|!~/, name: "~* / !~ regex operators" },
];

/**
 * Prepares every SQL statement of the workflow against the DuckDB file before
 * any work starts (exact: DuckDB itself parses and binds each one), so a
 * PostgreSQL-only statement fails the run at once, naming its node and YAML
 * path, instead of failing every query at that operator after the work upstream.
 */
async function checkStatementsOnDuckDb(
  workflow: CompiledWorkflow,
  tool: DuckDbProcessSqlTool | DuckDbSqlTool,
  where: string,
): Promise<void> {
  const failures: string[] = [];
  const constructs = new Set<string>();
  const seen = new Set<string>();
  for (const operator of workflow.operators) {
    if (operator.kind !== "sql") continue;
    // Loop iterations repeat a statement: it is checked (and reported) once.
    const key = `${operator.source.path}\u0000${operator.sql}`;
    if (seen.has(key)) continue;
    seen.add(key);
    try {
      await tool.doPrepare({ sql: operator.sql, parameterTypes: operator.parameterTypes });
    } catch (error) {
      const message = (error as Error).message.replace(`${tool.description}: `, "").split("\n")[0];
      failures.push(
        `  node "${operator.owner ?? operator.id}" at ${formatSource(operator.source)}: ${message}`,
      );
      for (const construct of POSTGRES_ONLY)
        if (construct.pattern.test(operator.sql)) constructs.add(construct.name);
    }
  }
  if (failures.length === 0) return;
  const hint =
    constructs.size > 0
      ? `these use PostgreSQL-only SQL (${[...constructs].join(", ")}): run with --db postgres://… against PostgreSQL`
      : "if they are PostgreSQL SQL, run with --db postgres://… against PostgreSQL";
  throw new InvalidInputError(
    `--db ${where} (DuckDB) cannot run ${failures.length} SQL statement${failures.length === 1 ? "" : "s"} of workflow ${workflow.name}; nothing was run:\n${failures.join("\n")}\n${hint}`,
  );
}

/**
 * The HTTP tool when the workflow calls HTTP. Hosts allowed: those the
 * workflow's non-sleep HTTP operators name, plus `--http-allow`; with
 * `--http-allow` given, an operator whose host it does not list is refused
 * before any work (sleep-mode calls never connect and need no host).
 */
export function createHttpTool(
  workflow: CompiledWorkflow,
  allow: string | undefined,
  latencyScale: number,
): HttpToolV1 | undefined {
  const httpOperators = workflow.operators.filter((operator) => operator.kind === "http");
  if (httpOperators.length === 0) return undefined;
  const explicit =
    allow === undefined
      ? undefined
      : allow
          .split(",")
          .map((host) => host.trim())
          .filter(Boolean);
  const hosts = new Set<string>(explicit ?? []);
  for (const operator of httpOperators) {
    if (operator.latency.mode === "sleep") continue;
    let host: string;
    try {
      host = new URL(operator.url).host;
    } catch {
      throw new InvalidInputError(
        `workflow ${workflow.name}: operator "${operator.id}": invalid URL "${operator.url}"`,
      );
    }
    if (explicit === undefined) hosts.add(host);
    else if (!explicit.includes(host) && !explicit.includes("any") && !wildcardAllows(explicit, host)) {
      throw new InvalidInputError(
        `--http-allow: operator "${operator.id}" calls ${host}, which the allowlist (${explicit.join(", ")}) does not name`,
      );
    }
  }
  return new HttpTool({
    allowHosts: explicit?.includes("any") ? "any" : [...hosts],
    latencyScale,
  });
}

function wildcardAllows(entries: readonly string[], host: string): boolean {
  const name = host.replace(/:\d+$/, "");
  return entries.some((entry) => entry.startsWith("*.") && name.endsWith(entry.slice(1)));
}
