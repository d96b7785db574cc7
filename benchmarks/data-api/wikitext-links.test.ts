import { describe, expect, it } from "vitest";
import { wikitextCategories, wikitextLinks } from "./wikitext-links.js";

const TEXT = `'''Carrow railway station''' serves [[Carrow]] and [[Westbury Harbour|the harbour]].
See [[Carrow#History|its history]], [[File:Carrow.jpg|thumb]] and [[Carrow]] again.
{{Infobox station | name = Carrow }}
[[Category:Railway stations in Northmark]]
[[ category : Railway stations opened in 1874 | sort key ]]
[[Category:Railway stations in Northmark]]`;

describe("wikitext links", () => {
  it("lists distinct article links in page order, without namespaces, anchors or labels", () => {
    expect(wikitextLinks(TEXT)).toEqual(["Carrow", "Westbury Harbour"]);
  });

  it("lists distinct categories in page order", () => {
    expect(wikitextCategories(TEXT)).toEqual([
      "Railway stations in Northmark",
      "Railway stations opened in 1874",
    ]);
  });

  it("finds nothing in text without links", () => {
    expect(wikitextLinks("plain text [not a link]")).toEqual([]);
    expect(wikitextCategories("")).toEqual([]);
  });
});
