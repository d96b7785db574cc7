import { describe, expect, it } from "vitest";
import { ParameterError, type ParameterSpec, parseParameters } from "./request-parameters.js";

const SPECS: readonly ParameterSpec[] = [
  { name: "keyword", kind: "text", required: true, maxLength: 10, aliases: ["q"] },
  { name: "since", kind: "integer", required: false, minimum: 0, maximum: 3000, defaultValue: 2000 },
  {
    name: "mode",
    kind: "enum",
    required: false,
    values: ["REG AIR", "MAIL"],
    valueAliases: { "AIR REG": "REG AIR" },
  },
];

const parse = (query: string) => parseParameters(SPECS, new URLSearchParams(query));

function failure(query: string): ParameterError {
  try {
    parse(query);
  } catch (error) {
    if (error instanceof ParameterError) return error;
    throw error;
  }
  throw new Error(`${query} was accepted`);
}

describe("parseParameters", () => {
  it("reads contract names and aliases, under the contract's names", () => {
    expect(parse("keyword=river&since=1990&mode=mail")).toEqual({
      keyword: "river",
      since: 1990,
      mode: "MAIL",
    });
    expect(parse("q=river")).toEqual({ keyword: "river", since: 2000 });
  });

  it("passes an empty text through, as a value, and gives a blank integer its default", () => {
    expect(parse("keyword=&since=%20")).toEqual({ keyword: "", since: 2000 });
    expect(parse("keyword=+a+b+")).toEqual({ keyword: " a b ", since: 2000 });
  });

  it("accepts integers as Python's int() does: signs and surrounding spaces", () => {
    expect(parse("keyword=x&since=+1999").since).toBe(1999);
    expect(parse("keyword=x&since=%201999%20").since).toBe(1999);
  });

  it("matches enum values case- and space-insensitively, and their other spellings", () => {
    expect(parse("keyword=x&mode=reg%20%20air").mode).toBe("REG AIR");
    expect(parse("keyword=x&mode=Air+Reg").mode).toBe("REG AIR");
  });

  it.each([
    ["since=1999", "keyword", "missing required parameter 'keyword'"],
    ["keyword=x&keyword=y", "keyword", "parameter 'keyword' is given more than once"],
    ["keyword=x&q=y", "q", "parameter 'q' is given more than once (also as 'keyword')"],
    ["q=abcdefghijk", "q", "parameter 'q' is longer than 10 characters"],
    ["keyword=x&since=1e3", "since", "parameter 'since' must be an integer in [0, 3000] (got '1e3')"],
    ["keyword=x&since=3001", "since", "parameter 'since' must be an integer in [0, 3000] (got '3001')"],
    ["keyword=x&mode=SHIP", "mode", "parameter 'mode' must be one of REG AIR, MAIL, AIR REG (got 'SHIP')"],
    ["keyword=x&limit=3", "limit", "unknown parameter 'limit'; expected 'keyword', 'since', 'mode'"],
  ])("rejects %s, naming %s", (query, parameter, message) => {
    const error = failure(query);
    expect(error.parameter).toBe(parameter);
    expect(error.message).toBe(message);
  });
});
