import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runCli } from "../main.js";
import { recordingIo } from "../test-io.js";

const repository = (path: string): string => fileURLToPath(new URL(`../../../../${path}`, import.meta.url));

describe("halo validate", () => {
  it("exits 0 with a one-line summary for a valid workflow", async () => {
    const io = recordingIo();
    expect(await runCli(["validate", repository("examples/tpch-diamond.yaml")], io)).toBe(0);
    expect(io.out()).toBe(
      "valid: tpch-diamond (graph dialect): 15 operators (1 input, 1 processor, 5 sql, 3 http, 5 llm), 24 edges, 6 levels; input fields: user_query\n",
    );
    expect(io.err()).toBe("");
  });

  it("accepts the ops dialect and prints warnings to stderr", async () => {
    const io = recordingIo();
    expect(await runCli(["validate", repository("packages/ir/fixtures/ops-chain.yaml")], io)).toBe(0);
    expect(io.out()).toContain("valid: ops-chain (ops dialect): 3 operators (1 input, 2 llm)");
    expect(io.err()).toContain("ops.summarize.output_ops[0]");
    expect(io.err()).toContain("[inconsistent-ops-links]");
  });

  it("exits 2 and prints the cycle", async () => {
    const io = recordingIo();
    const path = repository("packages/ir/fixtures/invalid-cycle.yaml");
    expect(await runCli(["validate", path], io)).toBe(2);
    expect(io.err()).toContain("has 1 problem:");
    expect(io.err()).toContain(
      `${path}:13:7 graph.edges[3]: cycle: a → b → c → a (closed by the edge c → a) [cycle]`,
    );
    expect(io.out()).toBe("");
  });

  it("lists every problem with its path", async () => {
    const io = recordingIo();
    expect(
      await runCli(["validate", repository("packages/ir/fixtures/invalid-many-problems.yaml")], io),
    ).toBe(2);
    for (const path of [
      "graph.nodes[1].model",
      "graph.nodes[2].type",
      "graph.nodes[3].processor",
      "graph.nodes[4].prompt",
      "graph.edges[3].to",
    ]) {
      expect(io.err()).toContain(path);
    }
    expect(io.err()).toContain("has 5 problems:");
  });

  it("exits 2 for a missing file", async () => {
    const io = recordingIo();
    expect(await runCli(["validate", "no/such/workflow.yaml"], io)).toBe(2);
    expect(io.err()).toContain("no such file: no/such/workflow.yaml [file-not-found]");
  });
});
