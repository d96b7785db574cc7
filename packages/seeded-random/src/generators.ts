import { SeededRandom } from "./seeded-random.js";
import { cyrb128, fnv1a32, type State128, sha256State, splitmix32 } from "./seeding.js";

/** mulberry32 (Tommy Ettinger): one 32-bit word of state; small and fast, for tests and simulations. */
export class Mulberry32 extends SeededRandom {
  private state: number;

  constructor(seed: number) {
    super();
    this.state = seed >>> 0;
  }

  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let value = this.state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return (value ^ (value >>> 14)) >>> 0;
  }
}

/** sfc32 (Chris Doty-Humphrey's Small Fast Counting generator): 128 bits of state. */
export class Sfc32 extends SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /**
   * A generator from four state words; `discard` first outputs are dropped (a freshly seeded
   * state mixes weakly: the seeding helpers below discard 12).
   */
  constructor(state: State128, discard = 0) {
    super();
    [this.a, this.b, this.c, this.d] = state;
    for (let index = 0; index < discard; index++) this.nextUint32();
  }

  /** A stream named by a string (hashed with cyrb128), its first 12 outputs discarded. */
  static fromString(seed: string): Sfc32 {
    return new Sfc32(cyrb128(seed), 12);
  }

  /**
   * A stream named by parts (numbers and strings joined with NUL, hashed with FNV-1a and spread
   * with splitmix32), its first 12 outputs discarded: `("tpch", seed, "orders")`.
   */
  static fromParts(...parts: readonly (string | number)[]): Sfc32 {
    const [a, b, c, d] = splitmix32(fnv1a32(parts.join("\u0000")), 4) as [number, number, number, number];
    return new Sfc32([a, b, c, d], 12);
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
}

/** xoshiro128** (Blackman and Vigna): 128 bits of state, fast; for bulk bytes such as model weights. */
export class Xoshiro128StarStar extends SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** From four state words, or from a label (the first 16 bytes of its SHA-256). */
  constructor(seed: State128 | string) {
    super();
    [this.s0, this.s1, this.s2, this.s3] = typeof seed === "string" ? sha256State(seed) : seed;
    // The all-zero state is the generator's only fixed point.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  nextUint32(): number {
    const result = Math.imul(rotateLeft(Math.imul(this.s1, 5), 7), 9);
    const shifted = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= shifted;
    this.s3 = rotateLeft(this.s3, 11);
    return result >>> 0;
  }
}

function rotateLeft(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

/** mulberry32 as a function of floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  return new Mulberry32(seed).source();
}

/** sfc32 seeded from a string ({@link Sfc32.fromString}) as a function of floats in [0, 1). */
export function sfc32(seed: string): () => number {
  return Sfc32.fromString(seed).source();
}

/** xoshiro128** seeded from a label ({@link Xoshiro128StarStar}) as a function of floats in [0, 1). */
export function xoshiro128ss(label: string): () => number {
  return new Xoshiro128StarStar(label).source();
}
