import { describe, expect, it } from "vitest";
import type { ProcessorOperator } from "../types.js";
import { ProcessorRegistry, processorRegistry, runProcessor } from "./processor-registry.js";

function processorOperator(processor: string, outputs: string[]): ProcessorOperator {
  return {
    id: "p",
    kind: "processor",
    processor,
    config: { regex: { year: ["(\\d{4})"], region: ["region=(\\w+)"] } },
    inputs: ["text"],
    outputs,
    parents: [],
    children: [],
    coalesce: false,
    source: { file: "test", path: "graph.nodes[1]" },
  };
}

describe("processor registry", () => {
  it("has the built-in regex extractor", () => {
    expect(processorRegistry.names()).toContain("regex_param_extractor");
    expect(processorRegistry.has("regex_param_extractor")).toBe(true);
  });

  it("maps one non-field output to the whole result and field outputs to fields", () => {
    const inputs = { text: "region=asia 1994" };
    expect(runProcessor(processorOperator("regex_param_extractor", ["params"]), inputs)).toEqual({
      params: { year: "1994", region: "asia" },
    });
    expect(runProcessor(processorOperator("regex_param_extractor", ["year"]), inputs)).toEqual({
      year: "1994",
    });
    expect(
      runProcessor(processorOperator("regex_param_extractor", ["year", "region", "other"]), inputs),
    ).toEqual({
      year: "1994",
      region: "asia",
      other: null,
    });
  });

  it("registers plain functions and rejects unknown or unnamed processors", () => {
    const registry = new ProcessorRegistry().register("shout", (inputs) => ({
      loud: String(inputs["text"]).toUpperCase(),
    }));
    expect(registry.get("shout")?.pure).toBe(true);
    expect(runProcessor(processorOperator("shout", ["loud"]), { text: "hi" }, registry)).toEqual({
      loud: "HI",
    });
    expect(() => runProcessor(processorOperator("missing", ["x"]), {}, registry)).toThrow(
      'processor "missing" of "p" is not registered',
    );
    expect(() => registry.register(" ", () => ({}))).toThrow("non-empty name");
  });
});
