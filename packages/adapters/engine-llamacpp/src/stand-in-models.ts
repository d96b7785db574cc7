/** Vocabulary size of every synthesized model (the LLaMA-2 tokenizer). */
export const synthesizedVocabularySize = 32000;

/** Context length written into synthesized models (enough for 1024-token KV migrations plus prompts). */
export const synthesizedContextLength = 4096;

/** Longer stand-in contexts come in steps of this many tokens (so a few sizes share cache files). */
export const synthesizedContextStep = 4096;

/** The longest context a stand-in is synthesized with (128K tokens, like long-context originals). */
export const maxSynthesizedContextLength = 131072;

/**
 * The trained context of a stand-in that must hold `tokens` per sequence: `tokens`
 * rounded up to a multiple of 4096, at least the default 4096, at most 131072.
 * Throws a RangeError (naming the limit) for anything else.
 */
export function standInContextLength(tokens: number): number {
  if (!Number.isSafeInteger(tokens) || tokens < 1) {
    throw new RangeError(`a context length must be a positive integer (got ${tokens})`);
  }
  if (tokens > maxSynthesizedContextLength) {
    throw new RangeError(
      `a synthesized model's context can be at most ${maxSynthesizedContextLength} tokens (got ${tokens})`,
    );
  }
  const rounded = Math.ceil(tokens / synthesizedContextStep) * synthesizedContextStep;
  return Math.max(synthesizedContextLength, rounded);
}

/** Named models whose stand-ins keep the originals' relative sizes (1B of the original → 1M parameters). */
export const standInModels: readonly { readonly name: string; readonly parameterCount: number }[] = [
  { name: "halo/tiny", parameterCount: 2_000_000 },
  { name: "Qwen/Qwen3-14B", parameterCount: 14_000_000 },
  { name: "openai/gpt-oss-20b", parameterCount: 20_000_000 },
  { name: "Qwen/Qwen3-32B", parameterCount: 32_000_000 },
];

/** Shape of a synthesized LLaMA-architecture model. */
export interface LlamaArchitecture {
  readonly vocabularySize: number;
  readonly embeddingLength: number;
  readonly blockCount: number;
  readonly feedForwardLength: number;
  readonly headCount: number;
  readonly headCountKv: number;
  readonly headDimension: number;
  readonly contextLength: number;
}

/** The smallest stand-in: the narrowest embedding (64 wide) and two blocks, about 2.1M parameters. */
export const smallestParameterCount = 2_000_000;
const largestParameterCount = 2_000_000_000;

/**
 * Reads a parameter count such as `14M`, `1.5B`, `500K` or `2000000`.
 * Returns undefined when the text is not one.
 */
export function parseParameterCount(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kKmMbB]?)\s*$/.exec(text);
  if (!match) return undefined;
  const multipliers: Record<string, number> = { "": 1, k: 1e3, m: 1e6, b: 1e9 };
  const value = Number(match[1]) * multipliers[match[2]!.toLowerCase()]!;
  return Number.isFinite(value) && value > 0 ? Math.round(value) : undefined;
}

/** Formats a parameter count compactly: `14M`, `2.5M`, `800K`. */
export function formatParameterCount(parameterCount: number): string {
  if (parameterCount >= 1e9 && parameterCount % 1e7 === 0) return `${parameterCount / 1e9}B`;
  if (parameterCount >= 1e6 && parameterCount % 1e4 === 0) return `${parameterCount / 1e6}M`;
  if (parameterCount >= 1e3 && parameterCount % 10 === 0) return `${parameterCount / 1e3}K`;
  return String(parameterCount);
}

/**
 * The stand-in parameter count for a model name: the table above, else the count
 * in the name (`…-7B`, `…-8x7B`, `…-0.5b`) read in millions. Undefined when the
 * name carries no count.
 */
export function standInParameterCount(name: string): number | undefined {
  const known = standInModels.find((model) => model.name === name);
  if (known) return known.parameterCount;
  // The count must start a word (so `A3B` in `Qwen3-30B-A3B` is not read) and end one.
  const match = /(?:^|[^a-z0-9.])(?:(\d+)x)?(\d+(?:\.\d+)?)b(?![a-z0-9])/i.exec(name);
  if (!match) return undefined;
  const experts = match[1] === undefined ? 1 : Number(match[1]);
  const billions = Number(match[2]) * experts;
  // Below 2B the stand-in would be smaller than the 32000-token embedding allows.
  return Math.max(smallestParameterCount, Math.round(billions * 1e6));
}

/** Parameters of a LLaMA model of this shape (the output projection is tied to the embedding). */
export function countParameters(architecture: LlamaArchitecture): number {
  const { vocabularySize, embeddingLength, blockCount, feedForwardLength, headCountKv, headDimension } =
    architecture;
  const attentionWidth = architecture.headCount * headDimension;
  const kvWidth = headCountKv * headDimension;
  const perBlock =
    embeddingLength * attentionWidth * 2 + // q and output
    embeddingLength * kvWidth * 2 + // k and v
    embeddingLength * feedForwardLength * 3 + // gate, up, down
    embeddingLength * 2; // the two norms
  return vocabularySize * embeddingLength + blockCount * perBlock + embeddingLength;
}

/**
 * Head size grows with width like real families (64 for most stand-ins, 128 for wide
 * ones): attention work per KV cell has a fixed cost on CPU, so tiny heads would make
 * attention, which batching cannot share, dominate decoding.
 */
function headDimensionFor(embeddingLength: number): number {
  if (embeddingLength >= 1024) return 128;
  return embeddingLength >= 256 ? 64 : 32;
}

function shapeFor(
  embeddingLength: number,
  blockCount: number,
  contextLength = synthesizedContextLength,
): LlamaArchitecture {
  const headDimension = headDimensionFor(embeddingLength);
  const headCount = embeddingLength / headDimension;
  // Grouped-query attention like the originals: about four query heads per KV head.
  let headCountKv = Math.max(1, Math.floor(headCount / 4));
  while (headCount % headCountKv !== 0) headCountKv -= 1;
  return {
    vocabularySize: synthesizedVocabularySize,
    embeddingLength,
    blockCount,
    feedForwardLength: embeddingLength * 3,
    headCount,
    headCountKv,
    headDimension,
    contextLength,
  };
}

/**
 * Picks the shape of a stand-in with about `parameterCount` parameters. Depth grows
 * with width (about one block per 32 of width, within a factor of two) like real model
 * families; among such shapes the one closest to the target wins. The 32000-token
 * embedding dominates small models, so the narrowest width (64) bounds the smallest
 * model at about 2.1M. The trained context (default 4096) changes no weight, only
 * how many positions the model accepts: see `standInContextLength`.
 */
export function planArchitecture(
  parameterCount: number,
  contextLength = synthesizedContextLength,
): LlamaArchitecture {
  if (standInContextLength(contextLength) !== contextLength) {
    throw new RangeError(
      `a synthesized model's context must be a multiple of ${synthesizedContextStep} in ${synthesizedContextLength}..${maxSynthesizedContextLength} (got ${contextLength})`,
    );
  }
  if (!Number.isFinite(parameterCount) || parameterCount < smallestParameterCount) {
    throw new RangeError(
      `a synthesized model needs at least ${formatParameterCount(smallestParameterCount)} parameters (got ${parameterCount})`,
    );
  }
  if (parameterCount > largestParameterCount) {
    throw new RangeError(
      `a synthesized model can have at most ${formatParameterCount(largestParameterCount)} parameters (got ${formatParameterCount(parameterCount)})`,
    );
  }
  // Among shapes within 3% of the target, the one with the most natural depth wins;
  // when none is that close (the smallest sizes), the closest one.
  const tolerance = parameterCount * 0.03;
  let best: { architecture: LlamaArchitecture; error: number; depthGap: number } | undefined;
  for (let width = 64; width <= 4096; width += 32) {
    if (width % headDimensionFor(width) !== 0) continue;
    const withoutBlocks = countParameters(shapeFor(width, 0));
    const perBlock = countParameters(shapeFor(width, 1)) - withoutBlocks;
    const naturalDepth = Math.max(2, Math.round(width / 32));
    const fitted = Math.round((parameterCount - withoutBlocks) / perBlock);
    const depth = Math.min(naturalDepth * 2, Math.max(2, Math.floor(naturalDepth / 2), fitted));
    const error = Math.abs(withoutBlocks + depth * perBlock - parameterCount);
    const depthGap = Math.abs(depth - naturalDepth);
    const better =
      best === undefined ||
      (error <= tolerance && best.error <= tolerance
        ? depthGap < best.depthGap || (depthGap === best.depthGap && error < best.error)
        : error < best.error);
    if (better) best = { architecture: shapeFor(width, depth, contextLength), error, depthGap };
  }
  return best!.architecture;
}
