/**
 * The one JSON shape of result values both backends produce, so the same SQL over the same
 * data gives equal JSON on DuckDB and PostgreSQL:
 * - integers → number when |n| ≤ 2^53 − 1, else decimal string;
 * - DECIMAL/NUMERIC, REAL, DOUBLE → number (NaN/±Infinity → "NaN"/"Infinity"/"-Infinity"),
 *   except a whole DECIMAL beyond 2^53, which stays exact text like a big integer;
 * - DATE → `YYYY-MM-DD`; TIMESTAMP / TIMESTAMPTZ → `toISOString()` form
 *   (`YYYY-MM-DDTHH:MM:SS.sssZ`, UTC, milliseconds; a timestamp without time zone is read as UTC);
 *   dates and timestamps a JS Date cannot hold (infinity, beyond year 9999) → the database's text;
 * - lists/arrays → arrays; DuckDB structs and JSON values → objects; BLOB/BYTEA → `\x…` hex text.
 */
import type { JsonValue } from "@halo/ir";

/** A result row as a JSON object. */
export type JsonRow = Record<string, JsonValue>;

/** An integer as JSON: a number when it is exactly representable, else its decimal text. */
export function integerToJson(value: bigint): JsonValue {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value.toString();
}

/** A floating-point or decimal number as JSON; JSON has no NaN or infinities, so those become text. */
export function floatToJson(value: number): JsonValue {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "Infinity";
  if (value === Number.NEGATIVE_INFINITY) return "-Infinity";
  return value;
}

/**
 * A decimal number's text (`"123.450"`) as JSON: a number, except that a whole number beyond
 * 2^53 stays exact as text, like a big integer (PostgreSQL's sum(bigint) is numeric, DuckDB's HUGEINT).
 */
export function decimalTextToJson(text: string): JsonValue {
  return /^[+-]?\d+$/.test(text) ? integerToJson(BigInt(text)) : floatToJson(Number(text));
}

/** Milliseconds since the epoch (UTC) as the ISO form, or `fallback` when a JS Date cannot hold it. */
export function epochMillisecondsToIso(milliseconds: number, fallback: string): string {
  const date = new Date(milliseconds);
  const year = date.getUTCFullYear();
  return Number.isNaN(date.getTime()) || year < 0 || year > 9999 ? fallback : date.toISOString();
}

/** Bytes as `\x` followed by lowercase hex, PostgreSQL's text form of `bytea`. */
export function bytesToHex(bytes: Uint8Array): string {
  return `\\x${Buffer.from(bytes).toString("hex")}`;
}

/**
 * Column names made unique, so no value is lost in a row object: a repeated name gets
 * `_1`, `_2`, … (skipping names already taken), on both backends alike.
 */
export function uniqueColumnNames(names: readonly string[]): string[] {
  const taken = new Set<string>();
  return names.map((name) => {
    let unique = name;
    for (let suffix = 1; taken.has(unique); suffix += 1) unique = `${name}_${suffix}`;
    taken.add(unique);
    return unique;
  });
}

/** Row objects from column names and row arrays (values already converted to JSON). */
export function rowObjects(
  columnNames: readonly string[],
  rows: readonly (readonly JsonValue[])[],
): JsonRow[] {
  const names = uniqueColumnNames(columnNames);
  // fromEntries defines own properties, so even a column named `__proto__` stays a plain field.
  return rows.map((row) => Object.fromEntries(names.map((name, index) => [name, row[index] ?? null])));
}
