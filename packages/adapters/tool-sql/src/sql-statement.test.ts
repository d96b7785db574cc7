import type { JsonValue } from "@halo/ir";
import { describe, expect, it } from "vitest";
import { coerceParameter, resolveDeclaredType } from "./parameter-types.js";
import { buildPositionalStatement } from "./sql-statement.js";

const request = (
  sql: string,
  parameters: Record<string, JsonValue>,
  parameterTypes: Record<string, string> = {},
): { sql: string; parameters: Record<string, JsonValue>; parameterTypes: Record<string, string> } => ({
  sql,
  parameters,
  parameterTypes,
});

describe("coerceParameter", () => {
  it("coerces integer strings and numbers for int and bigint, within range", () => {
    expect(coerceParameter("year", "1994", "int")).toEqual({ type: "integer", value: 1994n });
    expect(coerceParameter("year", " 1994 ", "INTEGER")).toEqual({ type: "integer", value: 1994n });
    expect(coerceParameter("year", 1994, "int")).toEqual({ type: "integer", value: 1994n });
    expect(coerceParameter("big", "9007199254740993", "bigint")).toEqual({
      type: "bigint",
      value: 9007199254740993n,
    });
    expect(() => coerceParameter("year", "1994.5", "int")).toThrow(
      /:year is declared int .*"1994.5" is not an integer/,
    );
    expect(() => coerceParameter("year", "3000000000", "int")).toThrow(/within the integer range/);
    expect(() => coerceParameter("big", "9223372036854775808", "bigint")).toThrow(/within the bigint range/);
    expect(() => coerceParameter("year", true, "int")).toThrow(/:year/);
  });

  it("keeps numeric exact as text and double as a number", () => {
    expect(coerceParameter("d", "0.0525", "numeric")).toEqual({ type: "numeric", value: "0.0525" });
    expect(coerceParameter("d", 0.05, "decimal")).toEqual({ type: "numeric", value: "0.05" });
    expect(coerceParameter("d", "1e3", "float")).toEqual({ type: "double", value: 1000 });
    expect(coerceParameter("d", 2.5, "double")).toEqual({ type: "double", value: 2.5 });
    expect(() => coerceParameter("d", "abc", "numeric")).toThrow(/:d is declared numeric/);
    expect(() => coerceParameter("d", "", "double")).toThrow(/:d is declared double/);
  });

  it("renders text from any JSON value", () => {
    expect(coerceParameter("t", 5, "text")).toEqual({ type: "text", value: "5" });
    expect(coerceParameter("t", false, "varchar")).toEqual({ type: "text", value: "false" });
    expect(coerceParameter("t", { a: 1 }, "str")).toEqual({ type: "text", value: '{"a":1}' });
    expect(coerceParameter("t", "x", "string")).toEqual({ type: "text", value: "x" });
  });

  it("accepts real calendar dates and timestamps only", () => {
    expect(coerceParameter("d", "1995-03-15", "date")).toEqual({ type: "date", value: "1995-03-15" });
    expect(() => coerceParameter("d", "1995-02-30", "date")).toThrow(/:d is declared date .*YYYY-MM-DD/);
    expect(() => coerceParameter("d", "sample", "date")).toThrow(/"sample"/);
    expect(() => coerceParameter("d", 19950315, "date")).toThrow(/:d/);
    expect(coerceParameter("t", "1995-03-15T12:30:00.25Z", "timestamp")).toEqual({
      type: "timestamp",
      value: "1995-03-15 12:30:00.25",
    });
    expect(coerceParameter("t", "1995-03-15", "timestamp")).toEqual({
      type: "timestamp",
      value: "1995-03-15 00:00:00",
    });
    expect(() => coerceParameter("t", "1995-03-15 25:00", "timestamp")).toThrow(/:t is declared timestamp/);
    expect(() => coerceParameter("t", "1995-03-15T12:00:00+02:00", "timestamp")).toThrow(/:t/);
  });

  it("reads booleans from the usual spellings", () => {
    expect(coerceParameter("b", "TRUE", "bool").value).toBe(true);
    expect(coerceParameter("b", "no", "boolean").value).toBe(false);
    expect(coerceParameter("b", 1, "bool").value).toBe(true);
    expect(coerceParameter("b", false, "bool").value).toBe(false);
    expect(() => coerceParameter("b", "maybe", "bool")).toThrow(/:b is declared bool/);
  });

  it("keeps JSON as text, validating strings", () => {
    expect(coerceParameter("j", { a: [1] }, "json")).toEqual({ type: "json", value: '{"a":[1]}' });
    expect(coerceParameter("j", "[1,2]", "json")).toEqual({ type: "json", value: "[1,2]" });
    expect(() => coerceParameter("j", "{oops", "json")).toThrow(/:j is declared json .*JSON text/);
  });

  it("binds null for every declared type and keeps undeclared values as they are", () => {
    for (const type of ["int", "bigint", "numeric", "float", "text", "date", "timestamp", "bool", "json"]) {
      expect(coerceParameter("p", null, type).value).toBeNull();
    }
    expect(coerceParameter("p", [1, "a"], undefined)).toEqual({ type: undefined, value: [1, "a"] });
  });

  it("rejects unknown declared types, listing the known ones", () => {
    expect(() => resolveDeclaredType("p", "money")).toThrow(
      /:p declares unknown type 'money' \(known: int, /,
    );
  });
});

describe("buildPositionalStatement", () => {
  it("casts declared parameters to each dialect's type and leaves undeclared ones bare", () => {
    const typed = request(
      "SELECT :year, :d::text, :name, :year",
      { year: "1994", d: "0.5", name: "x" },
      {
        year: "int",
        d: "numeric",
      },
    );
    expect(buildPositionalStatement(typed, "postgres").sql).toBe(
      "SELECT CAST($1 AS integer), CAST($2 AS numeric)::text, $3, CAST($1 AS integer)",
    );
    const duckdb = buildPositionalStatement(typed, "duckdb");
    expect(duckdb.sql).toBe("SELECT CAST($1 AS INTEGER), CAST($2 AS DOUBLE)::text, $3, CAST($1 AS INTEGER)");
    expect(duckdb.parameterNames).toEqual(["year", "d", "name"]);
    expect(duckdb.parameters).toEqual([
      { type: "integer", value: 1994n },
      { type: "numeric", value: "0.5" },
      { type: undefined, value: "x" },
    ]);
  });

  it("names a missing parameter and the ones that were given", () => {
    expect(() => buildPositionalStatement(request("SELECT :a, :b", { a: 1, c: 2 }), "duckdb")).toThrow(
      "the SQL uses parameter :b but no value was given for it (given: a, c)",
    );
    expect(() => buildPositionalStatement(request("SELECT :a", {}), "postgres")).toThrow("(given: none)");
  });

  it("ignores parameters and declared types the SQL does not use", () => {
    const statement = buildPositionalStatement(
      request("SELECT 1", { unused: 1 }, { unused: "weird" }),
      "duckdb",
    );
    expect(statement).toEqual({ sql: "SELECT 1", parameters: [], parameterNames: [] });
  });
});
