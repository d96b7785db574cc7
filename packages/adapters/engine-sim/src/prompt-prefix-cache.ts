import { createHash } from "node:crypto";
import { CHARACTERS_PER_TOKEN } from "./approximate-tokenizer.js";

/**
 * The simulated engine's automatic prefix cache over item prompts, as serving
 * engines have one (vLLM's automatic prefix caching, SGLang's radix cache): the
 * KV of a prompt's leading text is kept after its batch, and a later prompt —
 * or another prompt of the same batch — that begins with the same text reuses
 * it instead of prefilling it. Granularity is whole lines (a real engine's is
 * a KV block of 16 tokens or one token; lines keep the bookkeeping small and
 * the hits honest: only complete `name: value` lines are shared). Each cached
 * line is keyed by a hash chained over the model, the item's shared prefix and
 * every line before it, so a line is only reused after the same text. Entries
 * are evicted least recently used first beyond `capacityTokens`.
 */
export class PromptPrefixCache {
  /** Chained line key → the line's own tokens; insertion order is recency. */
  private readonly lines = new Map<string, number>();
  private tokens = 0;

  constructor(private readonly capacityTokens: number) {}

  /** Tokens held. */
  get size(): number {
    return this.tokens;
  }

  /**
   * Looks a prompt up and caches its whole lines: returns the tokens of its
   * longest cached leading lines (reused, not prefilled). `scope` is what
   * precedes the prompt (model and shared prefix): prompts share lines only
   * within one scope. Calling it item after item of a batch prefills a line
   * several items share once, whatever their order.
   */
  lookupAndInsert(scope: string, prompt: string): number {
    let key = createHash("sha256").update(scope).digest("hex");
    let reusedChars = 0;
    let missed = false;
    let start = 0;
    for (let end = prompt.indexOf("\n"); end >= 0; end = prompt.indexOf("\n", start)) {
      const line = prompt.slice(start, end + 1);
      key = createHash("sha256").update(key).update(line).digest("hex");
      const held = this.lines.get(key);
      if (held !== undefined && !missed) {
        reusedChars = end + 1;
        // Most recently used last.
        this.lines.delete(key);
        this.lines.set(key, held);
      } else {
        missed = true;
        const lineTokens = Math.max(1, Math.ceil(line.length / CHARACTERS_PER_TOKEN));
        if (held !== undefined) this.lines.delete(key);
        else this.tokens += lineTokens;
        this.lines.set(key, lineTokens);
      }
      start = end + 1;
    }
    this.evict();
    return Math.floor(reusedChars / CHARACTERS_PER_TOKEN);
  }

  clear(): void {
    this.lines.clear();
    this.tokens = 0;
  }

  private evict(): void {
    for (const [key, lineTokens] of this.lines) {
      if (this.tokens <= this.capacityTokens) return;
      this.lines.delete(key);
      this.tokens -= lineTokens;
    }
  }
}
