import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadQueries, parseCsvRows, parseQueries } from "./query-file.js";
import { examplePath } from "./test-fixtures.js";

describe("query files", () => {
  it("loads JSONL with ids from the id field or generated ones", () => {
    const result = parseQueries(
      '{"id": "a", "text": "x"}\n\n{"text": "y", "n": 2}\r\n{"id": 7, "text": "z"}\n',
      {
        file: "q.jsonl",
        inputFields: ["text"],
      },
    );
    expect(result).toEqual({
      ok: true,
      queries: [
        { id: "a", context: { id: "a", text: "x" } },
        { id: "q00002", context: { text: "y", n: 2 } },
        { id: "7", context: { id: 7, text: "z" } },
      ],
    });
  });

  it("unwraps records nested as {id, context} (what `halo datasets queries` writes)", () => {
    const result = parseQueries(
      '{"id": "t1", "context": {"user_query": "region=ASIA"}}\n{"id": "t2", "context": "flat", "user_query": "x"}\n',
      { file: "q.jsonl", inputFields: ["user_query"] },
    );
    expect(result).toEqual({
      ok: true,
      queries: [
        { id: "t1", context: { user_query: "region=ASIA" } },
        { id: "t2", context: { id: "t2", context: "flat", user_query: "x" } },
      ],
    });
    const missing = parseQueries('{"id": "t3", "context": {"other": 1}}\n', {
      file: "q.jsonl",
      inputFields: ["user_query"],
    });
    expect(missing.ok).toBe(false);
  });

  it("reports bad lines, missing fields and duplicate ids with file and line", () => {
    const result = parseQueries('{"text": 1}\nnot json\n[1]\n{"other": 2}\n{"id": "q00001", "text": 3}\n', {
      file: "q.jsonl",
      inputFields: ["text"],
    });
    expect(
      result.ok
        ? []
        : result.problems.map((problem) => [problem.code, problem.source.line, problem.source.path]),
    ).toEqual([
      ["invalid-query-file", 2, "records[1]"],
      ["invalid-query-file", 3, "records[1]"],
      ["missing-input-field", 4, "records[1].text"],
      ["duplicate-query-id", 5, "records[2].id"],
    ]);
  });

  it("parses CSV with quotes, embedded commas and newlines", () => {
    const text =
      '\ufeffid,user_query,note\nr1,"region=ASIA, year=1994","line one\nline two"\nr2,"say ""hi""",\n\n';
    const result = parseQueries(text, { file: "q.csv", inputFields: ["user_query"] });
    expect(result).toEqual({
      ok: true,
      queries: [
        { id: "r1", context: { id: "r1", user_query: "region=ASIA, year=1994", note: "line one\nline two" } },
        { id: "r2", context: { id: "r2", user_query: 'say "hi"', note: "" } },
      ],
    });
    expect(parseCsvRows("a,b\r\n1,2")).toEqual([
      { line: 1, cells: ["a", "b"] },
      { line: 2, cells: ["1", "2"] },
    ]);
  });

  it("reports CSV problems", () => {
    const ragged = parseQueries("a,b\n1\n", { file: "q.csv" });
    expect(ragged.ok ? "" : ragged.problems[0]?.message).toBe("expected 2 columns (a, b), found 1");
    const missing = parseQueries("a\n1\n", { file: "q.csv", inputFields: ["user_query"] });
    expect(missing.ok ? [] : missing.problems.map((problem) => [problem.code, problem.source.line])).toEqual([
      ["missing-input-field", 2],
    ]);
    const open = parseQueries('a\n"never closed\n', { file: "q.csv" });
    expect(open.ok ? "" : open.problems[0]?.message).toBe("unterminated quoted field");
    expect(parseQueries("", { file: "q.csv" }).ok).toBe(false);
    expect(parseQueries("a\n", { file: "q.csv" }).ok).toBe(false);
  });

  it("rejects unsupported formats and caps problem lists", () => {
    const parquet = parseQueries("", { file: "q.parquet" });
    expect(parquet.ok ? "" : parquet.problems[0]?.message).toContain("Parquet is read by the runtime");
    const many = parseQueries("{}\n".repeat(80), { file: "q.jsonl", inputFields: ["text"] });
    expect(many.ok ? 0 : many.problems.length).toBe(51);
    expect(many.ok ? "" : many.problems[50]?.message).toBe("… and 30 more problems");
    expect(parseQueries("{}", { format: "jsonl" }).ok).toBe(true);
  });

  it("loads files from disk, with the workflow's input fields", async () => {
    const directory = mkdtempSync(join(tmpdir(), "halo-queries-"));
    const path = join(directory, "queries.csv");
    writeFileSync(path, "user_query\nregion=ASIA\n");
    const result = await loadQueries(path, { inputFields: ["user_query"] });
    expect(result.ok && result.queries).toEqual([{ id: "q00001", context: { user_query: "region=ASIA" } }]);
    const example = await loadQueries(examplePath("queries.jsonl"), { inputFields: ["user_query"] });
    expect(example.ok && example.queries.length).toBeGreaterThanOrEqual(32);
    const missing = await loadQueries(join(directory, "nope.jsonl"));
    expect(missing.ok ? "" : missing.problems[0]?.code).toBe("file-not-found");
  });
});
