import { crc32 } from "node:zlib";
import { mulberry32 as seededRandom, seedFromParts as seedFrom } from "@halo/seeded-random";

/**
 * The byte format of simulated KV exports:
 *   magic "HALOSIMKV1" (10 bytes) | header length (u32 LE) | header (JSON) |
 *   CRC-32 of header + body (u32 LE) | body
 * The body stands in for the KV tensors: deterministic bytes, sized
 * tokens × kvBytesPerToken / divisor so that migrations move real payloads
 * without moving gigabytes.
 */
const MAGIC = Buffer.from("HALOSIMKV1", "ascii");
/** Imports larger than this are refused before being buffered further. */
export const MAX_KV_PAYLOAD_BYTES = 1024 * 1024 * 1024;

/** What the header of a simulated KV payload says. */
export interface KvPayloadHeader {
  readonly model: string;
  readonly tokens: number;
  /** SHA-256 digest (hex) of the prefix text the KV was computed from. */
  readonly textDigest: string;
  readonly bodyBytes: number;
}

/** Thrown when bytes are not a valid simulated KV payload. */
export class InvalidKvPayloadError extends Error {
  override readonly name = "InvalidKvPayloadError";
}

/** Encodes a payload; the body is derived from the header so that equal prefixes give equal bytes. */
export function encodeKvPayload(header: KvPayloadHeader): Buffer {
  const headerBytes = Buffer.from(JSON.stringify(header), "utf8");
  const body = Buffer.alloc(header.bodyBytes);
  const random = seededRandom(seedFrom(header.model, header.textDigest, header.tokens));
  for (let offset = 0; offset + 4 <= body.length; offset += 4) {
    body.writeUInt32LE(Math.floor(random() * 4294967296), offset);
  }
  const lengthField = Buffer.alloc(4);
  lengthField.writeUInt32LE(headerBytes.length);
  const checksum = Buffer.alloc(4);
  checksum.writeUInt32LE(crc32(body, crc32(headerBytes)));
  return Buffer.concat([MAGIC, lengthField, headerBytes, checksum, body]);
}

/** Decodes and verifies a payload: magic, lengths and checksum. */
export function decodeKvPayload(bytes: Uint8Array): KvPayloadHeader {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fixed = MAGIC.length + 4;
  if (buffer.length < fixed + 4)
    throw new InvalidKvPayloadError(`${buffer.length} bytes is too short for a KV payload`);
  if (!buffer.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new InvalidKvPayloadError("not a simulated KV payload (bad magic)");
  }
  const headerLength = buffer.readUInt32LE(MAGIC.length);
  if (fixed + headerLength + 4 > buffer.length)
    throw new InvalidKvPayloadError("truncated KV payload header");
  const headerBytes = buffer.subarray(fixed, fixed + headerLength);
  let header: KvPayloadHeader;
  try {
    header = JSON.parse(headerBytes.toString("utf8")) as KvPayloadHeader;
  } catch {
    throw new InvalidKvPayloadError("corrupted KV payload header");
  }
  if (
    typeof header.model !== "string" ||
    !Number.isInteger(header.tokens) ||
    typeof header.textDigest !== "string" ||
    !Number.isInteger(header.bodyBytes)
  ) {
    throw new InvalidKvPayloadError("corrupted KV payload header");
  }
  const bodyStart = fixed + headerLength + 4;
  const body = buffer.subarray(bodyStart);
  if (body.length !== header.bodyBytes) {
    throw new InvalidKvPayloadError(
      `KV payload body has ${body.length} bytes, its header says ${header.bodyBytes} (truncated or padded)`,
    );
  }
  const expected = buffer.readUInt32LE(fixed + headerLength);
  if (crc32(body, crc32(headerBytes)) !== expected) {
    throw new InvalidKvPayloadError("KV payload checksum mismatch (corrupted bytes)");
  }
  return header;
}
