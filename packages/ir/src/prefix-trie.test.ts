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

  it("stays iterative on long chains", () => {
    const trie = new PrefixTrie();
    let text = "";
    for (let index = 0; index < 5000; index += 1) {
      text += "x";
      trie.insert(text);
    }
    expect(trie.statistics()).toMatchObject({ distinctStrings: 5000, uniqueChars: 5000 });
    expect(trie.statistics().longestSharedPrefix).toHaveLength(4999);
  });
});
