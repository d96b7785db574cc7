/**
 * Characters per token of the simulated tokenizer: about what BPE tokenizers
 * of current LLMs average on English text.
 */
export const CHARACTERS_PER_TOKEN = 4;

/** Token count of `text` for the simulated engine: deterministic, ~4 characters per token. */
export function approximateTokenCount(text: string): number {
  return Math.ceil(text.length / CHARACTERS_PER_TOKEN);
}

/** Splits `text` into pieces of at most CHARACTERS_PER_TOKEN characters (the simulated tokens). */
export function splitIntoTokens(text: string): string[] {
  const pieces: string[] = [];
  for (let offset = 0; offset < text.length; offset += CHARACTERS_PER_TOKEN) {
    pieces.push(text.slice(offset, offset + CHARACTERS_PER_TOKEN));
  }
  return pieces;
}
