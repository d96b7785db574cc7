import type { SeededRandom } from "@halo/seeded-random";

// Our own filler vocabulary for comment columns; its only job is plausible text of a given length.
// biome-ignore format: a word list reads better packed
const FILLER_WORDS = [
  "account", "across", "after", "along", "among", "around", "blithely", "bold", "boldly", "busy", "calm",
  "carefully", "careful", "cargo", "claims", "close", "closely", "courier", "crate", "daily", "deliveries",
  "deposits", "dock", "even", "evenly", "express", "fair", "final", "finally", "firm", "fleet", "freight",
  "furious", "gentle", "gladly", "haul", "idle", "invoices", "lanes", "late", "ledger", "load", "manifest",
  "mostly", "near", "notes", "orders", "pallets", "parcel", "patient", "pending", "plain", "promptly", "quick",
  "quickly", "quiet", "rapid", "ready", "regular", "requests", "route", "routes", "sealed", "shipment",
  "silent", "slowly", "special", "steady", "stock", "sure", "swift", "tally", "theodolites", "through",
  "tight", "truck", "unusual", "urgent", "warehouse", "waybill", "wharf", "within",
];

/** Filler text of a length drawn from [minLength, maxLength], made of whole words then cut. */
export function fillerText(random: SeededRandom, minLength: number, maxLength: number): string {
  const length = random.integer(minLength, maxLength);
  let text = random.pick(FILLER_WORDS);
  while (text.length < length) text += ` ${random.pick(FILLER_WORDS)}`;
  return text.slice(0, length).trimEnd();
}

const ALPHANUMERIC = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,";

/** A random string of letters, digits, spaces and commas (TPC-H addresses). */
export function randomCharacters(random: SeededRandom, minLength: number, maxLength: number): string {
  const length = random.integer(minLength, maxLength);
  let text = "";
  for (let index = 0; index < length; index++)
    text += ALPHANUMERIC[random.integer(0, ALPHANUMERIC.length - 1)];
  return text.trim() || "x";
}
