import { type SeededRandom, Sfc32 } from "@halo/seeded-random";
import type { DatasetDefinition, GenerationOptions, RowSink } from "./dataset-definition.js";
import {
  WIKI_ADJECTIVES,
  WIKI_COMPETITIONS,
  WIKI_FIELDS,
  WIKI_GENRES,
  WIKI_GENUS_SYLLABLES,
  WIKI_NATIONALITIES,
  WIKI_NOUNS,
  WIKI_OCCUPATIONS,
  WIKI_PLACES,
  WIKI_REGIONS,
  WIKI_SPECIES_EPITHETS,
  WIKI_SUBJECTS,
  WIKI_VERBS,
  WIKI_WARS,
} from "./finewiki-vocabulary.js";
import { FIRST_NAMES, LAST_NAMES } from "./imdb-vocabulary.js";
import type { TableSchema } from "./table-schema.js";

/** The Wikipedia-shaped `pages` table (the columns of the FineWiki corpus). */
export const FINEWIKI_TABLES: readonly TableSchema[] = [
  {
    name: "pages",
    columns: [
      { name: "id", type: "text" },
      { name: "wikiname", type: "text" },
      { name: "page_id", type: "integer" },
      { name: "title", type: "text" },
      { name: "url", type: "text" },
      { name: "date_modified", type: "timestamp" },
      { name: "in_language", type: "text" },
      { name: "wikidata_id", type: "text", nullable: true },
      { name: "bytes_html", type: "integer" },
      { name: "wikitext", type: "text" },
      { name: "version", type: "bigint" },
      { name: "infoboxes", type: "text" },
      { name: "has_math", type: "boolean" },
    ],
    primaryKey: ["page_id"],
    indexes: [
      { name: "pages_title_idx", columns: ["title"] },
      { name: "pages_date_modified_idx", columns: ["date_modified"] },
    ],
  },
];

/** Pages for a scale: scale 0.1 is the paper's 20,000 articles. */
export function finewikiPageCount(scale: number): number {
  return Math.round(200_000 * scale);
}

/** The article URL of a title, as Wikipedia writes it. */
export function articleUrl(title: string): string {
  const path = encodeURIComponent(title.replaceAll(" ", "_")).replace(/%2C|%27|%28|%29|%3A/g, (escaped) =>
    decodeURIComponent(escaped),
  );
  return `https://en.wikipedia.org/wiki/${path}`;
}

/** What one page is about: its title, the words of its lead, infobox fields and categories. */
interface PageSubject {
  readonly title: string;
  readonly lead: string;
  readonly infobox: { readonly name: string; readonly params: Record<string, string> } | null;
  readonly categories: readonly string[];
  readonly sections: readonly string[];
  readonly hasMath: boolean;
}

type SubjectMaker = (random: SeededRandom) => PageSubject;

const year = (random: SeededRandom, from = 1820, to = 2020) => random.integer(from, to);

const SUBJECT_MAKERS: readonly SubjectMaker[] = [
  (random) => {
    const place = random.pick(WIKI_PLACES);
    const region = random.pick(WIKI_REGIONS);
    const opened = year(random, 1830, 1990);
    return {
      title: `${place} ${random.pick(["railway station", "tram stop", "bus station"])}`,
      lead: `a station serving the town of [[${place}]] in ${region}, opened in ${opened}`,
      infobox: { name: "Infobox station", params: { name: place, opened: String(opened), region } },
      categories: [`Railway stations in ${region}`, `Railway stations opened in ${opened}`],
      sections: ["History", "Services", "Facilities"],
      hasMath: false,
    };
  },
  (random) => {
    const first = year(random, 1870, 2015);
    const competition = random.pick(WIKI_COMPETITIONS);
    return {
      title: `${first}–${String((first + 1) % 100).padStart(2, "0")} ${competition}`,
      lead: `the ${first}–${String((first + 1) % 100).padStart(2, "0")} season of the [[${competition}]]`,
      infobox: { name: "Infobox football tournament season", params: { competition, season: String(first) } },
      categories: [`${competition} seasons`, `${first} in association football`],
      sections: ["Background", "First round", "Final", "Aftermath"],
      hasMath: false,
    };
  },
  (random) => {
    const born = year(random, 1800, 2000);
    const living = born > 1935 && random.chance(0.7);
    const died = living ? null : Math.min(2024, born + random.integer(30, 95));
    const occupation = random.pick(WIKI_OCCUPATIONS);
    const nationality = random.pick(WIKI_NATIONALITIES);
    return {
      title: `${random.pick(FIRST_NAMES)} ${random.pick(LAST_NAMES)}`,
      lead: `a ${nationality} ${occupation} (born ${born}${died ? `, died ${died}` : ""})`,
      infobox: { name: "Infobox person", params: { birth_year: String(born), occupation } },
      categories: [
        `${born} births`,
        living ? "Living people" : `${died} deaths`,
        `${nationality} ${occupation}s`,
      ],
      sections: ["Early life", "Career", "Personal life", "Legacy"],
      hasMath: false,
    };
  },
  (random) => {
    const released = year(random, 1960, 2023);
    const artist = `${random.pick(FIRST_NAMES)} ${random.pick(LAST_NAMES)}`;
    return {
      title: `${random.pick(WIKI_ADJECTIVES)} ${random.pick(WIKI_NOUNS)} (album)`,
      lead: `a studio album by [[${artist}]], released in ${released}`,
      infobox: { name: "Infobox album", params: { artist, released: String(released) } },
      categories: [`${released} albums`, `${artist} albums`],
      sections: ["Background", "Recording", "Track listing", "Reception"],
      hasMath: false,
    };
  },
  (random) => {
    const place = random.pick(WIKI_PLACES);
    const war = random.pick(WIKI_WARS);
    const fought = year(random, 1450, 1920);
    return {
      title: `Battle of ${place}${random.chance(0.3) ? ` (${fought})` : ""}`,
      lead: `an engagement of the [[${war}]] fought near [[${place}]] in ${fought}`,
      infobox: { name: "Infobox military conflict", params: { conflict: war, date: String(fought) } },
      categories: [`Battles of the ${war}`, `Conflicts in ${fought}`],
      sections: ["Background", "Battle", "Aftermath"],
      hasMath: false,
    };
  },
  (random) => {
    const genus = random.pick(WIKI_GENUS_SYLLABLES[0] ?? []) + random.pick(WIKI_GENUS_SYLLABLES[1] ?? []);
    const describer = random.pick(LAST_NAMES);
    return {
      title: `${genus} ${random.pick(WIKI_SPECIES_EPITHETS)}`,
      lead: `a species in the genus [[${genus}]], first described by ${describer}`,
      infobox: { name: "Speciesbox", params: { genus, authority: describer } },
      categories: [`${genus} species`, `Taxa named by ${describer}`],
      sections: ["Description", "Distribution", "Ecology"],
      hasMath: false,
    };
  },
  (random) => {
    const region = random.pick(WIKI_REGIONS);
    return {
      title: `${random.pick(WIKI_PLACES)} ${random.pick(["River", "Water", "Brook"])}`,
      lead: `a river in ${region}, a tributary of the [[${random.pick(WIKI_PLACES)} River]]`,
      infobox: { name: "Infobox river", params: { region } },
      categories: [`Rivers of ${region}`],
      sections: ["Course", "History", "Ecology"],
      hasMath: false,
    };
  },
  (random) => {
    const field = random.pick(WIKI_FIELDS);
    const name = random.pick(LAST_NAMES);
    return {
      title: random.chance(0.5) ? `${name}'s theorem` : `${name}–${random.pick(LAST_NAMES)} conjecture`,
      lead: `a result in [[${field}]] stated by ${name}`,
      infobox: null,
      categories: [`Theorems in ${field}`, "Mathematical statements"],
      sections: ["Statement", "Proof", "Generalizations"],
      hasMath: true,
    };
  },
  (random) => {
    const released = year(random, 1925, 2023);
    const genre = random.pick(WIKI_GENRES);
    return {
      title: `The ${random.pick(WIKI_ADJECTIVES)} ${random.pick(WIKI_NOUNS)} (${released} film)`,
      lead: `a ${released} ${genre} film directed by [[${random.pick(FIRST_NAMES)} ${random.pick(LAST_NAMES)}]]`,
      infobox: { name: "Infobox film", params: { released: String(released), genre } },
      categories: [`${released} films`, `${genre[0]?.toUpperCase()}${genre.slice(1)} films`],
      sections: ["Plot", "Production", "Release", "Reception"],
      hasMath: false,
    };
  },
];

interface PlannedPage {
  readonly pageId: number;
  readonly subject: PageSubject;
}

/** Titles first (links need every title), then each page's text. */
function planPages(count: number, random: SeededRandom): PlannedPage[] {
  const pages: PlannedPage[] = [];
  const titles = new Set<string>();
  let pageId = 0;
  for (let index = 0; index < count; index++) {
    let subject = random.pick(SUBJECT_MAKERS)(random);
    for (let attempt = 0; titles.has(subject.title) && attempt < 20; attempt++) {
      subject = random.pick(SUBJECT_MAKERS)(random);
    }
    if (titles.has(subject.title)) subject = { ...subject, title: `${subject.title} (${index})` };
    titles.add(subject.title);
    pageId += random.integer(1, 2_000);
    pages.push({ pageId, subject });
  }
  return pages;
}

function sentence(random: SeededRandom, linkTarget: () => string): string {
  const link = linkTarget();
  const shown = random.chance(0.2)
    ? `[[${link}|${link.replace(/ \(.*\)$/, "").toLowerCase()}]]`
    : `[[${link}]]`;
  switch (random.integer(0, 4)) {
    case 0:
      return `In ${year(random)}, it was ${random.pick(WIKI_VERBS)} by ${random.pick(WIKI_SUBJECTS)}, as recorded in ${shown}.`;
    case 1:
      return `It is often compared with ${shown}, which ${random.pick(WIKI_SUBJECTS)} ${random.pick(WIKI_VERBS)} in ${year(random)}.`;
    case 2:
      return `According to ${random.pick(WIKI_SUBJECTS)}, the connection to ${shown} was ${random.pick(WIKI_VERBS)} only in ${year(random)}.`;
    case 3:
      return `Records from ${year(random)} note that it was ${random.pick(WIKI_VERBS)} alongside ${shown}.`;
    default:
      return `The site was ${random.pick(WIKI_VERBS)} again in ${year(random)}; see also ${shown}.`;
  }
}

function wikitext(page: PlannedPage, random: SeededRandom, allPages: readonly PlannedPage[]): string {
  const { subject } = page;
  // Mostly links to other generated articles, some to titles no page has (red links).
  const linkTarget = () =>
    random.chance(0.85)
      ? random.pick(allPages).subject.title
      : `${random.pick(WIKI_PLACES)} ${random.pick(WIKI_NOUNS)}`;
  const description = subject.lead.replace(/\[\[|\]\]/g, "");
  const parts = [`{{Short description|${description.charAt(0).toUpperCase()}${description.slice(1)}}}`];
  if (subject.infobox) {
    const params = Object.entries(subject.infobox.params).map(([key, value]) => `| ${key} = ${value}`);
    parts.push(`{{${subject.infobox.name}\n${params.join("\n")}\n}}`);
  }
  parts.push(`'''${subject.title}''' is ${subject.lead}. ${sentence(random, linkTarget)}`);
  for (const heading of subject.sections) {
    const sentences = Array.from({ length: random.integer(2, 5) }, () => sentence(random, linkTarget));
    if (subject.hasMath && random.chance(0.5)) {
      sentences.push(`<math>a^${random.integer(2, 5)} + b^2 \\geq ${random.integer(2, 9)}ab</math>`);
    }
    parts.push(`== ${heading} ==\n${sentences.join(" ")}`);
  }
  const seeAlso = Array.from({ length: random.integer(1, 3) }, () => `* [[${linkTarget()}]]`);
  parts.push(`== See also ==\n${seeAlso.join("\n")}`, "== References ==\n{{Reflist}}");
  parts.push(subject.categories.map((category) => `[[Category:${category}]]`).join("\n"));
  return parts.join("\n\n");
}

const MODIFIED_FROM_SECONDS = Date.UTC(2015, 0, 1) / 1_000;
const MODIFIED_TO_SECONDS = Date.UTC(2025, 5, 30) / 1_000;

function generateFinewiki({ scale, seed }: GenerationOptions, sink: RowSink): void {
  const pages = planPages(finewikiPageCount(scale), Sfc32.fromParts("finewiki", seed, "titles"));
  const random = Sfc32.fromParts("finewiki", seed, "pages");
  const append = sink.table("pages");
  for (const page of pages) {
    const text = wikitext(page, random, pages);
    const infobox = page.subject.infobox;
    append([
      `enwiki/${page.pageId}`,
      "enwiki",
      page.pageId,
      page.subject.title,
      articleUrl(page.subject.title),
      random.integer(MODIFIED_FROM_SECONDS, MODIFIED_TO_SECONDS),
      "en",
      random.chance(0.03) ? null : `Q${random.integer(100, 130_000_000)}`,
      Math.round(text.length * (3.5 + random.next() * 2.5)),
      text,
      random.integer(900_000_000, 1_300_000_000),
      JSON.stringify(infobox ? [{ name: infobox.name, type: "infobox", params: infobox.params }] : []),
      page.subject.hasMath,
    ]);
  }
}

/** A Wikipedia-shaped `pages` table of our own generator: scale 0.1 = 20,000 English articles. */
export const FINEWIKI_DATASET: DatasetDefinition = {
  name: "finewiki",
  description: "Wikipedia-shaped pages with wikitext links and categories: scale 0.1 = 20,000 articles",
  tables: FINEWIKI_TABLES,
  minimumScale: 0.001,
  maximumScale: 1,
  generatorVersion: 1,
  generate: generateFinewiki,
};
