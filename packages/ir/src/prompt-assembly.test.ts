import { describe, expect, it } from "vitest";
import {
  buildPromptParts,
  extractFirstJsonObject,
  outputFormatFor,
  PROMPT_FORMAT,
  parseLlmOutput,
  renderPrompt,
  requestedJsonFields,
} from "./prompt-assembly.js";
import { parseTemplate } from "./template.js";

describe("buildPromptParts", () => {
  it("without a template: static system section, then one line per input", () => {
    const parts = buildPromptParts("Be brief.", undefined, ["question", "rows"]);
    expect(parts.staticPrefix).toBe("### System\nBe brief.\n\n### User\n");
    const rendered = renderPrompt({ prompt: parts }, { question: "Why?", rows: [{ n: 1 }] });
    expect(rendered.text).toBe(
      '### System\nBe brief.\n\n### User\nquestion: Why?\nrows: [{"n":1}]\n\n### Assistant\n',
    );
    expect(rendered.prefix + rendered.suffix).toBe(rendered.text);
  });

  it("with a template: the constant lead is static, unreferenced inputs are appended", () => {
    const parts = buildPromptParts("S", parseTemplate("Answer {{ q }} using {{ rows.0 }}."), [
      "q",
      "rows",
      "news",
    ]);
    expect(parts.staticPrefix).toBe("### System\nS\n\n### User\nAnswer ");
    expect(renderPrompt({ prompt: parts }, { q: "X", rows: ["r1"], news: { h: 1 } }).suffix).toBe(
      'X using r1.\n\nnews: {"h":1}\n\n### Assistant\n',
    );
  });

  it("a template without variables is entirely static", () => {
    const parts = buildPromptParts("", parseTemplate("Summarize:"), ["text"]);
    expect(parts.staticPrefix).toBe("### System\n\n\n### User\nSummarize:");
    expect(parts.suffix.text).toBe("\n\ntext: {{ text }}\n\n### Assistant\n");
    expect(buildPromptParts("", undefined, []).suffix.text).toBe(PROMPT_FORMAT.assistantHeader);
  });
});

describe("output format", () => {
  it("asks for JSON when the system prompt says Respond ONLY with, or with several outputs", () => {
    expect(requestedJsonFields('Respond ONLY with: { "a": "string", \'b\': "string" }')).toEqual(["a", "b"]);
    expect(requestedJsonFields("respond only with {notes: string}")).toEqual(["notes"]);
    expect(requestedJsonFields("Just answer.")).toBeUndefined();
    expect(outputFormatFor("Just answer.", ["answer"])).toEqual({ type: "text" });
    expect(outputFormatFor("Just answer.", ["a", "b"])).toMatchObject({ type: "json", fields: ["a", "b"] });
    expect(outputFormatFor('Respond ONLY with: { "a": "string" }', ["a"])).toMatchObject({
      type: "json",
      schema: { required: ["a"], additionalProperties: false },
    });
  });
});

describe("parseLlmOutput", () => {
  const json = { outputs: ["a", "b"], outputFormat: outputFormatFor("", ["a", "b"]) };

  it("extracts the first JSON object, stringifying non-strings, empty strings for missing fields", () => {
    expect(parseLlmOutput(json, 'Sure! {"a": "x", "b": {"n": 2}} and {"a": "later"}')).toEqual({
      a: "x",
      b: '{"n":2}',
    });
    expect(parseLlmOutput(json, '{"a": null}')).toEqual({ a: "", b: "" });
    expect(parseLlmOutput(json, 'junk {not json} {"a": "brace } in \\" string"}')).toEqual({
      a: 'brace } in " string',
      b: "",
    });
  });

  it("never throws on garbage", () => {
    expect(parseLlmOutput(json, "no json at all {")).toEqual({ a: "", b: "" });
    const single = { outputs: ["a"], outputFormat: outputFormatFor("Respond ONLY with: {a}", ["a"]) };
    expect(parseLlmOutput(single, "  plain text  ")).toEqual({ a: "plain text" });
    expect(parseLlmOutput({ outputs: ["t"], outputFormat: { type: "text" } }, " hi \n")).toEqual({ t: "hi" });
    expect(extractFirstJsonObject("[1, 2] {")).toBeUndefined();
  });
});
