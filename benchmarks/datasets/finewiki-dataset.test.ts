import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wikitextCategories, wikitextLinks } from "../data-api/wikitext-links.js";
import { type DuckDbFile, openDuckDbFile } from "./duckdb-file.js";
import { articleUrl } from "./finewiki-dataset.js";
import { generateDataset } from "./generate-dataset.js";

let directory: string;
let file: DuckDbFile;
let pages: { title: string; url: string; wikitext: string; infoboxes: string; has_math: boolean }[];

async function scalar(sql: string): Promise<unknown> {
  return (await file.connection.runAndReadAll(sql)).getRowsJson()[0]?.[0];
}

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), "halo-finewiki-"));
  const path = join(directory, "finewiki.duckdb");
  await generateDataset({ dataset: "finewiki", scale: 0.003, seed: 3, outPath: path });
  file = await openDuckDbFile(path, { readOnly: true });
  pages = (await file.connection.runAndReadAll("SELECT title, url, wikitext, infoboxes, has_math FROM pages"))
    .getRowObjectsJson()
    .map((row) => row as (typeof pages)[number]);
});

afterAll(() => {
  file?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe("Wikipedia-shaped generator", () => {
  it("writes FineWiki's columns with unique page ids and titles", async () => {
    expect(pages).toHaveLength(600);
    expect(new Set(pages.map((page) => page.title)).size).toBe(600);
    expect(await scalar("SELECT COUNT(*) FROM pages WHERE id <> 'enwiki/' || page_id")).toBe("0");
    expect(await scalar("SELECT COUNT(DISTINCT wikiname) || COUNT(DISTINCT in_language) FROM pages")).toBe(
      "11",
    );
    expect(
      await scalar(
        "SELECT COUNT(*) FROM pages WHERE wikidata_id IS NOT NULL AND NOT regexp_full_match(wikidata_id, 'Q\\d+')",
      ),
    ).toBe("0");
    expect(
      await scalar(
        "SELECT MIN(date_modified) >= TIMESTAMP '2015-01-01' AND MAX(date_modified) <= TIMESTAMP '2025-06-30' FROM pages",
      ),
    ).toBe(true);
    expect(await scalar("SELECT COUNT(*) FROM pages WHERE bytes_html < length(wikitext) * 3")).toBe("0");
    for (const page of pages) expect(page.url).toBe(articleUrl(page.title));
  });

  it("links mostly to other generated titles and tags every page with categories", () => {
    const titles = new Set(pages.map((page) => page.title));
    let links = 0;
    let existing = 0;
    for (const page of pages) {
      const targets = wikitextLinks(page.wikitext);
      links += targets.length;
      existing += targets.filter((target) => titles.has(target)).length;
      expect(wikitextCategories(page.wikitext).length).toBeGreaterThan(0);
    }
    expect(links / pages.length).toBeGreaterThan(5);
    expect(existing / links).toBeGreaterThan(0.6);
    // Categories are shared between pages, so category member counts mean something.
    const categoryPages = new Map<string, number>();
    for (const page of pages) {
      for (const category of wikitextCategories(page.wikitext)) {
        categoryPages.set(category, (categoryPages.get(category) ?? 0) + 1);
      }
    }
    expect(Math.max(...categoryPages.values())).toBeGreaterThan(10);
  });

  it("stores infoboxes as JSON text matching the wikitext and marks pages with math", () => {
    for (const page of pages) {
      const infoboxes = JSON.parse(page.infoboxes) as { name: string; params: Record<string, string> }[];
      for (const infobox of infoboxes) expect(page.wikitext).toContain(`{{${infobox.name}\n`);
      if (page.wikitext.includes("<math>")) expect(page.has_math).toBe(true);
    }
    expect(pages.some((page) => page.has_math)).toBe(true);
    expect(pages.some((page) => !page.has_math)).toBe(true);
  });
});

describe("articleUrl", () => {
  it("writes titles as Wikipedia paths", () => {
    expect(articleUrl("1874–75 Harbor Cup")).toBe("https://en.wikipedia.org/wiki/1874%E2%80%9375_Harbor_Cup");
    expect(articleUrl("Hollow Orchard (album)")).toBe("https://en.wikipedia.org/wiki/Hollow_Orchard_(album)");
    expect(articleUrl("Category:Living people")).toBe("https://en.wikipedia.org/wiki/Category:Living_people");
  });
});
