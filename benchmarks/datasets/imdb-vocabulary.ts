/**
 * Word lists of the IMDb-shaped generator (our own). Titles and names are
 * combinations of these; genres, title types, professions and region codes
 * follow IMDb's public vocabulary.
 */

/** IMDb genre names (a title has one to three, comma-separated in alphabetical order). */
// biome-ignore format: a word list reads better packed
export const IMDB_GENRES = [
  "Action", "Adventure", "Animation", "Biography", "Comedy", "Crime", "Documentary", "Drama", "Family",
  "Fantasy", "History", "Horror", "Music", "Musical", "Mystery", "Romance", "Sci-Fi", "Sport", "Thriller",
  "War", "Western",
] as const;

/** Title types with their share of titles. */
export const IMDB_TITLE_TYPES: readonly { readonly type: string; readonly weight: number }[] = [
  { type: "movie", weight: 36 },
  { type: "short", weight: 10 },
  { type: "tvSeries", weight: 12 },
  { type: "tvEpisode", weight: 22 },
  { type: "tvMovie", weight: 9 },
  { type: "tvMiniSeries", weight: 4 },
  { type: "video", weight: 7 },
];

/** Professions of `primary_profession` (one to three per person). */
// biome-ignore format: a word list reads better packed
export const IMDB_PROFESSIONS = [
  "actor", "actress", "director", "writer", "producer", "composer", "cinematographer", "editor",
  "casting_director", "production_designer", "art_director", "stunts", "sound_department", "music_department",
] as const;

/** Region codes of alternate titles, each with the language usually given for it. */
export const IMDB_REGIONS: readonly { readonly region: string; readonly language: string }[] = [
  { region: "US", language: "en" },
  { region: "GB", language: "en" },
  { region: "CA", language: "fr" },
  { region: "AU", language: "en" },
  { region: "FR", language: "fr" },
  { region: "DE", language: "de" },
  { region: "IT", language: "it" },
  { region: "ES", language: "es" },
  { region: "MX", language: "es" },
  { region: "BR", language: "pt" },
  { region: "PT", language: "pt" },
  { region: "JP", language: "ja" },
  { region: "KR", language: "ko" },
  { region: "IN", language: "hi" },
  { region: "SE", language: "sv" },
  { region: "NL", language: "nl" },
  { region: "PL", language: "pl" },
  { region: "TR", language: "tr" },
  { region: "AR", language: "es" },
  { region: "RU", language: "ru" },
];

/** `types` of alternate titles. */
export const IMDB_AKA_TYPES = [
  "imdbDisplay",
  "alternative",
  "working",
  "festival",
  "dvd",
  "tv",
  "video",
] as const;

/** `attributes` of alternate titles (most have none). */
// biome-ignore format: a word list reads better packed
export const IMDB_AKA_ATTRIBUTES = [
  "literal English title", "complete title", "short title", "new title", "reissue title", "informal title",
  "promotional title", "original script title",
] as const;

/** Adjectives of generated titles. */
// biome-ignore format: a word list reads better packed
export const TITLE_ADJECTIVES = [
  "Silent", "Broken", "Golden", "Hidden", "Last", "Lost", "Crimson", "Endless", "Midnight", "Burning",
  "Frozen", "Wild", "Distant", "Hollow", "Iron", "Secret", "Shattered", "Northern", "Electric", "Savage",
  "Gentle", "Restless", "Forgotten", "Scarlet", "Wandering", "Bitter", "Brave", "Dark", "Bright", "Quiet",
  "Falling", "Rising", "Eternal", "Little", "Lonely", "Sacred", "Stolen", "Velvet", "Crooked", "Radiant",
  "Twisted", "Fading", "Open", "Perfect", "Royal", "Sudden", "Final", "Second", "Borrowed", "Painted",
] as const;

/** Nouns of generated titles. */
// biome-ignore format: a word list reads better packed
export const TITLE_NOUNS = [
  "River", "Kingdom", "Shadow", "Garden", "Empire", "Horizon", "Storm", "Mirror", "Harbor", "Station",
  "Frontier", "Promise", "Voyage", "Island", "Crown", "Signal", "Orchard", "Tower", "Lantern", "Circus",
  "Bridge", "Highway", "Winter", "Summer", "Letter", "Witness", "Stranger", "Detective", "Heart", "Engine",
  "Forest", "Desert", "Ocean", "Valley", "Mountain", "City", "Village", "Theater", "Symphony", "Dream",
  "Memory", "Secret", "Legacy", "Affair", "Journey", "Echo", "Dynasty", "Rebellion", "Paradise", "Labyrinth",
  "Carnival", "Compass", "Outlaw", "Pilgrim", "Sentinel", "Vineyard", "Lighthouse", "Meridian", "Monsoon",
  "Requiem",
] as const;

/** Place names of generated titles. */
// biome-ignore format: a word list reads better packed
export const TITLE_PLACES = [
  "Avalon", "Brighton", "Casablanca", "Dunmore", "Eldridge", "Fairhaven", "Granada", "Halcyon", "Inverness",
  "Jericho", "Kingsport", "Lisbon", "Marrakesh", "Nantucket", "Oakridge", "Palermo", "Quebec", "Rosewood",
  "Savannah", "Tangier", "Ulster", "Valencia", "Westfield", "Yorktown", "Zanzibar", "Bellhaven", "Cold Creek",
  "Red Hollow", "Silver Lake", "Stonebridge",
] as const;

/** Given names of generated people (also used by the Wikipedia-shaped generator). */
// biome-ignore format: a word list reads better packed
export const FIRST_NAMES = [
  "Ada", "Adrian", "Aiko", "Alejandro", "Amara", "Amelia", "Anders", "Anya", "Arjun", "Astrid", "Beatrice",
  "Benedict", "Camila", "Carlos", "Chen", "Clara", "Dario", "Daniel", "Eitan", "Elena", "Elif", "Emeka",
  "Emma", "Farah", "Felix", "Freya", "Gabriel", "Giulia", "Hana", "Hugo", "Ingrid", "Isaac", "Ivan", "Jasper",
  "Jia", "Julian", "Kai", "Kenji", "Lars", "Laura", "Leila", "Lena", "Luca", "Lucia", "Malik", "Marcus",
  "Margot", "Maya", "Mei", "Mikhail", "Nadia", "Nikolai", "Nina", "Noah", "Olga", "Omar", "Oscar", "Paloma",
  "Pedro", "Priya", "Rafael", "Ravi", "Rosa", "Ruth", "Samuel", "Sana", "Sofia", "Stellan", "Tariq", "Thea",
  "Tomas", "Uma", "Valentina", "Victor", "Walter", "Xavier", "Yara", "Yusuf", "Zara", "Zoltan",
] as const;

/** Family names of generated people. */
// biome-ignore format: a word list reads better packed
export const LAST_NAMES = [
  "Abernathy", "Adeyemi", "Albrecht", "Alvarez", "Andersen", "Bauer", "Bellamy", "Bertolini", "Blackwood",
  "Castellano", "Chandra", "Coleman", "Dubois", "Duarte", "Eriksson", "Fairbanks", "Ferreira", "Fitzgerald",
  "Fontaine", "Gallagher", "Garcia", "Haddad", "Hartmann", "Holloway", "Ibarra", "Ishikawa", "Jovanovic",
  "Kaminski", "Kowalczyk", "Lindqvist", "Lombardi", "Marchetti", "Mendoza", "Montague", "Nakamura", "Novak",
  "Okafor", "Oliveira", "Ostrowski", "Park", "Petrov", "Quintero", "Ramirez", "Rasmussen", "Rossi", "Sandoval",
  "Schneider", "Sato", "Sinclair", "Takahashi", "Thornton", "Ueda", "Valdez", "Vance", "Volkov", "Whitaker",
  "Winslow", "Yamamoto", "Zhang", "Zielinski",
] as const;

/** Words that turn a title into a localized variant for alternate titles. */
export const LOCALIZED_PREFIXES: Readonly<Record<string, string>> = {
  fr: "Le",
  de: "Der",
  it: "Il",
  es: "El",
  pt: "O",
  nl: "De",
  sv: "Den",
};
