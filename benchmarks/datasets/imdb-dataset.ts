import { type SeededRandom, Sfc32 } from "@halo/seeded-random";
import type { DatasetDefinition, GenerationOptions, RowSink } from "./dataset-definition.js";
import {
  FIRST_NAMES,
  IMDB_AKA_ATTRIBUTES,
  IMDB_AKA_TYPES,
  IMDB_GENRES,
  IMDB_PROFESSIONS,
  IMDB_REGIONS,
  IMDB_TITLE_TYPES,
  LAST_NAMES,
  LOCALIZED_PREFIXES,
  TITLE_ADJECTIVES,
  TITLE_NOUNS,
  TITLE_PLACES,
} from "./imdb-vocabulary.js";
import type { TableSchema } from "./table-schema.js";

/** The IMDb-shaped tables (IMDb's non-commercial dataset layout, snake-case columns). */
export const IMDB_TABLES: readonly TableSchema[] = [
  {
    name: "title_basics",
    columns: [
      { name: "tconst", type: "text" },
      { name: "title_type", type: "text" },
      { name: "primary_title", type: "text" },
      { name: "original_title", type: "text" },
      { name: "is_adult", type: "boolean" },
      { name: "start_year", type: "integer", nullable: true },
      { name: "end_year", type: "integer", nullable: true },
      { name: "runtime_minutes", type: "integer", nullable: true },
      { name: "genres", type: "text", nullable: true },
    ],
    primaryKey: ["tconst"],
    indexes: [
      { name: "title_basics_start_year_idx", columns: ["start_year"] },
      { name: "title_basics_primary_title_idx", columns: ["primary_title"] },
    ],
  },
  {
    name: "title_ratings",
    columns: [
      { name: "tconst", type: "text" },
      { name: "average_rating", type: "double" },
      { name: "num_votes", type: "integer" },
    ],
    primaryKey: ["tconst"],
    indexes: [{ name: "title_ratings_num_votes_idx", columns: ["num_votes"] }],
  },
  {
    name: "name_basics",
    columns: [
      { name: "nconst", type: "text" },
      { name: "primary_name", type: "text" },
      { name: "birth_year", type: "integer", nullable: true },
      { name: "death_year", type: "integer", nullable: true },
      { name: "primary_profession", type: "text", nullable: true },
      { name: "known_for_titles", type: "text", nullable: true },
    ],
    primaryKey: ["nconst"],
    indexes: [{ name: "name_basics_primary_name_idx", columns: ["primary_name"] }],
  },
  {
    name: "title_crew",
    columns: [
      { name: "tconst", type: "text" },
      { name: "directors", type: "text", nullable: true },
      { name: "writers", type: "text", nullable: true },
    ],
    primaryKey: ["tconst"],
    indexes: [],
  },
  {
    name: "title_akas",
    columns: [
      { name: "title_id", type: "text" },
      { name: "ordering", type: "integer" },
      { name: "title", type: "text" },
      { name: "region", type: "text", nullable: true },
      { name: "language", type: "text", nullable: true },
      { name: "types", type: "text", nullable: true },
      { name: "attributes", type: "text", nullable: true },
      { name: "is_original_title", type: "boolean" },
    ],
    primaryKey: ["title_id", "ordering"],
    indexes: [{ name: "title_akas_region_idx", columns: ["region"] }],
  },
];

/** Titles and people for a scale: scale 1 is a million titles (IMDb has about eleven). */
export function imdbRowCounts(scale: number): { titles: number; people: number } {
  const titles = Math.round(1_000_000 * scale);
  return { titles, people: Math.round(1.2 * titles) };
}

/** IMDb identifier: `tt0000001`, `nm0000001`. */
export function imdbId(prefix: "tt" | "nm", index: number): string {
  return `${prefix}${String(index).padStart(7, "0")}`;
}

const LAST_YEAR = 2024;
const FIRST_YEAR = 1920;

/** A plausible title from our word lists. */
export function generateTitle(random: SeededRandom): string {
  const adjective = () => random.pick(TITLE_ADJECTIVES);
  const noun = () => random.pick(TITLE_NOUNS);
  const place = () => random.pick(TITLE_PLACES);
  switch (random.integer(0, 9)) {
    case 0:
      return `The ${adjective()} ${noun()}`;
    case 1:
      return `${noun()} of ${place()}`;
    case 2:
      return `The ${noun()} of the ${adjective()} ${noun()}`;
    case 3:
      return `${adjective()} ${noun()}`;
    case 4:
      return `${random.pick(FIRST_NAMES)}'s ${noun()}`;
    case 5:
      return `Return to ${place()}`;
    case 6:
      return random.chance(0.3) ? `${noun()} ${random.pick(["II", "III", "2", "Reborn"])}` : noun();
    case 7:
      return `${place()} ${noun()}`;
    case 8:
      return `A ${noun()} in ${place()}`;
    default:
      return `${adjective()} ${noun()}: The ${noun()}`;
  }
}

function localizedTitle(title: string, language: string): string {
  const prefix = LOCALIZED_PREFIXES[language];
  return prefix ? `${prefix} ${title.replace(/^(The|A) /, "")}` : title;
}

function weightedTitleType(random: SeededRandom): string {
  const total = IMDB_TITLE_TYPES.reduce((sum, entry) => sum + entry.weight, 0);
  let draw = random.next() * total;
  for (const entry of IMDB_TITLE_TYPES) {
    draw -= entry.weight;
    if (draw < 0) return entry.type;
  }
  return "movie";
}

const RUNTIME_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  movie: [75, 180],
  short: [3, 40],
  tvSeries: [20, 60],
  tvEpisode: [20, 60],
  tvMovie: [70, 120],
  tvMiniSeries: [40, 60],
  video: [30, 120],
};

interface Person {
  readonly professions: readonly string[];
  readonly knownFor: string[];
}

function generatePeople(count: number, random: SeededRandom): Person[] {
  const people: Person[] = [];
  for (let index = 0; index < count; index++) {
    // Acting is the most common first profession, as in IMDb.
    const first =
      random.next() < 0.55
        ? random.pick(["actor", "actress"] as const)
        : random.pick(IMDB_PROFESSIONS.slice(2));
    const acting = first === "actor" || first === "actress";
    const others = random.sample(
      IMDB_PROFESSIONS.filter(
        (profession) => profession !== first && !(acting && profession.startsWith("act")),
      ),
      random.integer(0, 2),
    );
    people.push({ professions: [first, ...others], knownFor: [] });
  }
  return people;
}

function generateImdb({ scale, seed }: GenerationOptions, sink: RowSink): void {
  const counts = imdbRowCounts(scale);
  const peopleRandom = Sfc32.fromParts("imdb", seed, "people");
  const people = generatePeople(counts.people, peopleRandom);
  const directors = people.flatMap((person, index) =>
    person.professions.includes("director") ? [index] : [],
  );
  const writers = people.flatMap((person, index) => (person.professions.includes("writer") ? [index] : []));

  const titleBasics = sink.table("title_basics");
  const titleRatings = sink.table("title_ratings");
  const titleCrew = sink.table("title_crew");
  const titleAkas = sink.table("title_akas");
  const random = Sfc32.fromParts("imdb", seed, "titles");
  const tconsts: string[] = [];
  for (let index = 1; index <= counts.titles; index++) {
    const tconst = imdbId("tt", index);
    tconsts.push(tconst);
    const titleType = weightedTitleType(random);
    const primaryTitle =
      titleType === "tvEpisode" && random.chance(0.4)
        ? `Episode #${random.integer(1, 12)}.${random.integer(1, 24)}`
        : generateTitle(random);
    const foreignLanguage = random.chance(0.15) ? random.pick(IMDB_REGIONS).language : null;
    const originalTitle = foreignLanguage ? localizedTitle(primaryTitle, foreignLanguage) : primaryTitle;
    // Squaring a uniform draw makes recent years more frequent, as in IMDb.
    const startYear = random.chance(0.02)
      ? null
      : LAST_YEAR - Math.floor((LAST_YEAR - FIRST_YEAR + 1) * random.next() ** 2);
    let endYear: number | null = null;
    if (startYear !== null && titleType === "tvSeries" && random.chance(0.6)) {
      endYear = Math.min(LAST_YEAR, startYear + random.integer(1, 12));
    } else if (startYear !== null && titleType === "tvMiniSeries") {
      endYear = Math.min(LAST_YEAR, startYear + random.integer(0, 1));
    }
    const [minimumRuntime, maximumRuntime] = RUNTIME_RANGES[titleType] ?? [60, 120];
    const runtime = random.chance(0.08) ? null : random.integer(minimumRuntime, maximumRuntime);
    const genres = random.chance(0.02)
      ? null
      : random.sample(IMDB_GENRES, random.integer(1, 3)).sort().join(",");
    titleBasics([
      tconst,
      titleType,
      primaryTitle,
      originalTitle,
      random.chance(0.005),
      startYear,
      endYear,
      runtime,
      genres,
    ]);

    if (random.chance(0.85)) {
      // Heavy-tailed vote counts: most titles have few votes, a few have hundreds of thousands.
      const votes = 5 + Math.floor(10 ** (random.next() ** 1.5 * 5.5));
      const rating = Math.round(random.normal(6.3, 1.2, 1, 10) * 10) / 10;
      titleRatings([tconst, rating, votes]);
    }

    const titleDirectors = pickCrew(random, directors, random.chance(0.1) ? 2 : 1, titleType !== "tvSeries");
    const titleWriters = pickCrew(random, writers, random.integer(0, 3), true);
    for (const person of [...titleDirectors, ...titleWriters]) people[person]?.knownFor.push(tconst);
    titleCrew([tconst, crewList(titleDirectors), crewList(titleWriters)]);

    const akaRegions = random.sample(IMDB_REGIONS, random.integer(0, 3));
    titleAkas([tconst, 1, originalTitle, null, null, "original", null, true]);
    akaRegions.forEach(({ region, language }, akaIndex) => {
      const spoken = random.chance(0.6) ? language : null;
      titleAkas([
        tconst,
        akaIndex + 2,
        spoken && random.chance(0.5) ? localizedTitle(primaryTitle, spoken) : primaryTitle,
        region,
        spoken,
        random.chance(0.6) ? random.pick(IMDB_AKA_TYPES) : null,
        random.chance(0.15) ? random.pick(IMDB_AKA_ATTRIBUTES) : null,
        false,
      ]);
    });
  }

  const nameBasics = sink.table("name_basics");
  people.forEach((person, index) => {
    const birthYear = peopleRandom.chance(0.15) ? null : peopleRandom.integer(1900, 2005);
    let deathYear: number | null = null;
    if (birthYear !== null && peopleRandom.chance(birthYear < 1950 ? 0.5 : 0.03)) {
      deathYear = Math.min(LAST_YEAR, birthYear + peopleRandom.integer(40, 95));
    }
    // Known for: titles they made, topped up with others (actors have no crew rows here).
    const knownFor = person.knownFor.slice(0, 4);
    const wanted = peopleRandom.integer(1, 4);
    while (knownFor.length < wanted && tconsts.length > 0) {
      const candidate = peopleRandom.pick(tconsts);
      if (!knownFor.includes(candidate)) knownFor.push(candidate);
    }
    nameBasics([
      imdbId("nm", index + 1),
      `${peopleRandom.pick(FIRST_NAMES)} ${peopleRandom.pick(LAST_NAMES)}`,
      birthYear,
      deathYear,
      person.professions.join(","),
      knownFor.join(","),
    ]);
  });
}

function pickCrew(random: SeededRandom, pool: readonly number[], count: number, wanted: boolean): number[] {
  if (!wanted || pool.length === 0) return [];
  const picked = new Set<number>();
  for (let attempt = 0; attempt < count * 3 && picked.size < count; attempt++) picked.add(random.pick(pool));
  return [...picked];
}

function crewList(people: readonly number[]): string | null {
  return people.length === 0 ? null : people.map((index) => imdbId("nm", index + 1)).join(",");
}

/** IMDb-shaped tables of our own generator: scale 1 = one million titles, 1.2 million people. */
export const IMDB_DATASET: DatasetDefinition = {
  name: "imdb",
  description: "IMDb-shaped tables (titles, ratings, people, crew, alternate titles): scale 1 = 1M titles",
  tables: IMDB_TABLES,
  minimumScale: 0.001,
  maximumScale: 1,
  generatorVersion: 1,
  generate: generateImdb,
};
