/**
 * Declared parameter types (`param_types` in the workflow format) and the coercion of
 * parameter values to them before binding: the string "1994" declared `int` binds 1994.
 */
import type { JsonValue } from "@halo/ir";
import { SqlToolError } from "./sql-tool-error.js";

/** The canonical declared types; the names the workflow may use map onto them (`DECLARED_TYPE_ALIASES`). */
export type SqlParameterType =
  | "integer"
  | "bigint"
  | "numeric"
  | "double"
  | "text"
  | "date"
  | "timestamp"
  | "boolean"
  | "json";

/** Accepted `param_types` names (case-insensitive) and the canonical type each one means. */
export const DECLARED_TYPE_ALIASES: Readonly<Record<string, SqlParameterType>> = {
  int: "integer",
  int4: "integer",
  integer: "integer",
  bigint: "bigint",
  int8: "bigint",
  numeric: "numeric",
  decimal: "numeric",
  float: "double",
  float8: "double",
  double: "double",
  "double precision": "double",
  text: "text",
  varchar: "text",
  string: "text",
  str: "text",
  date: "date",
  timestamp: "timestamp",
  bool: "boolean",
  boolean: "boolean",
  json: "json",
};

/**
 * A parameter value ready to bind: `null`, or the coerced value of its declared type
 * (`integer`/`bigint` as bigint, `numeric` as its exact decimal text, `date`/`timestamp`
 * as `YYYY-MM-DD[ HH:MM:SS[.ffffff]]` text, `json` as JSON text), or, when undeclared,
 * the JSON value as the workflow gave it.
 */
export type CoercedParameter =
  | { readonly type: "integer" | "bigint"; readonly value: bigint | null }
  | { readonly type: "numeric" | "text" | "date" | "timestamp" | "json"; readonly value: string | null }
  | { readonly type: "double"; readonly value: number | null }
  | { readonly type: "boolean"; readonly value: boolean | null }
  | { readonly type: undefined; readonly value: JsonValue };

const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INTEGER_TEXT = /^[+-]?\d+$/;
const DECIMAL_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP_TEXT = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?)?Z?$/;

/** The canonical type a declared type name means; throws `invalid-parameter` naming the parameter when unknown. */
export function resolveDeclaredType(parameterName: string, declaredType: string): SqlParameterType {
  const type = DECLARED_TYPE_ALIASES[declaredType.trim().toLowerCase()];
  if (type === undefined) {
    throw new SqlToolError(
      "invalid-parameter",
      `parameter :${parameterName} declares unknown type '${declaredType}' ` +
        `(known: ${Object.keys(DECLARED_TYPE_ALIASES).join(", ")})`,
    );
  }
  return type;
}

/**
 * Coerces the value of parameter `name` to its declared type (or keeps it when undeclared);
 * a value that does not fit throws `invalid-parameter` naming the parameter and the value.
 */
export function coerceParameter(
  name: string,
  value: JsonValue,
  declaredType: string | undefined,
): CoercedParameter {
  if (declaredType === undefined) return { type: undefined, value };
  const type = resolveDeclaredType(name, declaredType);
  const invalid = (expected: string): SqlToolError =>
    new SqlToolError(
      "invalid-parameter",
      `parameter :${name} is declared ${declaredType} but its value ${preview(value)} is not ${expected}`,
    );
  const text = typeof value === "string" ? value.trim() : undefined;

  switch (type) {
    case "integer":
    case "bigint": {
      if (value === null) return { type, value: null };
      let integer: bigint;
      if (typeof value === "number" && Number.isInteger(value)) integer = BigInt(value);
      else if (text !== undefined && INTEGER_TEXT.test(text)) integer = BigInt(text);
      else throw invalid("an integer");
      const [minimum, maximum] = type === "integer" ? [INT32_MIN, INT32_MAX] : [INT64_MIN, INT64_MAX];
      if (integer < minimum || integer > maximum) throw invalid(`within the ${type} range`);
      return { type, value: integer };
    }
    case "numeric": {
      if (value === null) return { type, value: null };
      if (typeof value === "number" && Number.isFinite(value)) return { type, value: String(value) };
      if (text !== undefined && DECIMAL_TEXT.test(text)) return { type, value: text };
      throw invalid("a number");
    }
    case "double": {
      if (value === null) return { type, value: null };
      if (typeof value === "number" && Number.isFinite(value)) return { type, value };
      if (text !== undefined && DECIMAL_TEXT.test(text)) return { type, value: Number(text) };
      throw invalid("a number");
    }
    case "text": {
      if (value === null) return { type, value: null };
      if (typeof value === "string") return { type, value };
      if (typeof value === "number" || typeof value === "boolean") return { type, value: String(value) };
      return { type, value: JSON.stringify(value) };
    }
    case "date": {
      if (value === null) return { type, value: null };
      const match = text === undefined ? null : DATE_TEXT.exec(text);
      if (match === null || !isCalendarDate(match[1]!, match[2]!, match[3]!)) {
        throw invalid("a date (YYYY-MM-DD)");
      }
      return { type, value: match[0] };
    }
    case "timestamp": {
      if (value === null) return { type, value: null };
      const match = text === undefined ? null : TIMESTAMP_TEXT.exec(text);
      if (match === null || !isCalendarDate(match[1]!, match[2]!, match[3]!) || !isClockTime(match)) {
        throw invalid("a timestamp (YYYY-MM-DD HH:MM:SS[.ffffff], optionally with T and a trailing Z)");
      }
      const [, year, month, day, hour = "00", minute = "00", second = "00", fraction = ""] = match;
      return { type, value: `${year}-${month}-${day} ${hour}:${minute}:${second}${fraction}` };
    }
    case "boolean": {
      if (value === null || typeof value === "boolean") return { type, value };
      if (value === 0 || value === 1) return { type, value: value === 1 };
      const lowered = text?.toLowerCase();
      if (lowered !== undefined && ["true", "t", "yes", "1"].includes(lowered)) return { type, value: true };
      if (lowered !== undefined && ["false", "f", "no", "0"].includes(lowered)) return { type, value: false };
      throw invalid("a boolean (true/false, t/f, yes/no, 1/0)");
    }
    case "json": {
      if (value === null) return { type, value: null };
      if (typeof value === "string") {
        try {
          JSON.parse(value);
        } catch {
          throw invalid("JSON text");
        }
        return { type, value };
      }
      return { type, value: JSON.stringify(value) };
    }
  }
}

function isCalendarDate(year: string, month: string, day: string): boolean {
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  return (
    date.getUTCFullYear() === Number(year) &&
    date.getUTCMonth() === Number(month) - 1 &&
    date.getUTCDate() === Number(day)
  );
}

function isClockTime(match: RegExpExecArray): boolean {
  const [hour = "0", minute = "0", second = "0"] = [match[4], match[5], match[6]];
  return Number(hour) < 24 && Number(minute) < 60 && Number(second) < 60;
}

/** A short rendering of a value for error messages. */
function preview(value: JsonValue): string {
  const json = JSON.stringify(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}
