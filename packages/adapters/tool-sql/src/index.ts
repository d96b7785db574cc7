export { type ConnectionRetryOptions, DEFAULT_CONNECTION_RETRY } from "./connection-retry.js";
export { type CreateSqlToolOptions, createSqlTool } from "./create-sql-tool.js";
export { DuckDbProcessSqlTool, type DuckDbProcessSqlToolOptions } from "./duckdb-process-sql-tool.js";
export { DuckDbSqlTool, type DuckDbSqlToolOptions } from "./duckdb-sql-tool.js";
export { describePostgresUrl, PostgresSqlTool, type PostgresSqlToolOptions } from "./postgres-sql-tool.js";
export { SqlToolError, type SqlToolErrorCode } from "./sql-tool-error.js";
