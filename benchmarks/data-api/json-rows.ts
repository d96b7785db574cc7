import { type DuckDBResultReader, DuckDBTypeId, type Json } from "@duckdb/node-api";

/** A result row as plain JSON. */
export type JsonRow = Record<string, Json>;

// DuckDB's JSON conversion writes these as strings (to keep 64-bit and decimal precision);
// the API's values are small enough to be JSON numbers.
const NUMBER_AS_STRING_TYPES = new Set<DuckDBTypeId>([
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UHUGEINT,
  DuckDBTypeId.DECIMAL,
]);

/** Rows of a DuckDB result as JSON objects: numbers as numbers, dates and timestamps as ISO text. */
export function jsonRows(reader: DuckDBResultReader): JsonRow[] {
  const numericColumns = reader
    .columnNames()
    .filter((_, index) =>
      NUMBER_AS_STRING_TYPES.has(reader.columnTypes()[index]?.typeId ?? DuckDBTypeId.INVALID),
    );
  return reader.getRowObjectsJson().map((row) => {
    for (const name of numericColumns) {
      const value = row[name];
      if (typeof value === "string") row[name] = Number(value);
    }
    return row;
  });
}
