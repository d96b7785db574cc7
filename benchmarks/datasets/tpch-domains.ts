/**
 * Value domains of the TPC-H specification (clause 4.2): regions, nations and
 * their regions, market segments, order priorities, ship modes and instructions,
 * the part type and container syllables, part name colors, and the date range.
 * The generator, the query generator and the data API's validation share them.
 */

/** The 5 regions, by `r_regionkey`. */
export const TPCH_REGIONS = ["AFRICA", "AMERICA", "ASIA", "EUROPE", "MIDDLE EAST"] as const;

/** The 25 nations, by `n_nationkey`, each with its `n_regionkey`. */
export const TPCH_NATIONS: readonly { readonly name: string; readonly regionKey: number }[] = [
  { name: "ALGERIA", regionKey: 0 },
  { name: "ARGENTINA", regionKey: 1 },
  { name: "BRAZIL", regionKey: 1 },
  { name: "CANADA", regionKey: 1 },
  { name: "EGYPT", regionKey: 4 },
  { name: "ETHIOPIA", regionKey: 0 },
  { name: "FRANCE", regionKey: 3 },
  { name: "GERMANY", regionKey: 3 },
  { name: "INDIA", regionKey: 2 },
  { name: "INDONESIA", regionKey: 2 },
  { name: "IRAN", regionKey: 4 },
  { name: "IRAQ", regionKey: 4 },
  { name: "JAPAN", regionKey: 2 },
  { name: "JORDAN", regionKey: 4 },
  { name: "KENYA", regionKey: 0 },
  { name: "MOROCCO", regionKey: 0 },
  { name: "MOZAMBIQUE", regionKey: 0 },
  { name: "PERU", regionKey: 1 },
  { name: "CHINA", regionKey: 2 },
  { name: "ROMANIA", regionKey: 3 },
  { name: "SAUDI ARABIA", regionKey: 4 },
  { name: "VIETNAM", regionKey: 2 },
  { name: "RUSSIA", regionKey: 3 },
  { name: "UNITED KINGDOM", regionKey: 3 },
  { name: "UNITED STATES", regionKey: 1 },
];

/** `c_mktsegment` values. */
export const TPCH_SEGMENTS = ["AUTOMOBILE", "BUILDING", "FURNITURE", "HOUSEHOLD", "MACHINERY"] as const;

/** `o_orderpriority` values. */
export const TPCH_PRIORITIES = ["1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW"] as const;

/** `l_shipmode` values. */
export const TPCH_SHIP_MODES = ["REG AIR", "AIR", "RAIL", "SHIP", "TRUCK", "MAIL", "FOB"] as const;

/** `l_shipinstruct` values. */
export const TPCH_SHIP_INSTRUCTIONS = [
  "DELIVER IN PERSON",
  "COLLECT COD",
  "NONE",
  "TAKE BACK RETURN",
] as const;

/** The three syllable lists of `p_type` ("STANDARD ANODIZED TIN"). */
export const TPCH_TYPE_SYLLABLES = [
  ["STANDARD", "SMALL", "MEDIUM", "LARGE", "ECONOMY", "PROMO"],
  ["ANODIZED", "BURNISHED", "PLATED", "POLISHED", "BRUSHED"],
  ["TIN", "NICKEL", "BRASS", "STEEL", "COPPER"],
] as const;

/** The two syllable lists of `p_container` ("SM CASE"). */
export const TPCH_CONTAINER_SYLLABLES = [
  ["SM", "LG", "MED", "JUMBO", "WRAP"],
  ["CASE", "BOX", "BAG", "JAR", "PKG", "PACK", "CAN", "DRUM"],
] as const;

/** The 92 colors `p_name` is made of (five distinct ones per part). */
// biome-ignore format: a word list reads better packed
export const TPCH_COLORS = [
  "almond", "antique", "aquamarine", "azure", "beige", "bisque", "black", "blanched", "blue", "blush",
  "brown", "burlywood", "burnished", "chartreuse", "chiffon", "chocolate", "coral", "cornflower", "cornsilk",
  "cream", "cyan", "dark", "deep", "dim", "dodger", "drab", "firebrick", "floral", "forest", "frosted",
  "gainsboro", "ghost", "goldenrod", "green", "grey", "honeydew", "hot", "indian", "ivory", "khaki", "lace",
  "lavender", "lawn", "lemon", "light", "lime", "linen", "magenta", "maroon", "medium", "metallic", "midnight",
  "mint", "misty", "moccasin", "navajo", "navy", "olive", "orange", "orchid", "pale", "papaya", "peach", "peru",
  "pink", "plum", "powder", "puff", "purple", "red", "rose", "rosy", "royal", "saddle", "salmon", "sandy",
  "seashell", "sienna", "sky", "slate", "smoke", "snow", "spring", "steel", "tan", "thistle", "tomato",
  "turquoise", "violet", "wheat", "white", "yellow",
] as const;

/** Days since 1970-01-01 of a calendar date (UTC). */
export function daysSinceEpoch(year: number, month: number, day: number): number {
  return Date.UTC(year, month - 1, day) / 86_400_000;
}

/** The ISO date (YYYY-MM-DD) of a day count since 1970-01-01. */
export function isoDate(days: number): string {
  return new Date(days * 86_400_000).toISOString().slice(0, 10);
}

/** First order date of the data set (STARTDATE). */
export const TPCH_START_DATE = daysSinceEpoch(1992, 1, 1);
/** Last date of the data set (ENDDATE); order dates end 151 days before it. */
export const TPCH_END_DATE = daysSinceEpoch(1998, 12, 31);
/** CURRENTDATE: lines received by then are returned (R) or accepted (A); shipped after it are open (O). */
export const TPCH_CURRENT_DATE = daysSinceEpoch(1995, 6, 17);
/** Years with orders. */
export const TPCH_FIRST_YEAR = 1992;
export const TPCH_LAST_YEAR = 1998;
