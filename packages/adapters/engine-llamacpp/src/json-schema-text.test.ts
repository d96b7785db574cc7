import { describe, expect, it } from "vitest";
import { InvalidJsonSchemaError, parseJsonSchemaText } from "./json-schema-text.js";

describe("parseJsonSchemaText", () => {
  it("accepts well-formed schemas", () => {
    const schema = {
      type: "object",
      properties: {
        answer: { type: "string", maxLength: 12 },
        tags: { type: "array", items: { enum: ["a", "b"] } },
        score: { anyOf: [{ type: "number" }, { type: "null" }] },
        kind: { type: ["string", "null"] },
      },
      required: ["answer"],
      additionalProperties: false,
    };
    expect(parseJsonSchemaText(JSON.stringify(schema))).toEqual(schema);
  });

  it("names what is wrong", () => {
    const cases: [string, RegExp][] = [
      ["{not json", /not valid JSON/],
      ["[1, 2]", /must be a JSON object/],
      ['"text"', /must be a JSON object/],
      ['{"type": "nonsense"}', /schema\.type: "nonsense" is not a JSON schema type/],
      ['{"properties": []}', /schema\.properties: must be an object/],
      ['{"properties": {"a": {"type": 3}}}', /schema\.properties\.a\.type/],
      ['{"required": [1]}', /schema\.required/],
      ['{"items": 5}', /schema\.items: a schema must be an object/],
      ['{"enum": "a"}', /schema\.enum: must be a list/],
      ['{"anyOf": {}}', /schema\.anyOf: must be a list/],
      ['{"oneOf": [{"type": "x"}]}', /schema\.oneOf\[0\]\.type/],
    ];
    for (const [text, message] of cases) {
      expect(() => parseJsonSchemaText(text)).toThrow(InvalidJsonSchemaError);
      expect(() => parseJsonSchemaText(text)).toThrow(message);
    }
  });
});
