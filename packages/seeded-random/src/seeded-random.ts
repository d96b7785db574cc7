/** A source of floats in [0, 1). */
export type RandomSource = () => number;

/**
 * A seeded generator: subclasses give 32-bit words (`nextUint32`); floats, integers, picks,
 * samples and bytes are built on them the same way for every generator. Deterministic: the same
 * seed gives the same values on every platform. Not for cryptography.
 */
export abstract class SeededRandom {
  /** The next 32 random bits as an unsigned integer. */
  abstract nextUint32(): number;

  /** A float in [0, 1): the next word ÷ 2³². */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** This generator as a function of floats in [0, 1). */
  source(): RandomSource {
    return () => this.next();
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

  /** A value from a roughly normal distribution (sum of six uniforms), clamped to [min, max]. */
  normal(mean: number, deviation: number, min: number, max: number): number {
    const sum = this.next() + this.next() + this.next() + this.next() + this.next() + this.next();
    const value = mean + (sum - 3) * deviation * Math.SQRT2;
    return Math.min(max, Math.max(min, value));
  }

  /** Fills `target[offset, offset + length)` with random bytes (successive words, little-endian). */
  fillBytes(target: Uint8Array, offset = 0, length = target.length - offset): void {
    const end = offset + length;
    let index = offset;
    while (index < end) {
      const word = this.nextUint32();
      for (let shift = 0; shift < 32 && index < end; shift += 8) {
        target[index] = (word >>> shift) & 0xff;
        index += 1;
      }
    }
  }
}
