import { describe, expect, it } from "vitest";
import { consolidateBatch, instantiateBatch } from "./batch-consolidation.js";
import { processorRegistry } from "./processors/processor-registry.js";
import { countTokens } from "./token-count.js";
import type { QueryContext } from "./types.js";
import { workflow } from "./workflow-builder.js";

const analysis = workflow("batch")
  .input("q", { outputs: ["user_query"] })
  .processor("extract", {
    processor: "regex_param_extractor",
    coalesce: true,
    inputs: ["user_query"],
    outputs: ["params"],
    config: { regex: { region: ["region=(\\w+)"] }, defaults: { region: "ASIA" } },
  })
  .inference("classify", {
    model: "Qwen/Qwen3-14B",
    systemPrompt: "Classify the region.",
    prompt: "Region of interest: {{ params.region }}",
    inputs: ["params"],
    outputs: ["label"],
  })
  .inference("creative", {
    model: "Qwen/Qwen3-32B",
    temperature: 0.8,
    systemPrompt: "Write a poem.",
    inputs: ["user_query"],
    outputs: ["poem"],
  })
  .http("lookup", {
    url: "http://api.example.invalid/x",
    sleepMs: 1,
    params: { r: "{{ params.region }}" },
    inputs: ["params"],
    outputs: ["info"],
  })
  .db("rows", {
    sql: "SELECT :r",
    parameters: { r: "{{ params.region }}" },
    inputs: ["params"],
    outputs: ["rows"],
  })
  .inference("summary", { model: "openai/gpt-oss-20b", inputs: ["label", "rows"], outputs: ["text"] })
  .edge("q", "extract")
  .edge("extract", "classify")
  .edge("q", "creative")
  .edge("extract", "lookup")
  .edge("extract", "rows")
  .edge("classify", "summary")
  .edge("rows", "summary")
  .compile();

const queries: QueryContext[] = [
  { id: "a", context: { user_query: "region=EUROPE" } },
  { id: "b", context: { user_query: "region=EUROPE" } },
  { id: "c", context: { user_query: "region=AFRICA" } },
  { id: "d", context: { user_query: "nothing" } },
  { id: "e", context: { user_query: "region=EUROPE" } },
];

describe("instantiateBatch", () => {
  it("knows requests below the input and pure processors only", () => {
    const batch = instantiateBatch(analysis, queries);
    expect([...batch.byOperator.keys()]).toEqual(
      analysis.operators.filter((o) => o.kind !== "input").map((o) => o.id),
    );
    const classify = batch.byOperator.get("classify") ?? [];
    expect(classify).toHaveLength(5);
    expect(classify[0]?.request).toMatchObject({ kind: "llm", suffix: "EUROPE\n\n### Assistant\n" });
    expect(classify[0]?.requestKey).toBe(classify[1]?.requestKey);
    expect(classify[3]?.request).toMatchObject({ suffix: "ASIA\n\n### Assistant\n" });
    const summary = batch.byOperator.get("summary") ?? [];
    expect(summary.every((instance) => instance.request === undefined && instance.coalescable)).toBe(true);
    expect(batch.byOperator.get("creative")?.every((instance) => !instance.coalescable)).toBe(true);
  });

  it("leaves descendants unknown when a processor fails or is impure", () => {
    processorRegistry.register("flaky", {
      pure: true,
      run: (inputs) => {
        if (inputs["user_query"] === "boom") throw new Error("cannot parse");
        return { ok: true };
      },
    });
    processorRegistry.register("clock", { pure: false, run: () => ({ now: 1 }) });
    const flow = workflow("processors")
      .input("q", { outputs: ["user_query"] })
      .processor("p", { processor: "flaky", inputs: ["user_query"], outputs: ["ok"] })
      .processor("t", { processor: "clock", inputs: ["user_query"], outputs: ["now"] })
      .db("after_p", { sql: "SELECT :x", parameters: { x: "{{ ok }}" }, inputs: ["ok"], outputs: ["r1"] })
      .db("after_t", { sql: "SELECT :x", parameters: { x: "{{ now }}" }, inputs: ["now"], outputs: ["r2"] })
      .edge("q", "p")
      .edge("q", "t")
      .edge("p", "after_p")
      .edge("t", "after_t")
      .compile();
    const batch = instantiateBatch(flow, [
      { id: "1", context: { user_query: "fine" } },
      { id: "2", context: { user_query: "boom" } },
    ]);
    expect(batch.byOperator.get("after_p")?.map((instance) => instance.request !== undefined)).toEqual([
      true,
      false,
    ]);
    expect(batch.byOperator.get("after_t")?.map((instance) => instance.request !== undefined)).toEqual([
      false,
      false,
    ]);
  });
});

describe("consolidateBatch", () => {
  it("groups identical coalescable requests and measures prefixes", () => {
    const batch = consolidateBatch(analysis, queries);
    const entry = (id: string) => batch.operators.find((operator) => operator.operator === id);
    expect(entry("extract")).toMatchObject({
      instances: 5,
      knownRequests: 5,
      distinctRequests: 3,
      coalescedInstances: 2,
    });
    expect(entry("classify")).toMatchObject({
      model: "Qwen/Qwen3-14B",
      knownRequests: 5,
      distinctRequests: 3,
      coalescedInstances: 2,
      groups: [{ queryIds: ["a", "b", "e"] }],
    });
    const classifyPrefix = entry("classify")?.prefix;
    const staticPrefix = "### System\nClassify the region.\n\n### User\nRegion of interest: ";
    expect(classifyPrefix).toEqual({
      staticPrefixChars: staticPrefix.length,
      staticPrefixTokens: countTokens(staticPrefix),
      knownPrompts: 5,
      distinctPrompts: 3,
      commonPrefixChars: 0,
      commonPrefixTokens: 0,
      // AFRICA and ASIA share "A".
      longestSharedPrefixChars: 1,
      longestSharedPrefixTokens: countTokens("A"),
      suffixChars: 3 * "\n\n### Assistant\n".length + "EUROPE".length + "AFRICA".length + "ASIA".length,
      uniqueSuffixChars:
        3 * "\n\n### Assistant\n".length + "EUROPE".length + "AFRICA".length + "ASIA".length - 1,
      suffixTokens:
        countTokens("EUROPE\n\n### Assistant\n") +
        countTokens("AFRICA\n\n### Assistant\n") +
        countTokens("ASIA\n\n### Assistant\n"),
    });
    // Temperature > 0: same prompts, but nothing coalesces.
    expect(entry("creative")).toMatchObject({
      coalescable: false,
      distinctRequests: 3,
      coalescedInstances: 0,
      groups: [],
    });
    // HTTP without coalesce: true never coalesces either.
    expect(entry("lookup")).toMatchObject({ coalescable: false, distinctRequests: 3, coalescedInstances: 0 });
    expect(entry("rows")).toMatchObject({ coalescable: true, coalescedInstances: 2 });
    expect(entry("summary")).toMatchObject({
      knownRequests: 0,
      unknownRequests: 5,
      prefix: { knownPrompts: 0 },
    });
    expect(batch.totals).toEqual({
      instances: 30,
      knownRequests: 25,
      unknownRequests: 5,
      coalescedInstances: 6,
      calls: 24,
    });
  });

  it("accepts a custom token counter", () => {
    const batch = consolidateBatch(analysis, queries.slice(0, 2), { countTokens: (text) => text.length });
    const prefix = batch.operators.find((operator) => operator.operator === "classify")?.prefix;
    expect(prefix?.staticPrefixTokens).toBe(prefix?.staticPrefixChars);
    expect(prefix?.commonPrefixChars).toBe("EUROPE\n\n### Assistant\n".length);
  });
});
