import { describe, expect, it } from "vitest";
import { translatePythonRegex } from "./python-regex.js";

function regex(pattern: string): RegExp {
  const result = translatePythonRegex(pattern);
  if (!result.ok) throw new Error(result.reason);
  return result.regex;
}

describe("translatePythonRegex", () => {
  it("turns leading inline flags into JS flags", () => {
    const result = translatePythonRegex("(?i)(?s)region=(\\w+).");
    expect(result).toMatchObject({ ok: true, source: "region=(\\w+).", flags: "is" });
    expect(regex("(?im)^year=(\\d+)").exec("x\nYEAR=1994")?.[1]).toBe("1994");
  });

  it("translates named groups, named backreferences and comments", () => {
    const match = regex("(?P<word>\\w+)-(?P=word)(?#repeated)").exec("go-go");
    expect(match?.groups?.["word"]).toBe("go");
    expect(translatePythonRegex("(?P<a>x)(?P=a)")).toMatchObject({ source: "(?<a>x)\\k<a>" });
  });

  it("translates \\A and \\Z to whole-input anchors even with the m flag", () => {
    const pattern = regex("(?m)\\Aab\\Z");
    expect(pattern.test("ab")).toBe(true);
    expect(pattern.test("x\nab")).toBe(false);
    expect(pattern.test("ab\nx")).toBe(false);
  });

  it("strips whitespace and comments in verbose mode but not inside classes", () => {
    const pattern = regex("(?x) year \\s* = \\s* (\\d{4})  # the year\n [ ]?");
    expect(pattern.source).toBe("year\\s*=\\s*(\\d{4})[ ]?");
    expect(pattern.exec("year = 1994 ")?.[1]).toBe("1994");
  });

  it("makes a leading ] in a class literal as Python does", () => {
    expect(regex("[]a]+").exec("x]a]")?.[0]).toBe("]a]");
    expect(regex("[^]]+").exec("]abc]")?.[0]).toBe("abc");
  });

  it("keeps escapes Python and JS share and translates \\a, \\x, \\u", () => {
    expect(regex("\\d+\\.\\d+").test("3.14")).toBe(true);
    expect(regex("\\x41\\u0042\\a").test("AB\u0007")).toBe(true);
    expect(regex("(a)\\1").test("aa")).toBe(true);
  });

  it("accepts scoped flags that are already global", () => {
    expect(regex("(?i)(?i:abc)").test("ABC")).toBe(true);
  });

  it.each([
    ["(?>atomic)", "atomic groups"],
    ["(?(1)a|b)", "conditional groups"],
    ["a++", "possessive quantifiers"],
    ["(?i:abc)", "scoped inline flags"],
    ["(?-i:abc)", "scoped inline flags"],
    ["ab(?i)c", "global inline flags must be at the start"],
    ["(?L)x", 'inline flag "L"'],
    ["\\N{DASH}", "escape \\N"],
    ["\\q", "bad escape \\q"],
    ["\\x4", "incomplete escape \\x"],
    ["\\u12", "incomplete escape \\u"],
    ["(?P=1bad)", "malformed (?P=name)"],
    ["(?#never closed", "unterminated comment"],
    ["(?%x)", "unknown extension"],
    ["[abc", "unterminated character set"],
    ["abc\\", "lone backslash"],
    ["(\\d{4}", "Unterminated group"],
  ])("rejects %j", (pattern, reason) => {
    const result = translatePythonRegex(pattern);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });
});
