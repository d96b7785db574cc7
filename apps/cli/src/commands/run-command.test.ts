import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../main.js";
import { recordingIo } from "../test-io.js";

// Bad input is refused before any work starts: no executor is started, nothing is written.
const EXAMPLE = fileURLToPath(new URL("../../../../examples/tpch-diamond.yaml", import.meta.url));
const QUERIES = fileURLToPath(new URL("../../../../examples/queries.jsonl", import.meta.url));

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "halo-run-input-"));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function run(...args: string[]) {
  const io = recordingIo();
  const code = await runCli(["run", ...args], io);
  return { code, out: io.out(), err: io.err() };
}

describe("halo run: invalid input (exit 2, before any work)", () => {
  it("a workflow with SQL but no --db", async () => {
    const result = await run(EXAMPLE, "--queries", QUERIES, "--out", join(directory, "a.jsonl"));
    expect(result.code).toBe(2);
    expect(result.err).toContain("runs SQL (market_analyst__sql__nation_volume,");
    expect(result.err).toContain("no --db was given");
    expect(result.err).not.toContain("starting");
  });

  it("a missing DuckDB file", async () => {
    const missing = join(directory, "missing.duckdb");
    const result = await run(
      EXAMPLE,
      "--queries",
      QUERIES,
      "--db",
      missing,
      "--out",
      join(directory, "b.jsonl"),
    );
    expect(result.code).toBe(2);
    expect(result.err).toContain("--db:");
    expect(result.err).toContain(missing);
  });

  it("an unreachable PostgreSQL server", async () => {
    const result = await run(
      EXAMPLE,
      "--queries",
      QUERIES,
      "--db",
      "postgres://halo:secret@127.0.0.1:1/tpch",
      "--out",
      join(directory, "c.jsonl"),
    );
    expect(result.code).toBe(2);
    expect(result.err).toContain("--db:");
    expect(result.err).toContain("127.0.0.1:1");
    expect(result.err).not.toContain("secret");
  });

  it("a query file with a record missing the input field, and a missing query file", async () => {
    const queries = join(directory, "bad.jsonl");
    await writeFile(queries, '{"id": "q1", "user_query": "region=ASIA"}\n{"id": "q2", "question": "oops"}\n');
    const result = await run(EXAMPLE, "--queries", queries, "--db", "x.duckdb");
    expect(result.code).toBe(2);
    expect(result.err).toContain("bad.jsonl");
    expect(result.err).toContain("user_query");
    const missing = await run(EXAMPLE, "--queries", join(directory, "none.jsonl"));
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("none.jsonl");
  });

  it("bad flags: strategy, disable, executors, engine, out, local with executors", async () => {
    const cases: [string[], string][] = [
      [["--strategy", "fastest"], "--strategy"],
      [["--disable", "magic"], "--disable"],
      [["--executors", "nohost"], '"nohost" is not host:port'],
      [["--executors", "127.0.0.1:1", "--local", "2"], "exclude each other"],
      [["--engine", "gpu"], "--engine"],
      [["--local", "0"], "--local"],
      [["--latency-scale", "-1"], "--latency-scale"],
      [["--context-size", "32"], "--context-size: expected an integer >= 64"],
      [
        ["--prompt-layout", "sideways"],
        '--prompt-layout: expected shared-first or declared (got "sideways")',
      ],
    ];
    for (const [flags, message] of cases) {
      const result = await run(EXAMPLE, "--queries", QUERIES, ...flags);
      expect(result.code, flags.join(" ")).toBe(2);
      expect(result.err).toContain(message);
    }
  });

  it("unreachable executors", async () => {
    const database = join(directory, "empty.duckdb");
    await writeFile(database, "");
    const workflow = join(directory, "plain.yaml");
    await writeFile(
      workflow,
      `graph:
  name: plain
  nodes:
    - { id: q, type: input, outputs: [text] }
    - { id: a, type: inference, model: Qwen/Qwen3-14B, inputs: [text], outputs: [answer] }
  edges:
    - { from: q, to: a }
`,
    );
    const queries = join(directory, "plain.jsonl");
    await writeFile(queries, '{"id": "q1", "text": "hello"}\n');
    const result = await run(
      workflow,
      "--queries",
      queries,
      "--executors",
      "127.0.0.1:1",
      "--out",
      join(directory, "d.jsonl"),
    );
    expect(result.code).toBe(2);
    expect(result.err).toContain("--executors: executor 127.0.0.1:1 is not reachable");
    const wrongOut = await run(workflow, "--queries", queries, "--out", join(directory, "results.csv"));
    expect(wrongOut.code).toBe(2);
    expect(wrongOut.err).toContain("--out: expected a .jsonl or .parquet file");
    await expect(readFile(join(directory, "d.jsonl"), "utf8")).rejects.toThrow(/ENOENT/);
  });
});
