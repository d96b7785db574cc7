/**
 * Turns a tool request (SQL with `:name` parameters + values + declared types) into a
 * positional statement for one backend: `$1`, `$2`, … in order of first use, each name bound
 * once however often it appears. A declared parameter is wrapped in a cast to the backend's
 * type, so `SELECT :year` with `year: int` returns an integer on every backend.
 */
import type { SqlToolRequest } from "@halo/ir";
import { parseNamedParameters, renderPositionalSql } from "./named-parameters.js";
import { type CoercedParameter, coerceParameter, type SqlParameterType } from "./parameter-types.js";
import { SqlToolError } from "./sql-tool-error.js";

/** The SQL dialects the tool speaks. */
export type SqlDialect = "duckdb" | "postgres";

/** A statement ready for a driver: positional SQL and one coerced value per `$n`. */
export interface PositionalStatement {
  readonly sql: string;
  /** `parameters[n - 1]` binds `$n`. */
  readonly parameters: readonly CoercedParameter[];
  /** `parameterNames[n - 1]` is the name `$n` came from (for error messages). */
  readonly parameterNames: readonly string[];
}

// DuckDB's NUMERIC means DECIMAL(18,3), which would round a parameter like 0.0525; DOUBLE does not.
const CAST_TYPE_NAMES: Readonly<Record<SqlDialect, Readonly<Record<SqlParameterType, string>>>> = {
  duckdb: {
    integer: "INTEGER",
    bigint: "BIGINT",
    numeric: "DOUBLE",
    double: "DOUBLE",
    text: "VARCHAR",
    date: "DATE",
    timestamp: "TIMESTAMP",
    boolean: "BOOLEAN",
    json: "JSON",
  },
  postgres: {
    integer: "integer",
    bigint: "bigint",
    numeric: "numeric",
    double: "double precision",
    text: "text",
    date: "date",
    timestamp: "timestamp",
    boolean: "boolean",
    json: "json",
  },
};

/**
 * Builds the positional statement of `request` for `dialect`. Throws `SqlToolError`
 * (`invalid-sql`, `missing-parameter` naming the parameter and the ones provided,
 * `invalid-parameter`) before anything reaches the database.
 */
export function buildPositionalStatement(request: SqlToolRequest, dialect: SqlDialect): PositionalStatement {
  const parsed = parseNamedParameters(request.sql);
  const parameters = parsed.parameterNames.map((name) => {
    if (!Object.hasOwn(request.parameters, name)) {
      const provided = Object.keys(request.parameters);
      throw new SqlToolError(
        "missing-parameter",
        `the SQL uses parameter :${name} but no value was given for it ` +
          `(given: ${provided.length > 0 ? provided.join(", ") : "none"})`,
      );
    }
    const declaredType = Object.hasOwn(request.parameterTypes, name)
      ? request.parameterTypes[name]
      : undefined;
    return coerceParameter(name, request.parameters[name]!, declaredType);
  });
  const castNames = CAST_TYPE_NAMES[dialect];
  const sql = renderPositionalSql(parsed, (_name, position) => {
    const type = parameters[position - 1]!.type;
    return type === undefined ? `$${position}` : `CAST($${position} AS ${castNames[type]})`;
  });
  return { sql, parameters, parameterNames: parsed.parameterNames };
}
