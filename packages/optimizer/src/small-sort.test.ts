import { describe, expect, it } from "vitest";
import { sortSmall } from "./small-sort.js";

describe("sortSmall", () => {
  it("orders like Array.prototype.sort, stably, on seeded arrays with ties", () => {
    let seed = 7;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed;
    };
    for (let trial = 0; trial < 200; trial++) {
      const items = Array.from({ length: trial % 17 }, (_, id) => ({ id, key: next() % 5 }));
      const compare = (left: { key: number }, right: { key: number }) => left.key - right.key;
      expect(sortSmall([...items], compare)).toEqual([...items].sort(compare));
    }
  });
});
