import { describe, expect, it } from "vitest";
import { decodeKvEnvelope, encodeKvEnvelope, InvalidKvEnvelopeError } from "./kv-envelope.js";

const header = { model: "halo/tiny", modelFingerprint: "abc", tokens: 3 };
const payload = Uint8Array.from({ length: 1000 }, (_, index) => index % 251);

function expectInvalid(bytes: Uint8Array, message: RegExp): void {
  expect(() => decodeKvEnvelope(bytes)).toThrow(InvalidKvEnvelopeError);
  expect(() => decodeKvEnvelope(bytes)).toThrow(message);
}

describe("KV envelope", () => {
  it("round-trips header and payload", () => {
    const decoded = decodeKvEnvelope(encodeKvEnvelope(header, payload));
    expect(decoded.header).toMatchObject({ ...header, payloadBytes: 1000 });
    expect(decoded.header.payloadSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Buffer.from(decoded.payload).equals(Buffer.from(payload))).toBe(true);
  });

  it("rejects corrupted, truncated, extended and foreign bytes", () => {
    const valid = encodeKvEnvelope(header, payload);
    const flipped = Uint8Array.from(valid);
    flipped[valid.length - 10] = flipped[valid.length - 10]! ^ 0x01;
    expectInvalid(flipped, /checksum/);
    expectInvalid(valid.subarray(0, valid.length - 1), /truncated/);
    expectInvalid(Buffer.concat([valid, Buffer.from([0])]), /header says 1000/);
    expectInvalid(new Uint8Array(0), /too few/);
    expectInvalid(Buffer.from("GGUF....plus some more bytes"), /not a Halo KV export/);
    const badVersion = Uint8Array.from(valid);
    badVersion[6] = 9;
    expectInvalid(badVersion, /version 9/);
    const headerCut = Uint8Array.from(valid.subarray(0, 20));
    expectInvalid(headerCut, /header is truncated/);
    const headerFlipped = Uint8Array.from(valid);
    headerFlipped[14] = 0x7b; // a brace inside the JSON header
    expectInvalid(headerFlipped, /header is corrupted/);
  });

  it("rejects a header of the wrong shape", () => {
    const json = Buffer.from(JSON.stringify({ model: 1 }));
    const prelude = Buffer.alloc(12);
    Buffer.from("HALOKV").copy(prelude);
    prelude.writeUInt16LE(1, 6);
    prelude.writeUInt32LE(json.length, 8);
    expectInvalid(Buffer.concat([prelude, json]), /header is corrupted/);
  });
});
