import { describe, expect, it } from "vitest";
import { categoryUrl } from "./data-api-endpoints.js";
import { articleTitle, wikitextCategories, wikitextLinks } from "./wikitext-links.js";

const TEXT = `'''Carrow railway station''' serves [[Carrow]] and [[Westbury Harbour|the harbour]].
See [[Carrow#History|its history]], [[File:Carrow.jpg|thumb]] and [[carrow]] again.
Also [[fr:Gare de Carrow]], [[:Category:Stations]], [[wikt:station]], [[Mount_Carrow  Hill]]
and [[Battle: A Film]].
{{Infobox station | name = Carrow }}
[[Category:Railway stations in Northmark]]
[[ category : railway_stations opened in 1874 | sort key ]]
[[Category:Railway stations in Northmark]]`;

describe("wikitext links (the prototype's rules)", () => {
  it("lists distinct article titles in page order, without namespaces, interwiki links, anchors or labels", () => {
    expect(wikitextLinks(TEXT)).toEqual([
      "Carrow",
      "Westbury Harbour",
      "Mount Carrow Hill",
      "Battle: A Film",
    ]);
  });

  it("lists distinct categories in page order, named as article titles", () => {
    expect(wikitextCategories(TEXT)).toEqual([
      "Railway stations in Northmark",
      "Railway stations opened in 1874",
    ]);
  });

  it("normalizes titles as MediaWiki does", () => {
    expect(articleTitle("  river_ Lune ")).toBe("River Lune");
    expect(articleTitle("")).toBe("");
  });

  it("finds nothing in text without links", () => {
    expect(wikitextLinks("plain text [not a link]")).toEqual([]);
    expect(wikitextCategories("")).toEqual([]);
  });
});

describe("categoryUrl", () => {
  it("percent-encodes as Python's quote with safe=\":/(),'\" does", () => {
    expect(categoryUrl("Rivers of Northmark")).toBe(
      "https://en.wikipedia.org/wiki/Category:Rivers_of_Northmark",
    );
    expect(categoryUrl("AC/DC albums, live (1980s) 'n' more! *")).toBe(
      "https://en.wikipedia.org/wiki/Category:AC/DC_albums,_live_(1980s)_'n'_more%21_%2A",
    );
    expect(categoryUrl("Zürich & Łódź ~ 100%")).toBe(
      "https://en.wikipedia.org/wiki/Category:Z%C3%BCrich_%26_%C5%81%C3%B3d%C5%BA_~_100%25",
    );
  });
});
