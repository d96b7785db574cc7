/**
 * `@halo/tool-sql/internal`: statement building and result conversion, for clients that run SQL
 * themselves yet need the same parameter binding and the same JSON rows (the benchmarks'
 * LangGraph peer). Not a stable contract; the tools of the main entry, `@halo/tool-sql`, are.
 */
export { duckDbValueToJson } from "./duckdb-result-values.js";
export {
  type NamedParameterSql,
  parseNamedParameters,
  renderPositionalSql,
  type SqlSegment,
} from "./named-parameters.js";
export {
  type CoercedParameter,
  coerceParameter,
  DECLARED_TYPE_ALIASES,
  type SqlParameterType,
} from "./parameter-types.js";
export { postgresTextParser } from "./postgres-result-values.js";
export { type JsonRow, rowObjects } from "./result-values.js";
export { buildPositionalStatement, type PositionalStatement, type SqlDialect } from "./sql-statement.js";
