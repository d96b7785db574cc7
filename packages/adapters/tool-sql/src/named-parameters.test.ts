import { describe, expect, it } from "vitest";
import { parseNamedParameters, renderPositionalSql } from "./named-parameters.js";
import type { SqlToolError } from "./sql-tool-error.js";

const positional = (sql: string): string => renderPositionalSql(parseNamedParameters(sql), (_, n) => `$${n}`);

describe("parseNamedParameters", () => {
  it("finds :name parameters and numbers them by first use, reusing the number", () => {
    const parsed = parseNamedParameters("SELECT * FROM t WHERE a = :a AND b = :b OR a2 = :a");
    expect(parsed.parameterNames).toEqual(["a", "b"]);
    expect(positional("SELECT * FROM t WHERE a = :a AND b = :b OR a2 = :a")).toBe(
      "SELECT * FROM t WHERE a = $1 AND b = $2 OR a2 = $1",
    );
  });

  it("keeps ::type casts, including a cast right after a parameter", () => {
    expect(positional("SELECT :p::int, x::text, make_date(:year::int, 1, 1)")).toBe(
      "SELECT $1::int, x::text, make_date($2::int, 1, 1)",
    );
    expect(parseNamedParameters("SELECT x::text").parameterNames).toEqual([]);
  });

  it("ignores colons inside string literals, quoted identifiers and comments", () => {
    const sql = [
      "SELECT ':not' AS a, 'it''s :no' AS b, \":nor\" AS \"c\"\"d:x\", E'\\' :esc' AS e",
      "-- a comment :nope",
      "/* block :nada /* nested :zip */ still :comment */ FROM t WHERE x = :yes",
    ].join("\n");
    const parsed = parseNamedParameters(sql);
    expect(parsed.parameterNames).toEqual(["yes"]);
    expect(positional(sql)).toBe(sql.replace(":yes", "$1"));
  });

  it("ignores dollar-quoted strings, with and without a tag", () => {
    const sql = "SELECT $$ :a $$, $fn$ :b $ :c $fn$, :d";
    expect(parseNamedParameters(sql).parameterNames).toEqual(["d"]);
    expect(positional(sql)).toBe("SELECT $$ :a $$, $fn$ :b $ :c $fn$, $1");
  });

  it("does not take a colon after a letter, digit or underscore as a parameter (slices, a:b)", () => {
    expect(parseNamedParameters("SELECT arr[1:n], a:b, x_:y FROM t").parameterNames).toEqual([]);
    expect(parseNamedParameters("SELECT arr[:lo]").parameterNames).toEqual(["lo"]);
    expect(positional("SELECT f(a := 1)")).toBe("SELECT f(a := 1)");
  });

  it("turns %% into % everywhere (psycopg escaping) and keeps a single %", () => {
    expect(positional("SELECT 'a%%b', x % 2, '%' || :t || '%%' FROM t WHERE n LIKE '%%z' -- 100%%")).toBe(
      "SELECT 'a%b', x % 2, '%' || $1 || '%' FROM t WHERE n LIKE '%z' -- 100%",
    );
  });

  it("keeps identifiers with $ and E'' strings with escaped quotes intact", () => {
    expect(positional("SELECT a$b, e'x\\':y', :z")).toBe("SELECT a$b, e'x\\':y', $1");
  });

  it("rejects positional $1 parameters and unterminated quotes or comments, naming the offset", () => {
    const invalid = (sql: string): SqlToolError => {
      try {
        parseNamedParameters(sql);
      } catch (error) {
        return error as SqlToolError;
      }
      throw new Error(`no error for ${sql}`);
    };
    expect(invalid("SELECT $1")).toMatchObject({
      code: "invalid-sql",
      message: expect.stringContaining("$1 at offset 7"),
    });
    expect(invalid("SELECT 'abc").message).toContain("unterminated string literal starting at offset 7");
    expect(invalid('SELECT "abc').message).toContain("unterminated quoted identifier");
    expect(invalid("SELECT /* a /* b */").message).toContain("unterminated block comment");
    expect(invalid("SELECT $x$ abc").message).toContain("unterminated dollar-quoted string $x$");
    expect(invalid("SELECT E'abc\\'").message).toContain("unterminated string literal");
  });

  it("handles a parameter at the very start and end and a lone $ or colon", () => {
    expect(positional(":a")).toBe("$1");
    expect(positional("SELECT :a")).toBe("SELECT $1");
    expect(positional("SELECT 1 :")).toBe("SELECT 1 :");
    expect(positional("SELECT $")).toBe("SELECT $");
    expect(positional("-- only a comment")).toBe("-- only a comment");
  });
});
