import { describe, expect, it } from "vitest";
import { canonicalJson, canonicalOnce } from "./canonical-json.js";

describe("canonicalJson", () => {
  it("sorts keys at every level by code unit, drops undefined fields, keeps array positions", () => {
    const value = {
      zeta: [3, { b: 2, a: undefined, A: 1 }, undefined, null],
      alpha: { é: 1, e: 2, Z: 3, "10": 4, "9": 5 },
      text: 'quote " and \\u2028',
      skip: undefined,
      big: 12n,
      bad: Number.NaN,
      yes: true,
    };
    expect(canonicalJson(value)).toBe(
      '{"alpha":{"10":4,"9":5,"Z":3,"e":2,"é":1},"bad":null,"big":"12","text":"quote \\" and \\\\u2028","yes":true,"zeta":[3,{"A":1,"b":2},null,null]}',
    );
  });

  it("writes text made once as it is, and the same text for the same object", () => {
    const schema = { type: "object", properties: { b: { type: "string" }, a: { type: "number" } } };
    const once = canonicalOnce(schema);
    expect(canonicalOnce(schema)).toBe(once);
    expect(canonicalJson({ schema: once })).toBe(canonicalJson({ schema }));
  });
});
