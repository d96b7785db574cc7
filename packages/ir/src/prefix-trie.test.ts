import { describe, expect, it } from "vitest";
import { PrefixTrie } from "./prefix-trie.js";

describe("PrefixTrie", () => {
  it("measures shared prefixes over distinct and repeated strings", () => {
    const trie = new PrefixTrie();
    for (const text of [
      "region=ASIA year=1994",
      "region=ASIA year=1995",
      "region=EUROPE",
      "region=ASIA year=1994",
    ]) {
      trie.insert(text);
    }
    expect(trie.statistics()).toEqual({
      strings: 4,
      distinctStrings: 3,
      totalChars: 21 * 3 + 13,
      uniqueChars: "region=ASIA year=199".length + 1 + 1 + "EUROPE".length,
      commonPrefix: "region=",
      longestSharedPrefix: "region=ASIA year=199",
    });
    expect(trie.has("region=ASIA year=1994")).toBe(true);
    expect(trie.has("region=ASIA")).toBe(false);
    expect(trie.matchLength("region=ASIA year=2000")).toBe("region=ASIA year=".length);
    expect(trie.matchLength("zzz")).toBe(0);
  });

  it("handles prefixes of other strings, empty strings and an empty trie", () => {
    const trie = new PrefixTrie();
    expect(trie.statistics()).toMatchObject({
      strings: 0,
      distinctStrings: 0,
      commonPrefix: "",
      longestSharedPrefix: "",
    });
    trie.insert("abc");
    trie.insert("ab");
    trie.insert("abcd");
    expect(trie.has("ab") && trie.has("abc") && trie.has("abcd")).toBe(true);
    expect(trie.statistics()).toMatchObject({
      distinctStrings: 3,
      commonPrefix: "ab",
      longestSharedPrefix: "abc",
      uniqueChars: 4,
    });
    trie.insert("");
    expect(trie.statistics()).toMatchObject({ strings: 4, distinctStrings: 4, commonPrefix: "" });
    expect(trie.has("")).toBe(true);
  });

  // No timing here: the chain is deeper than this process's stack allows a recursion to go (measured
  // first, with a minimal recursive function), so a recursive walk would throw RangeError. The
  // timeout is generous because building the chain costs O(depth²) character comparisons.
  it("stays iterative on chains deeper than the stack", () => {
    const depth = recursionLimit() + 1_000;
    const trie = new PrefixTrie();
    // Longest first: each insert splits one edge, so the build visits few nodes, yet ends with one node per length.
    for (let length = depth; length >= 1; length -= 1) trie.insert("x".repeat(length));
    const longest = "x".repeat(depth);
    trie.insert(longest);
    expect(trie.has(longest)).toBe(true);
    expect(trie.matchLength(`${longest}y`)).toBe(depth);
    const statistics = trie.statistics();
    expect(statistics).toMatchObject({ distinctStrings: depth, uniqueChars: depth });
    expect(statistics.longestSharedPrefix).toHaveLength(depth - 1);
  }, 300_000);
});

/** How deep a minimal recursive function can go on this thread's stack. */
function recursionLimit(): number {
  let frames = 0;
  const descend = (): number => {
    frames += 1;
    return descend() + 1;
  };
  try {
    descend();
  } catch {
    // RangeError: the stack is full; `frames` is how deep it went.
  }
  return frames;
}
