import { existsSync } from "node:fs";
import {
  type CompiledWorkflow,
  countTokens,
  instantiateBatch,
  loadWorkflowFile,
  type Operator,
  type ProcessorOperator,
} from "@halo/ir";
import { runProcessor } from "@halo/ir/internal";
import { beforeAll, describe, expect, it } from "vitest";
import { DATA_API_ENDPOINTS } from "../data-api/data-api-endpoints.js";
import { generateTpchQueries } from "../datasets/tpch-query-generator.js";
import { loadWorkload } from "./load-workload.js";
import { WorkloadInputError } from "./workload-input-error.js";
import {
  findWorkload,
  isWorkloadId,
  WORKLOAD_DATA_API_URL,
  WORKLOAD_MODELS,
  WORKLOADS,
  type WorkloadId,
} from "./workload-registry.js";

const compiled = new Map<WorkloadId, CompiledWorkflow>();

beforeAll(async () => {
  for (const workload of WORKLOADS) compiled.set(workload.id, await loadWorkload(workload));
});

function workflowOf(id: WorkloadId): CompiledWorkflow {
  return compiled.get(id) as CompiledWorkflow;
}

const llmOperators = (workflow: CompiledWorkflow) => workflow.operators.filter((op) => op.kind === "llm");
const toolOperators = (workflow: CompiledWorkflow) =>
  workflow.operators.filter((op) => op.kind !== "llm" && op.kind !== "input");
const byId = (workflow: CompiledWorkflow, id: string) =>
  workflow.operators.find((op) => op.id === id) as Operator;

/** LLM operators reachable from `id` through tool operators only (the LLM-level DAG). */
function llmChildren(workflow: CompiledWorkflow, id: string): string[] {
  const found = new Set<string>();
  const pending = [...byId(workflow, id).children];
  while (pending.length > 0) {
    const next = byId(workflow, pending.pop() as string);
    if (next.kind === "llm") found.add(next.id);
    else pending.push(...next.children);
  }
  return [...found].sort();
}

function llmParents(workflow: CompiledWorkflow, id: string): string[] {
  return llmOperators(workflow)
    .filter((op) => llmChildren(workflow, op.id).includes(id))
    .map((op) => op.id)
    .sort();
}

/** Weakly connected components of the operators not in `removed`. */
function components(workflow: CompiledWorkflow, removed: ReadonlySet<string>): string[][] {
  const kept = workflow.operators.filter((op) => !removed.has(op.id));
  const seen = new Set<string>();
  const result: string[][] = [];
  for (const start of kept) {
    if (seen.has(start.id)) continue;
    const component: string[] = [];
    const pending = [start.id];
    seen.add(start.id);
    while (pending.length > 0) {
      const op = byId(workflow, pending.pop() as string);
      component.push(op.id);
      for (const next of [...op.parents, ...op.children]) {
        if (!removed.has(next) && !seen.has(next)) {
          seen.add(next);
          pending.push(next);
        }
      }
    }
    result.push(component.sort());
  }
  return result;
}

/** Length (in LLM operators) of the longest LLM-level path. */
function longestLlmPath(workflow: CompiledWorkflow): number {
  const depth = new Map<string, number>();
  for (const op of workflow.operators) {
    if (op.kind !== "llm") continue;
    const parents = llmParents(workflow, op.id);
    depth.set(op.id, 1 + Math.max(0, ...parents.map((parent) => depth.get(parent) ?? 0)));
  }
  return Math.max(...depth.values());
}

describe("workload registry", () => {
  it("lists w1…w6 with their files, datasets and generators", () => {
    expect(WORKLOADS.map((workload) => workload.id)).toEqual(["w1", "w2", "w3", "w4", "w5", "w6"]);
    for (const workload of WORKLOADS) {
      expect(existsSync(workload.file), workload.file).toBe(true);
      expect(workload.file.endsWith(workload.fileName)).toBe(true);
    }
    expect(WORKLOADS.map((workload) => workload.dataset)).toEqual([
      "imdb",
      "imdb",
      "finewiki",
      "finewiki",
      "tpch",
      "tpch",
    ]);
  });

  it("finds workloads by id or name and names the choices otherwise", () => {
    expect(findWorkload("W5").name).toBe("TPCH-Trident");
    expect(findWorkload("fineWiki-bridge").id).toBe("w4");
    expect(isWorkloadId("w6")).toBe(true);
    expect(isWorkloadId("w7")).toBe(false);
    expect(() => findWorkload("w7")).toThrow(WorkloadInputError);
    expect(() => findWorkload("w7")).toThrow(/unknown workload "w7"; expected one of w1 \(IMDb-Diamond\)/);
  });

  it("generates TPC-H inputs without a database", async () => {
    const queries = await findWorkload("w6").generateQueries(5, 1);
    expect(queries).toEqual(generateTpchQueries(5, 1));
  });
});

describe.each(WORKLOADS)("workload $id ($name)", (workload) => {
  it("validates with @halo/ir without problems or warnings", async () => {
    const result = await loadWorkflowFile(workload.file);
    expect(result.ok ? [] : result.problems).toEqual([]);
    expect(result.warnings).toEqual([]);
  });

  it("has the paper's operator counts after atomization", () => {
    const workflow = workflowOf(workload.id);
    expect(llmOperators(workflow)).toHaveLength(workload.llmOperators);
    expect(toolOperators(workflow)).toHaveLength(workload.toolOperators);
  });

  it("spreads its LLM operators over exactly the three models", () => {
    const models = new Set(llmOperators(workflowOf(workload.id)).map((op) => op.kind === "llm" && op.model));
    expect([...models].sort()).toEqual([...WORKLOAD_MODELS].sort());
  });

  it("keeps generation short, deterministic and JSON-shaped", () => {
    for (const op of llmOperators(workflowOf(workload.id))) {
      if (op.kind !== "llm") continue;
      expect(op.maxTokens, op.id).toBeGreaterThanOrEqual(16);
      expect(op.maxTokens, op.id).toBeLessThanOrEqual(48);
      expect(op.temperature, op.id).toBe(0);
      expect(op.outputFormat.type, op.id).toBe("json");
    }
  });

  it("has system prompts long enough for prefix sharing to matter", () => {
    const prefixTokens = llmOperators(workflowOf(workload.id)).map((op) =>
      op.kind === "llm" ? countTokens(op.prompt.staticPrefix) : 0,
    );
    expect(prefixTokens.filter((tokens) => tokens >= 200).length).toBeGreaterThanOrEqual(1);
    expect(Math.max(...prefixTokens)).toBeLessThan(600);
  });

  it("sends HTTP to data API endpoints of its dataset with the workload's latency mean", () => {
    const endpoints = DATA_API_ENDPOINTS.filter((endpoint) => endpoint.dataset === workload.dataset);
    for (const op of workflowOf(workload.id).operators) {
      if (op.kind !== "http") continue;
      const url = new URL(op.url);
      expect(url.origin, op.id).toBe(WORKLOAD_DATA_API_URL);
      const endpoint = endpoints.find((candidate) => candidate.path === url.pathname);
      expect(endpoint, `${op.id} → ${url.pathname}`).toBeDefined();
      // Every parameter the operator sends is one the endpoint accepts.
      const accepted = endpoint?.parameters.map((parameter) => parameter.name) ?? [];
      for (const name of Object.keys(op.params)) expect(accepted, `${op.id}.${name}`).toContain(name);
      expect(op.latency).toEqual({ mode: "padded", meanMs: workload.httpLatencyMeanMs, timeoutMs: 30_000 });
      expect(op.coalesce, op.id).toBe(true);
    }
  });

  it("declares a type for every SQL parameter and writes %% for literal percent signs", () => {
    for (const op of workflowOf(workload.id).operators) {
      if (op.kind !== "sql") continue;
      expect(Object.keys(op.parameterTypes).sort(), op.id).toEqual(Object.keys(op.parameters).sort());
      for (const name of Object.keys(op.parameters)) expect(op.sql, op.id).toContain(`:${name}`);
      expect(op.sql.replaceAll("%%", ""), op.id).not.toContain("%");
    }
  });
});

describe("workload shapes", () => {
  it("w1 is a diamond: one planner fans out to five analysts that fan in to a synthesizer", () => {
    const workflow = workflowOf("w1");
    const fanOut = llmChildren(workflow, "plan_question").filter((id) => id !== "synthesizer");
    expect(fanOut).toHaveLength(5);
    for (const analyst of fanOut) expect(llmChildren(workflow, analyst)).toEqual(["synthesizer"]);
    expect(llmParents(workflow, "synthesizer")).toEqual([...fanOut, "plan_question"].sort());
    expect(llmChildren(workflow, "synthesizer")).toEqual(["final_answer"]);
    expect(workflow.endOperators).toEqual(["final_answer"]);
  });

  it("w2 is three independent three-step chains merged by one operator", () => {
    const workflow = workflowOf("w2");
    expect(workflow.endOperators).toEqual(["answer_composer"]);
    const chains = components(workflow, new Set([workflow.inputOperator, "answer_composer"]));
    expect(chains).toHaveLength(3);
    for (const chain of chains) {
      const llms = chain.filter((id) => byId(workflow, id).kind === "llm");
      expect(llms).toHaveLength(3);
      expect(llms.filter((id) => llmChildren(workflow, id).includes("answer_composer"))).toHaveLength(1);
    }
    expect(longestLlmPath(workflow)).toBe(4);
  });

  it("w3 is one chain: every LLM operator sits at its own depth", () => {
    expect(longestLlmPath(workflowOf("w3"))).toBe(9);
  });

  it("w4 is two sub-graphs of four LLM operators joined only by the bridge", () => {
    const workflow = workflowOf("w4");
    const halves = components(workflow, new Set([workflow.inputOperator, "research_brief"]));
    expect(halves).toHaveLength(2);
    for (const half of halves) {
      expect(half.filter((id) => byId(workflow, id).kind === "llm")).toHaveLength(4);
    }
    const [before, after] = halves.sort((a) => (a.includes("read_article") ? -1 : 1)) as [string[], string[]];
    expect(llmParents(workflow, "research_brief").every((id) => before.includes(id))).toBe(true);
    expect(llmChildren(workflow, "research_brief").every((id) => after.includes(id))).toBe(true);
  });

  it("w5 is a trident: extractor → three SQL agents → two hubs with report calls → tail → answer", () => {
    const workflow = workflowOf("w5");
    const processor = workflow.operators.filter((op) => op.kind === "processor");
    expect(processor.map((op) => op.kind === "processor" && op.processor)).toEqual(["regex_param_extractor"]);
    const entries = llmChildren(workflow, "extract_params").filter(
      (id) => llmParents(workflow, id).length === 0,
    );
    expect(entries).toEqual(["pricing_agent", "shipping_agent", "supplier_agent"]);
    for (const entry of entries) {
      expect(byId(workflow, entry).parents.filter((id) => byId(workflow, id).kind === "sql")).toHaveLength(2);
    }
    for (const hub of ["logistics_hub", "market_hub"]) {
      expect(byId(workflow, hub).parents.some((id) => byId(workflow, id).kind === "http")).toBe(true);
      expect(llmParents(workflow, hub).every((id) => entries.includes(id))).toBe(true);
    }
    expect(llmChildren(workflow, "logistics_hub")).toEqual(["final_answer", "risk_review"]);
    expect(llmParents(workflow, "risk_review")).toEqual(["logistics_hub", "market_hub"]);
    expect(workflow.endOperators).toEqual(["final_answer"]);
  });

  it("w6 fans out to seven SQL analysts that one aggregator consolidates", () => {
    const workflow = workflowOf("w6");
    const analysts = llmChildren(workflow, "extract_params").filter((id) => id.endsWith("_analyst"));
    expect(analysts).toHaveLength(7);
    expect(llmParents(workflow, "aggregate_findings")).toEqual(analysts);
    const sqlPerAnalyst = analysts.map(
      (id) => byId(workflow, id).parents.filter((parent) => byId(workflow, parent).kind === "sql").length,
    );
    expect(sqlPerAnalyst.reduce((sum, count) => sum + count, 0)).toBe(12);
    expect(workflow.endOperators).toEqual(["final_report"]);
  });
});

describe("TPC-H parameter extraction (w5, w6)", () => {
  const TPCH_FIELDS = [
    "region",
    "segment",
    "year",
    "shipmode",
    "shipmode2",
    "date",
    "brand",
    "size",
    "type",
    "discount",
    "qty",
  ];
  const NUMERIC = new Set(["year", "size", "discount", "qty"]);

  /** The generator's `key=value` string read back with plain string handling. */
  function expectedParams(text: string, defaults: Record<string, unknown>): Record<string, unknown> {
    const expected: Record<string, unknown> = { ...defaults };
    const pattern = /(\w+)=(.+?)(?=\s+\w+=|$)/g;
    for (const [, key, value] of text.matchAll(pattern)) {
      if (key !== undefined && value !== undefined)
        expected[key] = NUMERIC.has(key) ? Number(value) : value.trim();
    }
    return expected;
  }

  it.each(["w5", "w6"] as const)("%s extracts every field of 300 generated queries", (id) => {
    const extractor = byId(workflowOf(id), "extract_params") as ProcessorOperator;
    const defaults = extractor.config["defaults"] as Record<string, unknown>;
    expect(Object.keys(defaults).sort()).toEqual([...TPCH_FIELDS].sort());
    for (const query of generateTpchQueries(300, 7)) {
      const { params } = runProcessor(extractor, { user_query: query.context.user_query });
      expect(params, query.context.user_query).toEqual(expectedParams(query.context.user_query, defaults));
    }
  });

  it("normalizes case and falls back to defaults for values outside the domains", () => {
    const extractor = byId(workflowOf("w5"), "extract_params") as ProcessorOperator;
    const { params } = runProcessor(extractor, {
      user_query:
        "Region=middle east SEGMENT=machinery year=2031 shipmode=reg air brand=brand#13 type=tin qty=9999",
    });
    expect(params).toMatchObject({
      region: "MIDDLE EAST",
      segment: "MACHINERY",
      year: 1994,
      shipmode: "REG AIR",
      brand: "Brand#13",
      type: "TIN",
      qty: 24,
    });
  });

  it.each(["w5", "w6"] as const)("%s knows every tool request before any LLM runs", (id) => {
    const workflow = workflowOf(id);
    const queries = generateTpchQueries(40, 3);
    const batch = instantiateBatch(workflow, queries);
    for (const op of toolOperators(workflow)) {
      const instances = batch.byOperator.get(op.id) ?? [];
      expect(
        instances.every((instance) => instance.requestKey !== undefined),
        op.id,
      ).toBe(true);
    }
    // Repeated parameter values coalesce: the pricing summary depends on the year alone.
    const summary = batch.byOperator.get(
      id === "w5" ? "pricing_agent__sql__pricing_summary" : "pricing_analyst__sql__pricing_summary",
    );
    expect(new Set(summary?.map((instance) => instance.requestKey)).size).toBeLessThanOrEqual(5);
  });
});

describe("loadWorkload", () => {
  it("names the workload and every problem of a file that does not load", async () => {
    const broken = { ...findWorkload("w1"), file: "/nonexistent/w1.yaml" };
    await expect(loadWorkload(broken)).rejects.toThrow(
      /workload w1 \(IMDb-Diamond\) does not load:\n.*no such file/,
    );
  });
});
