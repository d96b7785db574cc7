/**
 * A small seeded pseudo-random generator (sfc32 core, seeded through FNV-1a and
 * splitmix32). Every dataset table and query generator draws from its own
 * stream, named by parts such as `("tpch", seed, "orders")`, so a table's rows
 * depend only on (dataset, scale, seed) and never on the order tables are built.
 */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** A stream identified by its parts (numbers and strings, joined as text). */
  constructor(...parts: readonly (string | number)[]) {
    let state = fnv1a(parts.join("\u0000"));
    const nextWord = (): number => {
      // splitmix32: spreads one 32-bit hash into independent state words.
      state = (state + 0x9e3779b9) | 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = nextWord();
    this.b = nextWord();
    this.c = nextWord();
    this.d = nextWord();
    // Discard the first outputs: sfc32 mixes weakly right after seeding.
    for (let index = 0; index < 12; index++) this.nextUint32();
  }

  /** The next 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** An integer in [min, max], both inclusive. */
  integer(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with the given probability. */
  chance(probability: number): boolean {
    return this.next() < probability;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error("SeededRandom.pick needs a non-empty list");
    return item;
  }

  /** `count` distinct elements of `items`, in draw order (partial Fisher-Yates). */
  sample<T>(items: readonly T[], count: number): T[] {
    const pool = [...items];
    const taken = Math.min(count, pool.length);
    for (let index = 0; index < taken; index++) {
      const swapWith = index + Math.floor(this.next() * (pool.length - index));
      const current = pool[index] as T;
      pool[index] = pool[swapWith] as T;
      pool[swapWith] = current;
    }
    return pool.slice(0, taken);
  }

  /** A value from a roughly normal distribution (sum of uniforms), clamped to [min, max]. */
  normal(mean: number, deviation: number, min: number, max: number): number {
    const sum = this.next() + this.next() + this.next() + this.next() + this.next() + this.next();
    const value = mean + (sum - 3) * deviation * Math.SQRT2;
    return Math.min(max, Math.max(min, value));
  }
}

/** 32-bit FNV-1a hash of a string's UTF-16 code units. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
