/** Word lists of the Wikipedia-shaped generator (our own, loosely modelled on article kinds); each list is named after what it holds. */

// biome-ignore format: a word list reads better packed
export const WIKI_PLACES = [
  "Ashbourne", "Blackmere", "Brackenford", "Calderwick", "Carrow", "Dunholme", "Eastwold", "Elmstead",
  "Fenwick", "Glenross", "Greyhaven", "Harrowgate", "Hollins", "Invermoor", "Kelsey", "Kingsmere", "Larkfield",
  "Lowick", "Marston", "Millbrook", "Northcote", "Oakham", "Pennard", "Quarrington", "Redcliffe", "Rothwell",
  "Saltmarsh", "Sedgefield", "Stanwick", "Thornbury", "Upperton", "Wakefield Cross", "Westbury", "Whitmore",
  "Wyndham", "Yarrow",
];

// biome-ignore format: a word list reads better packed
export const WIKI_REGIONS = [
  "Northmark", "Southvale", "the Eastern Provinces", "Westerland", "the Central Highlands", "Lower Avon",
  "the Coastal Reach", "Upper Ardell",
];

// biome-ignore format: a word list reads better packed
export const WIKI_COMPETITIONS = [
  "Harbor Cup", "Northern League", "County Challenge Shield", "Coastal Championship", "Provincial Trophy",
  "Union Cup", "Highland League", "Federation Cup",
];

// biome-ignore format: a word list reads better packed
export const WIKI_OCCUPATIONS = [
  "politician", "painter", "novelist", "composer", "footballer", "engineer", "botanist", "architect",
  "physicist", "actress", "actor", "historian", "cricketer", "mathematician", "journalist", "sculptor",
];

// biome-ignore format: a word list reads better packed
export const WIKI_NATIONALITIES = [
  "Northmarkian", "Southvalean", "Westerlandic", "Ardellian", "Avonian", "Highland", "Coastal", "Provincial",
];

// biome-ignore format: a word list reads better packed
export const WIKI_WARS = [
  "Succession War", "Border Wars", "War of the Three Crowns", "Northern Rebellion", "Coastal Campaign",
  "Seven Years' Dispute",
];

// biome-ignore format: a word list reads better packed
export const WIKI_GENUS_SYLLABLES = [
  ["Acro", "Brachy", "Calli", "Dendro", "Erythro", "Gymno", "Helio", "Lepto", "Micro", "Ortho", "Platy", "Xantho"],
  ["cera", "phylla", "stoma", "gaster", "dactyla", "ptera", "spora", "cephala", "carpa", "soma"],
];

// biome-ignore format: a word list reads better packed
export const WIKI_SPECIES_EPITHETS = [
  "alba", "borealis", "minor", "major", "orientalis", "silvestris", "montana", "aquatica", "gracilis",
  "robusta", "elegans", "vulgaris", "maritima", "occidentalis", "nana",
];

// biome-ignore format: a word list reads better packed
export const WIKI_FIELDS = [
  "number theory", "topology", "graph theory", "combinatorics", "geometry", "probability theory", "algebra",
  "analysis",
];

// biome-ignore format: a word list reads better packed
export const WIKI_ADJECTIVES = [
  "Silver", "Quiet", "Northern", "Hollow", "Scarlet", "Endless", "Paper", "Electric", "Velvet", "Distant",
  "Glass", "Winter", "Golden", "Restless", "Midnight",
];

// biome-ignore format: a word list reads better packed
export const WIKI_NOUNS = [
  "Harbour", "Lanterns", "Orchard", "Signals", "Rivers", "Mirrors", "Tides", "Echoes", "Gardens", "Engines",
  "Voyages", "Horizons", "Letters", "Towers", "Seasons",
];

// biome-ignore format: a word list reads better packed
export const WIKI_GENRES = ["drama", "comedy", "thriller", "documentary", "western", "musical", "war", "science fiction"];

// biome-ignore format: a word list reads better packed
export const WIKI_VERBS = [
  "founded", "rebuilt", "expanded", "renamed", "described", "acquired", "restored", "documented", "opened",
  "reorganised", "studied", "recorded", "celebrated", "surveyed",
];

// biome-ignore format: a word list reads better packed
export const WIKI_SUBJECTS = [
  "the council", "local historians", "the society", "the committee", "contemporary critics", "the company",
  "the authorities", "the press", "a later survey", "the trustees",
];
