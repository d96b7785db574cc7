/**
 * Column types of generated tables. One schema yields both the DuckDB and the
 * PostgreSQL DDL, so the two databases hold the same types by construction.
 *
 * Row values per type: `integer`, `bigint`, `double` → number; `decimal` →
 * DECIMAL(15,2) carried as an integer number of hundredths (no float rounding
 * enters money); `date` → days since 1970-01-01; `timestamp` → seconds since
 * 1970-01-01 UTC; `boolean` → boolean; `text` → string. Any nullable column may
 * hold null.
 */
export type ColumnType =
  | "integer"
  | "bigint"
  | "double"
  | "decimal"
  | "date"
  | "timestamp"
  | "boolean"
  | "text";

/** One column of a generated table. */
export interface ColumnSchema {
  readonly name: string;
  readonly type: ColumnType;
  /** Whether the generator may leave it null (default: NOT NULL). */
  readonly nullable?: boolean;
}

/** A secondary index that helps the workloads' lookups. */
export interface IndexSchema {
  readonly name: string;
  readonly columns: readonly string[];
}

/** A generated table: columns in order, primary key, secondary indexes. */
export interface TableSchema {
  readonly name: string;
  readonly columns: readonly ColumnSchema[];
  readonly primaryKey: readonly string[];
  readonly indexes: readonly IndexSchema[];
}

/** A value of one row, in column order (see {@link ColumnType} for the encoding). */
export type RowValue = number | string | boolean | null;

const DUCKDB_TYPES: Record<ColumnType, string> = {
  integer: "INTEGER",
  bigint: "BIGINT",
  double: "DOUBLE",
  decimal: "DECIMAL(15,2)",
  date: "DATE",
  timestamp: "TIMESTAMP",
  boolean: "BOOLEAN",
  text: "VARCHAR",
};

const POSTGRES_TYPES: Record<ColumnType, string> = {
  integer: "integer",
  bigint: "bigint",
  double: "double precision",
  decimal: "numeric(15,2)",
  date: "date",
  timestamp: "timestamp",
  boolean: "boolean",
  text: "text",
};

/** The DuckDB type name of a column type (as `information_schema.columns.data_type` reports it). */
export function duckdbTypeName(type: ColumnType): string {
  return DUCKDB_TYPES[type];
}

/** The PostgreSQL type name of a column type. */
export function postgresTypeName(type: ColumnType): string {
  return POSTGRES_TYPES[type];
}

/** `CREATE TABLE` for one engine, with NOT NULL columns and the primary key. */
export function createTableSql(table: TableSchema, engine: "duckdb" | "postgres"): string {
  const typeName = engine === "duckdb" ? duckdbTypeName : postgresTypeName;
  const columns = table.columns.map(
    (column) => `  ${column.name} ${typeName(column.type)}${column.nullable ? "" : " NOT NULL"}`,
  );
  columns.push(`  PRIMARY KEY (${table.primaryKey.join(", ")})`);
  return `CREATE TABLE ${table.name} (\n${columns.join(",\n")}\n)`;
}

/** `CREATE INDEX` statements of a table (same text for DuckDB and PostgreSQL). */
export function createIndexSql(table: TableSchema): string[] {
  return table.indexes.map(
    (index) => `CREATE INDEX ${index.name} ON ${table.name} (${index.columns.join(", ")})`,
  );
}

/**
 * A query (valid in DuckDB and PostgreSQL) whose single row is the table's row
 * count and an MD5 over every value as text, rows in primary-key order. Equal
 * fingerprints mean equal tables, across engines and runs. Doubles are compared
 * to 10 decimals, since the engines print them differently (7.0 vs 7).
 */
export function tableFingerprintSql(table: TableSchema): string {
  const values = table.columns.map((column) => {
    const value = column.type === "double" ? `CAST(${column.name} AS DECIMAL(38, 10))` : column.name;
    return `COALESCE(CAST(${value} AS TEXT), '\\N')`;
  });
  return (
    `SELECT COUNT(*) AS row_count, ` +
    `COALESCE(MD5(STRING_AGG(${values.join(" || '|' || ")}, '\n' ORDER BY ${table.primaryKey.join(", ")})), '') AS checksum ` +
    `FROM ${table.name}`
  );
}
