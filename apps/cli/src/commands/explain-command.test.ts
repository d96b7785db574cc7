import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { WorkflowExplanation } from "@halo/ir";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../main.js";
import { recordingIo } from "../test-io.js";

const repository = (path: string): string => fileURLToPath(new URL(`../../../../${path}`, import.meta.url));
const example = repository("examples/tpch-diamond.yaml");
const queries = repository("examples/queries.jsonl");

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "halo-cli-explain-"));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("halo explain", () => {
  it("prints operators, models, levels, edges and static prefixes as text", async () => {
    const io = recordingIo();
    expect(await runCli(["explain", example], io)).toBe(0);
    const out = io.out();
    expect(out).toContain("workflow tpch-diamond (graph dialect): 15 operators");
    expect(out).toMatch(
      /pricing_analyst\s+Qwen\/Qwen3-14B · max 24 tokens · temperature 0 · json output · static prefix 284 chars \/ \d+ tokens/,
    );
    expect(out).toMatch(/openai\/gpt-oss-20b\s+market_analyst, final_answer/);
    expect(out).toContain("   3  market_analyst, pricing_analyst, supply_analyst");
    expect(out).toContain("extract_params → pricing_analyst  user_query, tpch_params");
    expect(out).toContain(
      "supply_analyst__http__supplier_news  sleep 200 ms · tool of supply_analyst · coalesces",
    );
    expect(out).not.toContain("batch:");
  });

  it("shows where each name an operator reads comes from (the per-query scope rule)", async () => {
    const io = recordingIo();
    const fixture = repository("packages/ir/fixtures/scope-ancestor-reads.yaml");
    expect(await runCli(["explain", fixture], io)).toBe(0);
    const out = io.out();
    expect(out).toContain("where each name an operator reads comes from");
    expect(out).toContain("    search_keyword ← keyword_picker.search_keyword (nearest ancestor)");
    expect(out).toContain("    user_query ← input user_input.user_query");
    expect(out).toContain(
      "    user_query ← mapping {{ user_query }} on the edge from tail; user_query from user_input.user_query",
    );
    expect(out).toContain("  keyword_picker → final_answer  search_keyword  (scope rule)");
    const json = recordingIo();
    expect(await runCli(["explain", fixture, "--format", "json"], json)).toBe(0);
    const explanation = JSON.parse(json.out()) as WorkflowExplanation;
    const hub = explanation.operators.find((operator) => operator.id === "hub");
    expect(hub?.reads[0]).toEqual({
      name: "user_query",
      kind: "input",
      from: "user_input",
      field: "user_query",
    });
  });

  it("adds instances, coalescing groups and prefix sharing with --queries", async () => {
    const io = recordingIo();
    expect(await runCli(["explain", example, "--queries", queries], io)).toBe(0);
    const out = io.out();
    expect(out).toContain(`batch: 38 queries from ${queries}`);
    expect(out).toMatch(/pricing_analyst__sql__pricing_summary\s+sql\s+38\s+38\s+\d+\s+\d+\s+0/);
    expect(out).toContain("coalescing groups (identical requests that run once)");
    expect(out).toContain("extract_params: 4 groups of 9 queries; largest 3 (q001, q033, q035)");
    expect(out).toContain("final_answer (openai/gpt-oss-20b): static prefix 107 chars");
  });

  it("prints a Mermaid flowchart", async () => {
    const io = recordingIo();
    expect(await runCli(["explain", example, "--queries", queries, "--format", "mermaid"], io)).toBe(0);
    const lines = io.out().trim().split("\n");
    expect(lines[0]).toBe("flowchart TD");
    expect(lines).toContain('  op0(["user_input<br/>input"])');
    expect(
      lines.some((line) =>
        /^ {2}op\d+\[\(".*__sql__.*<br\/>sql · 38 instances, \d+ calls known"\)\]$/.test(line),
      ),
    ).toBe(true);
    expect(lines.some((line) => /^ {2}op\d+\{\{"promo_report<br\/>http · sleep 450 ms/.test(line))).toBe(
      true,
    );
    expect(lines).toContain('  op0 -->|"user_query"| op1');
    expect(lines.filter((line) => line.includes("-->"))).toHaveLength(24);
  });

  it("prints JSON with the batch section", async () => {
    const io = recordingIo();
    expect(await runCli(["explain", example, "--queries", queries, "--format", "json"], io)).toBe(0);
    const explanation = JSON.parse(io.out()) as WorkflowExplanation;
    expect(explanation.workflow).toMatchObject({ name: "tpch-diamond", inputFields: ["user_query"] });
    expect(explanation.operators).toHaveLength(15);
    expect(explanation.levels).toHaveLength(6);
    expect(explanation.models.map((entry) => entry.model)).toEqual([
      "Qwen/Qwen3-14B",
      "Qwen/Qwen3-32B",
      "openai/gpt-oss-20b",
    ]);
    expect(explanation.batch?.queryCount).toBe(38);
    expect(explanation.batch?.totals.instances).toBe(38 * 14);
    const extract = explanation.batch?.operators.find((entry) => entry.operator === "extract_params");
    expect(extract?.groups[0]?.queryIds).toEqual(["q001", "q033", "q035"]);
  });

  it("explains a workflow without queries as JSON (no batch)", async () => {
    const io = recordingIo();
    expect(
      await runCli(["explain", repository("packages/ir/fixtures/graph-loop.yaml"), "--format", "json"], io),
    ).toBe(0);
    const explanation = JSON.parse(io.out()) as WorkflowExplanation;
    expect(explanation.batch).toBeUndefined();
    expect(explanation.operators.find((operator) => operator.id === "revise__iter2")?.loop).toEqual({
      id: "refine",
      iteration: 2,
    });
  });

  it("rejects query files that miss input fields, naming file, line and field", async () => {
    const bad = join(directory, "bad.jsonl");
    await writeFile(bad, '{"user_query": "region=ASIA"}\n{"question": "no field"}\n');
    const io = recordingIo();
    expect(await runCli(["explain", example, "--queries", bad], io)).toBe(2);
    expect(io.err()).toContain(
      `${bad}:2 records[1].user_query: record 2 does not provide the input field "user_query"`,
    );
  });

  it("rejects an invalid workflow and an unknown format with exit 2", async () => {
    const invalid = recordingIo();
    expect(await runCli(["explain", repository("packages/ir/fixtures/invalid-cycle.yaml")], invalid)).toBe(2);
    expect(invalid.err()).toContain("cycle: a → b → c → a");
    const format = recordingIo();
    expect(await runCli(["explain", example, "--format", "svg"], format)).toBe(2);
    expect(format.err()).toContain("Allowed choices are text, mermaid, json");
  });

  it("prints warnings to stderr for Mermaid and in the text", async () => {
    const mermaid = recordingIo();
    const chain = repository("packages/ir/fixtures/ops-chain.yaml");
    expect(await runCli(["explain", chain, "--format", "mermaid"], mermaid)).toBe(0);
    expect(mermaid.err()).toContain("[inconsistent-ops-links]");
    const text = recordingIo();
    expect(await runCli(["explain", chain], text)).toBe(0);
    expect(text.out()).toContain("warnings\n  ops.summarize.output_ops[0]");
  });
});
