import { describe, expect, it } from "vitest";
import type { JsonObject, ProcessorOperator } from "../types.js";
import {
  extractRegexParams,
  matchEnum,
  normalizeDate,
  normalizeNumber,
  regexParamExtractor,
} from "./regex-param-extractor.js";

const tpchConfig: JsonObject = {
  regex: {
    region: ["(?i)\\bregion\\s*[=:]\\s*([a-z]+(?:\\s+east)?)", "(?i)\\b(asia|europe|africa)\\b"],
    segment: ["(?i)segment=(\\w+)"],
    year: ["(?i)\\byear\\s*[=:]\\s*(\\d{4})", "\\b(199[2-8])\\b"],
    date: ["(?i)date=([\\d/.-]+)"],
    brand: ["(?i)Brand#\\d\\d"],
    quoted: ["name=('[^']*')"],
  },
  enums: {
    region: ["AFRICA", "AMERICA", "ASIA", "EUROPE", "MIDDLE EAST"],
    segment: ["AUTOMOBILE", "BUILDING", "HOUSEHOLD"],
  },
  defaults: { region: "ASIA", year: 1994, segment: "BUILDING", size: "15" },
  normalize: {
    uppercase_fields: ["brand"],
    date_fields: ["date"],
    numeric_fields: ["year", "size"],
    strip_quotes: true,
  },
};

describe("extractRegexParams", () => {
  it("takes group 1 of the first matching pattern and normalizes", () => {
    expect(
      extractRegexParams("region=europe segment=household year=1996 date=1995/3/7 brand#13", tpchConfig),
    ).toEqual({
      region: "EUROPE",
      segment: "HOUSEHOLD",
      year: 1996,
      date: "1995-03-07",
      brand: "BRAND#13",
      quoted: null,
      size: 15,
    });
  });

  it("falls back to later patterns, then to defaults", () => {
    expect(extractRegexParams("what about Africa in 1993?", tpchConfig)).toMatchObject({
      region: "AFRICA",
      year: 1993,
      segment: "BUILDING",
    });
    expect(extractRegexParams("nothing here", tpchConfig)).toMatchObject({
      region: "ASIA",
      year: 1994,
      brand: null,
    });
  });

  it("matches enums by unique prefix with collapsed whitespace", () => {
    expect(extractRegexParams("region=middle   east", tpchConfig)["region"]).toBe("MIDDLE EAST");
    expect(extractRegexParams("region=middle", tpchConfig)["region"]).toBe("MIDDLE EAST");
    expect(extractRegexParams("region=am", tpchConfig)["region"]).toBe("AMERICA");
    // "A" is a prefix of several regions: no unique match, so the default applies.
    expect(extractRegexParams("region=a", tpchConfig)["region"]).toBe("ASIA");
    expect(extractRegexParams("region=atlantis", tpchConfig)["region"]).toBe("ASIA");
  });

  it("matches a multi-word enum value written without its spaces, as the prototype does", () => {
    expect(extractRegexParams("region=MIDDLEEAST year=1993", tpchConfig)["region"]).toBe("MIDDLE EAST");
    expect(matchEnum("reg air", ["REGAIR", "RAIL"])).toBe("REGAIR");
    expect(matchEnum("airreg", ["AIR", "AIR REG"])).toBe("AIR REG");
    // Dropping spaces must not turn a non-match into a match.
    expect(matchEnum("MIDDLE EASTERN", ["MIDDLE EAST"])).toBeUndefined();
  });

  it("strips quotes and leaves invalid dates and non-numbers alone", () => {
    expect(extractRegexParams("name='x y' date=1995-02-30", tpchConfig)).toMatchObject({
      quoted: "x y",
      date: "1995-02-30",
    });
    expect(normalizeDate("2024-2-29")).toBe("2024-02-29");
    expect(normalizeDate(12)).toBe(12);
    expect(normalizeNumber(".05")).toBe(0.05);
    expect(normalizeNumber("-3e2")).toBe(-300);
    expect(normalizeNumber("12abc")).toBe("12abc");
    expect(normalizeNumber(true)).toBe(true);
  });

  it("gives null when nothing matches, there is no default, and the enum rejects the value", () => {
    const config = { regex: { kind: ["kind=(\\w+)"] }, enums: { kind: ["A", "B"] } };
    expect(extractRegexParams("kind=zzz", config)).toEqual({ kind: null });
    expect(matchEnum("", ["A"])).toBeUndefined();
    expect(matchEnum(7, [7, 8])).toBe(7);
  });

  it("accepts a single pattern string per field and caches compiled configs", () => {
    const config = { regex: { id: "id=(\\d+)" } };
    expect(extractRegexParams("id=42", config)).toEqual({ id: "42" });
    expect(extractRegexParams("id=43", config)).toEqual({ id: "43" });
  });
});

describe("regexParamExtractor", () => {
  const operator = {
    id: "params",
    kind: "processor",
    processor: "regex_param_extractor",
    config: tpchConfig,
    inputs: ["user_query"],
    outputs: ["tpch_params"],
    parents: [],
    children: [],
    coalesce: true,
    source: { file: "test", path: "graph.nodes[1]" },
  } satisfies ProcessorOperator;

  it("reads the operator's first input (non-strings as JSON)", () => {
    expect(regexParamExtractor.run({ user_query: "year=1997" }, tpchConfig, operator)["year"]).toBe(1997);
    expect(regexParamExtractor.run({ user_query: { year: 1995 } }, tpchConfig, operator)["year"]).toBe(1995);
    expect(regexParamExtractor.run({}, tpchConfig, operator)["year"]).toBe(1994);
  });

  it("validates configs: shapes and regexes with paths", () => {
    const validate = regexParamExtractor.validateConfig;
    expect(validate?.(tpchConfig)).toEqual([]);
    expect(validate?.({ regex: { a: ["(x"], b: "(?>y)" }, enums: { c: "nope" } })).toEqual([
      {
        code: "invalid-config",
        path: ["enums", "c"],
        message: "Invalid input: expected array, received string",
      },
    ]);
    expect(validate?.({ regex: { a: ["(x", "ok"], b: "(?>y)" } })).toEqual([
      expect.objectContaining({ code: "invalid-regex", path: ["regex", "a", 0] }),
      expect.objectContaining({ code: "invalid-regex", path: ["regex", "b"] }),
    ]);
  });
});
