import { describe, expect, it } from "vitest";
import { KvStore } from "./kv-store.js";

const entry = (key: string, bytes: number) => ({ key, model: "m", tokens: bytes / 10, bytes });

describe("KvStore", () => {
  it("evicts least recently used entries above the budget", () => {
    const store = new KvStore(250);
    store.sync([entry("a", 100), entry("b", 100)]);
    expect(store.victims()).toEqual([]);
    store.touch("a");
    store.sync([entry("a", 100), entry("b", 100), entry("c", 100)]);
    expect(store.totalBytes).toBe(300);
    expect(store.victims()).toEqual(["b"]);
    store.remove("b", true);
    expect(store.evictions).toBe(1);
    expect(store.list().map((tracked) => tracked.key)).toEqual(["a", "c"]);
  });

  it("evicts keys wanted by queued work last", () => {
    const store = new KvStore(100);
    store.sync([entry("a", 100), entry("b", 100), entry("c", 100)]);
    expect(store.victims(new Set(["a"]))).toEqual(["b", "c"]);
    expect(store.victims(new Set(["a", "b", "c"]))).toEqual(["a", "b"]);
  });

  it("forgets entries the engine no longer holds and adopts the engine's sizes", () => {
    const store = new KvStore(1_000);
    store.sync([entry("a", 100), entry("b", 100)]);
    store.sync([entry("b", 300)]);
    expect(store.list()).toEqual([entry("b", 300)]);
    expect(store.has("a")).toBe(false);
  });

  it("holds a key to the text it was first used with until it is removed", () => {
    const store = new KvStore(1_000);
    expect(store.claimText("k", "digest-1")).toBe(true);
    expect(store.claimText("k", "digest-1")).toBe(true);
    expect(store.claimText("k", "digest-2")).toBe(false);
    store.remove("k");
    expect(store.claimText("k", "digest-2")).toBe(true);
  });

  it("rejects a negative budget", () => {
    expect(() => new KvStore(-1)).toThrow(/KV budget/);
  });
});
