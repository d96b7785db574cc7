import { describe, expect, it } from "vitest";
import { InvalidSequenceStateError, parseSequenceState, reframeSequenceState } from "./sequence-state.js";

/** A state file as llama.cpp writes it: `tokens`, then `streams` blocks where `filled` holds `block`. */
function stateBytes(tokens: number[], streams: number, filled: number, block: number[]): Uint8Array {
  const words = [0x67677371, 3, tokens.length, ...tokens, streams];
  const bytes: number[] = [];
  const pushWord = (word: number) =>
    bytes.push(word & 0xff, (word >>> 8) & 0xff, (word >>> 16) & 0xff, word >>> 24);
  for (const word of words) pushWord(word);
  for (let stream = 0; stream < streams; stream += 1) {
    if (stream === filled) bytes.push(...block);
    else pushWord(0);
  }
  return Uint8Array.from(bytes);
}

// A block starts with its (non-zero) cell count; its content is opaque here.
const block = [2, 0, 0, 0, 9, 8, 7, 6, 0, 0, 0, 0];

describe("parseSequenceState", () => {
  it("finds the tokens and the one non-empty stream", () => {
    const layout = parseSequenceState(stateBytes([1, 450, 29871], 4, 2, block));
    expect(Array.from(layout.tokens)).toEqual([1, 450, 29871]);
    expect(layout.streamCount).toBe(4);
    expect(layout.version).toBe(3);
    expect(layout.blockLength).toBe(block.length);
  });

  it("accepts a state whose streams are all empty", () => {
    expect(parseSequenceState(stateBytes([], 2, -1, [])).blockLength).toBe(0);
  });

  it("rejects what is not a sequence state", () => {
    const valid = stateBytes([1, 2], 2, 0, block);
    const wrongMagic = Uint8Array.from(valid);
    wrongMagic[0] = 0;
    const tooManyTokens = Uint8Array.from(valid);
    tooManyTokens[8] = 200;
    const noStreams = stateBytes([1], 0, -1, []);
    const twoFilled = Uint8Array.from([...stateBytes([1], 3, 0, block), 1, 0, 0, 0]);
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array(8), /too short/],
      [wrongMagic, /not a llama\.cpp sequence state/],
      [tooManyTokens, /claims 200 tokens/],
      [noStreams, /0 KV streams/],
      [twoFilled, /more than one KV stream/],
      [Uint8Array.from([...stateBytes([1], 1, -1, []), 5]), /truncated|follow/],
    ];
    for (const [bytes, message] of cases) {
      expect(() => parseSequenceState(bytes)).toThrow(InvalidSequenceStateError);
      expect(() => parseSequenceState(bytes)).toThrow(message);
    }
  });
});

describe("reframeSequenceState", () => {
  it("rewrites the stream count and keeps the block and tokens", () => {
    const original = stateBytes([1, 2, 3], 8, 5, block);
    const single = reframeSequenceState(original, 1);
    expect(single).toEqual(stateBytes([1, 2, 3], 1, 0, block));
    const expanded = reframeSequenceState(single, 3);
    expect(expanded).toEqual(stateBytes([1, 2, 3], 3, 0, block));
    expect(parseSequenceState(expanded).blockLength).toBe(block.length);
  });

  it("rejects a bad stream count", () => {
    expect(() => reframeSequenceState(stateBytes([1], 1, 0, block), 0)).toThrow(RangeError);
  });
});
