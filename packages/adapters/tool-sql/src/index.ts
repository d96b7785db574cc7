export { type ConnectionRetryOptions, DEFAULT_CONNECTION_RETRY } from "./connection-retry.js";
export { type CreateSqlToolOptions, createSqlTool } from "./create-sql-tool.js";
// Result conversion, for clients that run SQL themselves yet need rows in the same JSON shape (the benchmarks' LangGraph peer).
export { duckDbValueToJson } from "./duckdb-result-values.js";
export { DuckDbSqlTool, type DuckDbSqlToolOptions } from "./duckdb-sql-tool.js";
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
export { describePostgresUrl, PostgresSqlTool, type PostgresSqlToolOptions } from "./postgres-sql-tool.js";
export { type JsonRow, rowObjects } from "./result-values.js";
export { buildPositionalStatement, type PositionalStatement, type SqlDialect } from "./sql-statement.js";
export { SqlToolError, type SqlToolErrorCode } from "./sql-tool-error.js";
