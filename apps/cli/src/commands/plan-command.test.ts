import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseExecutionPlan } from "@halo/optimizer";
import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../main.js";
import { recordingIo } from "../test-io.js";

const repository = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");
const example = join(repository, "examples", "tpch-diamond.yaml");
const queries = join(repository, "examples", "queries.jsonl");
const scratch = mkdtempSync(join(tmpdir(), "halo-plan-"));

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

async function run(...argv: string[]) {
  const io = recordingIo();
  const code = await runCli(argv, io);
  return { code, out: io.out(), err: io.err() };
}

function write(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
}

describe("halo plan", () => {
  it("plans synthetic queries on identical workers and prints the plan JSON and a summary", async () => {
    const result = await run("plan", example, "--queries", "20", "--workers", "2");
    expect(result.err).toContain("plan tpch-diamond: strategy dp, 20 queries");
    expect(result.code).toBe(0);
    const plan = parseExecutionPlan(JSON.parse(result.out), "stdout");
    expect(plan.strategy).toBe("dp");
    expect(plan.workers.map((worker) => worker.id)).toEqual(["worker-0", "worker-1"]);
    expect(plan.estimatedMakespanMs).toBeGreaterThanOrEqual(plan.lowerBoundMs);
  });

  it("reads queries and a workers file, honours --strategy, --disable and --out", async () => {
    write("profile.json", JSON.stringify(H100_SIMULATED_PROFILE));
    const workers = write(
      "workers.yaml",
      [
        "workers:",
        "  - id: gpu-a",
        "    profile: profile.json",
        "    address: 127.0.0.1:7001",
        "  - id: gpu-b",
      ].join("\n"),
    );
    const out = join(scratch, "plan.json");
    const result = await run(
      "plan",
      example,
      "--queries",
      queries,
      "--workers",
      workers,
      "--strategy",
      "greedy",
      "--disable",
      "coalescing,pipelining",
      "--out",
      out,
    );
    expect(result.err).toContain("strategy greedy");
    expect(result.code).toBe(0);
    expect(result.out).toBe("");
    const plan = parseExecutionPlan(JSON.parse(readFileSync(out, "utf8")), out);
    expect(plan.disabledOptimizations).toEqual(["coalescing", "pipelining"]);
    expect(plan.workers).toEqual([
      expect.objectContaining({ id: "gpu-a", address: "127.0.0.1:7001" }),
      expect.objectContaining({ id: "gpu-b" }),
    ]);
  });

  it("runs the MILP oracle with HiGHS", async () => {
    const result = await run(
      "plan",
      example,
      "--queries",
      "10",
      "--workers",
      "2",
      "--strategy",
      "milp",
      "--solver",
      "highs",
    );
    expect(result.code).toBe(0);
    expect(parseExecutionPlan(JSON.parse(result.out)).solver?.solver).toBe("highs");
  });

  it.each([
    [["--strategy", "magic"], /--strategy: unknown strategy "magic"/],
    [["--disable", "speed"], /--disable: unknown optimization "speed"/],
    [["--workers", "0"], /--workers: expected 1 to 4096 workers/],
    [["--queries", "0"], /--queries: expected between 1 and 1000000/],
    [["--profile", "builtin:tpu"], /--profile: unknown built-in profile "builtin:tpu"/],
    [["--workers", "no-such-workers.yaml"], /--workers: cannot read no-such-workers\.yaml/],
    [["--time-limit-ms", "soon"], /--time-limit-ms: expected a positive number/],
  ])("rejects bad flags with exit 2: %j", async (flags, message) => {
    const base = ["plan", example, "--queries", "5", "--workers", "1"];
    const result = await run(...base, ...flags);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(message);
  });

  it("plans from --statistics (a run summary's observations) and rejects a bad statistics file with exit 2", async () => {
    const base = ["plan", example, "--queries", "5", "--workers", "1"];
    const summary = write(
      "summary.json",
      JSON.stringify({
        workflow: "tpch-diamond",
        observed: {
          statisticsVersion: 1,
          workflow: "tpch-diamond",
          queries: 5,
          operators: { no_such_operator: { kind: "tool", calls: 5, busyMs: 50 } },
        },
      }),
    );
    const planned = await run(...base, "--statistics", summary);
    expect(planned.code).toBe(0);
    expect(planned.err).toContain("observed statistics name operators this workflow does not have");
    const cases: [string, RegExp][] = [
      [join(scratch, "missing.json"), /--statistics: cannot read .*missing\.json/],
      [write("not-json.json", "{"), /not-json\.json: not JSON/],
      [
        write(
          "bad-stats.json",
          JSON.stringify({ statisticsVersion: 1, workflow: "w", queries: 1, operators: { a: {} } }),
        ),
        /invalid observed statistics .* in .*bad-stats\.json[\s\S]*operators\.a/,
      ],
    ];
    for (const [path, message] of cases) {
      const result = await run(...base, "--statistics", path);
      expect(result.code, path).toBe(2);
      expect(result.err).toMatch(message);
    }
  });

  it("rejects a bad workers file naming the entry", async () => {
    const workers = write("bad-workers.yaml", "workers:\n  - id: a\n    gpu: 1\n");
    const result = await run("plan", example, "--queries", "5", "--workers", workers);
    expect(result.code).toBe(2);
    expect(result.err).toContain('workers[0]: unknown field "gpu"');
  });

  it("names the operator and model when no worker can hold the model", async () => {
    const small = { ...H100_SIMULATED_PROFILE, memoryBytes: 20 * 1024 ** 3 };
    const profile = write("small.json", JSON.stringify(small));
    const result = await run("plan", example, "--queries", "5", "--workers", "2", "--profile", profile);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/operator "[a-z_]+": model "Qwen\/Qwen3-32B" needs 61\.1 GiB/);
  });

  it("names the model without a profile or a parameter count, and derives one when the name has a count", async () => {
    const workflow = (model: string) =>
      write(
        `ops-${model.replace(/\W/g, "")}.yaml`,
        [
          "start_ops: [ask]",
          "end_ops: [ask]",
          "ops:",
          "  ask:",
          `    model: ${model}`,
          "    prompt: Answer.",
          "    max_tokens: 16",
          "    input_ops: []",
          "    output_ops: []",
        ].join("\n"),
      );
    const unknown = await run("plan", workflow("acme/mystery"), "--queries", "3", "--workers", "1");
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('operator "ask": model "acme/mystery" has no profile');
    const derived = await run("plan", workflow("acme/chat-7B"), "--queries", "3", "--workers", "1");
    expect(derived.code).toBe(0);
    expect(derived.err).toContain('warning: model "acme/chat-7B" (operator "ask") has no profile');
  });
});

describe("halo explain --plan", () => {
  it("prints a plan as text and Mermaid and writes a Gantt SVG", async () => {
    const planPath = join(scratch, "explained.json");
    expect((await run("plan", example, "--queries", "12", "--workers", "2", "--out", planPath)).code).toBe(0);
    const text = await run("explain", "--plan", planPath);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^plan tpch-diamond: strategy dp/);
    expect(text.out).toContain("epoch 0");
    const svgPath = join(scratch, "gantt.svg");
    const mermaid = await run("explain", "--plan", planPath, "--format", "mermaid", "--svg", svgPath);
    expect(mermaid.code).toBe(0);
    expect(mermaid.out.startsWith("flowchart LR")).toBe(true);
    expect(readFileSync(svgPath, "utf8")).toMatch(/^<svg xmlns/);
  });

  it("rejects a malformed plan, a missing file and --svg without --plan with exit 2", async () => {
    const bad = write("bad-plan.json", JSON.stringify({ planVersion: 9 }));
    const malformed = await run("explain", "--plan", bad);
    expect(malformed.code).toBe(2);
    expect(malformed.err).toContain("invalid execution plan in");
    expect((await run("explain", "--plan", join(scratch, "none.json"))).code).toBe(2);
    const svgOnly = await run("explain", example, "--svg", join(scratch, "x.svg"));
    expect(svgOnly.code).toBe(2);
    expect(svgOnly.err).toContain("--svg needs --plan");
    expect((await run("explain")).code).toBe(2);
  });
});
