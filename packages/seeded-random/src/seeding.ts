import { createHash } from "node:crypto";

/** Four 32-bit words of generator state. */
export type State128 = readonly [number, number, number, number];

/** cyrb128: four 32-bit words from a string (a multiply-xorshift hash over its UTF-16 code units, four lanes). */
export function cyrb128(text: string): [number, number, number, number] {
  let h1 = 0x6a09e667;
  let h2 = 0xbb67ae85;
  let h3 = 0x3c6ef372;
  let h4 = 0xa54ff53a;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    h1 = h2 ^ Math.imul(h1 ^ code, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ code, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ code, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ code, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/** 32-bit FNV-1a hash of a string's UTF-16 code units. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** splitmix32: `count` well-spread 32-bit words from one 32-bit seed. */
export function splitmix32(seed: number, count: number): number[] {
  let state = seed | 0;
  const words: number[] = [];
  for (let index = 0; index < count; index++) {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    words.push((z ^ (z >>> 16)) >>> 0);
  }
  return words;
}

/** The first four little-endian 32-bit words of the SHA-256 of a string (UTF-8). */
export function sha256State(text: string): [number, number, number, number] {
  const digest = createHash("sha256").update(text, "utf8").digest();
  return [digest.readUInt32LE(0), digest.readUInt32LE(4), digest.readUInt32LE(8), digest.readUInt32LE(12)];
}

/**
 * A 32-bit seed derived from any parts (strings, numbers) through SHA-256: equal parts, equal
 * seed; `1` and `"1"` differ (each part is hashed with its type).
 */
export function seedFromParts(...parts: readonly (string | number)[]): number {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(`${typeof part}:${String(part)}\u0000`);
  return hash.digest().readUInt32LE(0);
}
