/**
 * Prefix reuse beyond the static prefix: which ready calls of an operator go
 * into one micro-batch, and in which order, so that calls whose prompts begin
 * with the same lines (the same tool result, the same derived parameters) meet
 * in one engine batch or follow each other, and the engine's prefix cache
 * (vLLM's automatic prefix caching, SGLang's radix cache, engine-sim's line
 * cache) prefills those lines once. In the spirit of GGR — reordering rows and
 * fields for prefix hits in relational LLM queries (Liu et al., "Optimizing
 * LLM Queries in Relational Data Analytics Workloads", MLSys 2025) — applied
 * online, one micro-batch at a time:
 *
 * - the oldest ready call is always taken, so no call waits behind later ones
 *   for more than one batch per call ahead of it, and batch sizes do not change;
 * - the other places go to the calls of the look-ahead window that share the
 *   most whole leading lines with the calls already taken (ties: oldest
 *   first); when no call left shares a line with them, in queue order;
 * - the batch is sent with calls sharing prefixes next to each other (when every
 *   ready call fits in one batch, they are all taken in queue order, unsorted).
 *
 * It only chooses among calls that are ready: it never waits for a group to
 * fill, so it cannot delay a dispatch.
 */

/**
 * Characters of the longest common prefix of `a` and `b` that ends right after
 * a newline (whole lines only); 0 when their first lines differ.
 */
export function sharedLinePrefixLength(a: string, b: string): number {
  const limit = Math.min(a.length, b.length);
  let lineEnd = 0;
  for (let index = 0; index < limit; index++) {
    const char = a.charCodeAt(index);
    if (char !== b.charCodeAt(index)) break;
    if (char === 10) lineEnd = index + 1;
  }
  return lineEnd;
}

/** Options of {@link selectPrefixGroup}. */
export interface PrefixGroupOptions<T> {
  /** The part of the prompt that differs between calls (the suffix when the static prefix is shared). */
  readonly promptOf: (item: T) => string;
  /** Most items in the batch. */
  readonly cap: number;
  /** Whether one more item fits beside `taken` (the token limit); the first item always fits. */
  readonly fits?: (taken: readonly T[], next: T) => boolean;
}

/**
 * Chooses a micro-batch from `window` (ready items, oldest first) and orders
 * it: see the module comment. The window is sorted by prompt text, so calls
 * with common lines are neighbours; the batch grows from the oldest call's
 * place to whichever neighbour shares more whole lines with the run taken so
 * far (a run of sorted texts shares with an outside text exactly what its
 * boundary neighbour does). Once neither neighbour shares a line, the other
 * places are filled in queue order. Cost: one sort of the window.
 * Returns the chosen items in send order and the rest in their original order.
 */
export function selectPrefixGroup<T>(
  window: readonly T[],
  options: PrefixGroupOptions<T>,
): { readonly batch: T[]; readonly rest: T[] } {
  if (window.length === 0) return { batch: [], rest: [] };
  const cap = Math.max(1, options.cap);
  if (window.length <= cap && fitsAll(window, options.fits)) {
    // Every ready call fits: there is nothing to choose, and no sort to pay for.
    return { batch: [...window], rest: [] };
  }
  const prompts = window.map((item) => options.promptOf(item));
  const sorted = window
    .map((_, index) => index)
    .sort((a, b) => compareText(prompts[a]!, prompts[b]!) || a - b);
  const taken: number[] = [];
  const isTaken = new Array<boolean>(window.length).fill(false);
  const take = (index: number): boolean => {
    if (
      taken.length > 0 &&
      options.fits !== undefined &&
      !options.fits(
        taken.map((position) => window[position]!),
        window[index]!,
      )
    )
      return false;
    taken.push(index);
    isTaken[index] = true;
    return true;
  };
  take(0);
  let low = sorted.indexOf(0);
  let high = low;
  let full = false;
  while (!full && taken.length < cap) {
    const left = low > 0 ? sharedLinePrefixLength(prompts[sorted[low - 1]!]!, prompts[sorted[low]!]!) : 0;
    const right =
      high < sorted.length - 1
        ? sharedLinePrefixLength(prompts[sorted[high]!]!, prompts[sorted[high + 1]!]!)
        : 0;
    if (left === 0 && right === 0) break;
    // The larger share wins; on a tie the older call.
    const goLeft = left > right || (left === right && sorted[low - 1]! < sorted[high + 1]!);
    if (goLeft) full = !take(sorted[--low]!);
    else full = !take(sorted[++high]!);
  }
  for (let index = 1; !full && taken.length < cap && index < window.length; index++) {
    if (!isTaken[index]) full = !take(index);
  }
  // Send order: calls with shared lines next to each other.
  const batch = [...taken].sort((a, b) => compareText(prompts[a]!, prompts[b]!) || a - b);
  return {
    batch: batch.map((index) => window[index]!),
    rest: window.filter((_, index) => !isTaken[index]),
  };
}

function fitsAll<T>(window: readonly T[], fits: PrefixGroupOptions<T>["fits"]): boolean {
  if (fits === undefined) return true;
  for (let index = 1; index < window.length; index++)
    if (!fits(window.slice(0, index), window[index]!)) return false;
  return true;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
