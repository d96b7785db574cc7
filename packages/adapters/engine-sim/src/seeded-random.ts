import { createHash } from "node:crypto";

/** A 32-bit seed derived from any parts (strings, numbers): equal parts, equal seed. */
export function seedFrom(...parts: readonly (string | number)[]): number {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(`${typeof part}:${String(part)}\u0000`);
  return hash.digest().readUInt32LE(0);
}

/** mulberry32: a small, fast, seeded generator of numbers in [0, 1). Deterministic across platforms. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}
