import { describe, expect, it } from "vitest";
import {
  literalTemplate,
  lookupReference,
  parseTemplate,
  renderTemplate,
  renderTemplateText,
  TemplateSyntaxError,
  templateFromParts,
  templateRoots,
} from "./template.js";

describe("parseTemplate", () => {
  it("splits text and references with paths and array indexes", () => {
    const template = parseTemplate("Rows: {{ rows.0.total }} for {{region}}.");
    expect(template.parts).toEqual([
      { kind: "text", text: "Rows: " },
      { kind: "ref", root: "rows", path: ["0", "total"] },
      { kind: "text", text: " for " },
      { kind: "ref", root: "region", path: [] },
      { kind: "text", text: "." },
    ]);
    expect(templateRoots(template)).toEqual(["rows", "region"]);
  });

  it("keeps single braces (JSON in prompts) as text", () => {
    expect(parseTemplate('Respond with { "a": "string" }').parts).toEqual([
      { kind: "text", text: 'Respond with { "a": "string" }' },
    ]);
  });

  it.each([
    ["{{ x | upper }}", "is not a reference"],
    ["{{ }}", "is not a reference"],
    ["{{ 0abc }}", "is not a reference"],
    ["{{ a..b }}", "is not a reference"],
    ["text {{ open", 'unclosed "{{" at offset 5'],
  ])("rejects %j", (text, message) => {
    expect(() => parseTemplate(text)).toThrow(TemplateSyntaxError);
    expect(() => parseTemplate(text)).toThrow(message);
  });

  it("round-trips through templateFromParts", () => {
    const template = parseTemplate("a {{ b.c }} d");
    expect(templateFromParts(template.parts)).toEqual({ text: "a {{ b.c }} d", parts: template.parts });
    expect(literalTemplate("")).toEqual({ text: "", parts: [] });
  });
});

describe("renderTemplate", () => {
  const scope = {
    params: { region: "ASIA", year: 1994, tags: ["x", "y"] },
    rows: [{ total: 3 }, { total: 5 }],
    empty: null,
  };

  it("keeps the type of a single reference", () => {
    expect(renderTemplate(parseTemplate("{{ params }}"), scope)).toEqual(scope.params);
    expect(renderTemplate(parseTemplate("{{ params.year }}"), scope)).toBe(1994);
    expect(renderTemplate(parseTemplate("{{ rows.1.total }}"), scope)).toBe(5);
    expect(renderTemplate(parseTemplate("{{ params.missing }}"), scope)).toBeNull();
  });

  it("renders mixed templates as text with compact JSON objects", () => {
    expect(renderTemplate(parseTemplate("{{ params.region }}-{{ params.year }}"), scope)).toBe("ASIA-1994");
    expect(renderTemplateText(parseTemplate("p={{ params.tags }} r={{ rows.0 }}"), scope)).toBe(
      'p=["x","y"] r={"total":3}',
    );
    expect(renderTemplateText(parseTemplate("[{{ empty }}][{{ nothing.at.all }}]"), scope)).toBe("[][]");
  });

  it("does not walk into scalars or use non-index segments on arrays", () => {
    expect(lookupReference(scope, "params", ["region", "x"])).toBeUndefined();
    expect(lookupReference(scope, "rows", ["first"])).toBeUndefined();
    expect(lookupReference(scope, "toString", [])).toBeUndefined();
  });
});
