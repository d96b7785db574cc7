import type { GenerateRequest } from "@halo/protocol";
import { describe, expect, it } from "vitest";
import { validateGenerateRequest } from "./generate-request-validation.js";

const models = [
  { name: "m", parameterCount: 1, contextLength: 100, kvBytesPerToken: 1, memoryBytes: 1, loaded: false },
];
const request = (overrides: Partial<GenerateRequest> = {}): GenerateRequest => ({
  model: "m",
  items: [{ id: "a", prompt: "hi", maxTokens: 5, temperature: 0, seed: 0 }],
  streamTokens: false,
  ...overrides,
});
const withItem = (item: Partial<GenerateRequest["items"][number]>) =>
  request({ items: [{ id: "a", prompt: "hi", maxTokens: 5, temperature: 0, seed: 0, ...item }] });

describe("validateGenerateRequest", () => {
  it("accepts a well-formed request and fills top_p", () => {
    expect(validateGenerateRequest(request(), models)).toEqual({
      model: "m",
      items: [{ id: "a", prompt: "hi", maxTokens: 5, temperature: 0, topP: 1, seed: 0 }],
      streamTokens: false,
    });
  });

  it.each([
    [request({ model: "" }), "invalid", "model is required"],
    [request({ model: "x" }), "unknown-model", 'unknown model "x"'],
    [request({ items: [] }), "invalid", "at least one item"],
    [request({ sharedPrefix: { key: "", text: "t" } }), "invalid", "shared_prefix"],
    [withItem({ id: "" }), "invalid", "id is required"],
    [withItem({ maxTokens: 0 }), "invalid", 'item 0 ("a"): max_tokens must be at least 1'],
    [withItem({ maxTokens: 101 }), "invalid", 'exceeds the context length 100 of model "m"'],
    [withItem({ temperature: -1 }), "invalid", "temperature"],
    [withItem({ topP: 0 }), "invalid", "top_p"],
    [
      request({
        items: [
          { id: "a", prompt: "", maxTokens: 1, temperature: 0, seed: 0 },
          { id: "a", prompt: "", maxTokens: 1, temperature: 0, seed: 0 },
        ],
      }),
      "invalid",
      'item 1 ("a"): duplicate item id',
    ],
  ])("reports a malformed request (%#)", (input, kind, message) => {
    const result = validateGenerateRequest(input, models);
    expect(result).toMatchObject({ kind });
    expect("message" in result && result.message).toContain(message);
  });
});
