import { describe, expect, it } from "vitest";
import { selectPrefixGroup, sharedLinePrefixLength } from "./prefix-reuse.js";

interface Item {
  readonly id: string;
  readonly prompt: string;
}
const item = (id: string, prompt: string): Item => ({ id, prompt });
const ids = (items: readonly { id: string }[]) => items.map((entry) => entry.id);
const select = (window: Item[], cap: number, maxItemsBySize?: number) =>
  selectPrefixGroup<Item>(window, {
    cap,
    promptOf: (entry) => entry.prompt,
    ...(maxItemsBySize === undefined
      ? {}
      : { fits: (taken: readonly Item[]) => taken.length < maxItemsBySize }),
  });

describe("shared line prefixes", () => {
  it("counts whole lines only", () => {
    expect(sharedLinePrefixLength("a: 1\nb: 2\nq: x\n", "a: 1\nb: 2\nq: y\n")).toBe(10);
    expect(sharedLinePrefixLength("a: 1\nb: 2\n", "a: 1\nb: 3\n")).toBe(5);
    expect(sharedLinePrefixLength("a: 12\n", "a: 1\n")).toBe(0);
    expect(sharedLinePrefixLength("same\n", "same\n")).toBe(5);
    expect(sharedLinePrefixLength("", "x\n")).toBe(0);
  });
});

describe("grouping a micro-batch by shared prefix", () => {
  it("takes the oldest call and the calls sharing the most lines with it, keeping the batch size", () => {
    const window = [
      item("q1", "year: 1994\nq: a\n"),
      item("q2", "year: 1995\nq: b\n"),
      item("q3", "year: 1994\nq: c\n"),
      item("q4", "year: 1996\nq: d\n"),
      item("q5", "year: 1994\nq: e\n"),
    ];
    const { batch, rest } = select(window, 3);
    expect(ids(batch)).toEqual(["q1", "q3", "q5"]);
    expect(ids(rest)).toEqual(["q2", "q4"]);
  });

  it("prefers the longer shared prefix, then fills in queue order when nothing is shared", () => {
    const window = [
      item("q1", "t: A\nu: 1\nq: a\n"),
      item("q2", "t: B\nq: b\n"),
      item("q3", "t: A\nu: 2\nq: c\n"),
      item("q4", "t: A\nu: 1\nq: d\n"),
      item("q5", "t: C\nq: e\n"),
    ];
    // q4 shares two lines with q1, q3 one; then nothing else shares a line: q2 (oldest) fills the last place.
    expect(ids(select(window, 4).batch).sort()).toEqual(["q1", "q2", "q3", "q4"]);
    expect(ids(select(window, 2).batch)).toEqual(["q1", "q4"]);
  });

  it("is queue order when no prompt shares a line, and sends shared prefixes next to each other", () => {
    const window = [item("q1", "z\n"), item("q2", "y\n"), item("q3", "x\n")];
    const { batch, rest } = select(window, 2);
    expect(ids(batch).sort()).toEqual(["q1", "q2"]);
    expect(ids(rest)).toEqual(["q3"]);
    const grouped = select(
      [
        item("a", "k: 2\nq: 1\n"),
        item("b", "k: 1\nq: 2\n"),
        item("c", "k: 2\nq: 3\n"),
        item("d", "k: 1\nq: 4\n"),
        item("e", "k: 3\nq: 5\n"),
      ],
      4,
    );
    const keys = grouped.batch.map((entry) => entry.prompt.slice(0, 5));
    expect(keys).toEqual(["k: 1\n", "k: 1\n", "k: 2\n", "k: 2\n"]);
  });

  it("takes every ready call in queue order when all fit in one batch", () => {
    const window = [item("q1", "b\n"), item("q2", "a\n"), item("q3", "b\n")];
    expect(ids(select(window, 3).batch)).toEqual(["q1", "q2", "q3"]);
  });

  it("always takes the oldest call, and stops at the token limit", () => {
    const window = [item("q1", "a\n"), item("q2", "b\nx\n"), item("q3", "b\ny\n"), item("q4", "b\nz\n")];
    expect(ids(select(window, 2).batch)).toContain("q1");
    const limited = select(window, 4, 2);
    expect(limited.batch).toHaveLength(2);
    expect(limited.rest).toHaveLength(2);
    expect(select([], 3)).toEqual({ batch: [], rest: [] });
  });
});
