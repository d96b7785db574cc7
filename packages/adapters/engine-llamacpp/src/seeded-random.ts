import { createHash } from "node:crypto";

/**
 * xoshiro128** seeded from the SHA-256 of a label: fast, and the same label gives the
 * same stream on every platform (synthesized models must be byte-for-byte reproducible).
 */
export class SeededRandom {
  private state0: number;
  private state1: number;
  private state2: number;
  private state3: number;

  constructor(label: string) {
    const digest = createHash("sha256").update(label, "utf8").digest();
    this.state0 = digest.readUInt32LE(0);
    this.state1 = digest.readUInt32LE(4);
    this.state2 = digest.readUInt32LE(8);
    this.state3 = digest.readUInt32LE(12);
    // The all-zero state is the generator's only fixed point.
    if ((this.state0 | this.state1 | this.state2 | this.state3) === 0) this.state0 = 1;
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotateLeft(Math.imul(this.state1, 5), 7), 9);
    const shifted = this.state1 << 9;
    this.state2 ^= this.state0;
    this.state3 ^= this.state1;
    this.state1 ^= this.state2;
    this.state0 ^= this.state3;
    this.state2 ^= shifted;
    this.state3 = rotateLeft(this.state3, 11);
    return result >>> 0;
  }

  /** Fills `target` with random bytes (little-endian order of successive 32-bit draws). */
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

function rotateLeft(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}
