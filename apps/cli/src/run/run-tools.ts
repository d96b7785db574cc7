/**
 * The tools of `halo run`, opened and checked before any work starts: the SQL
 * tool of `--db` (a DuckDB file that must exist, or a reachable PostgreSQL
 * URL) and the HTTP tool with its host allowlist. Problems are invalid input
 * (exit 2) naming the flag and the database.
 */
import type { CompiledWorkflow, HttpToolV1, SqlToolV1 } from "@halo/ir";
import { HttpTool } from "@halo/tool-http";
import { createSqlTool, describePostgresUrl } from "@halo/tool-sql";
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
  return tool;
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
