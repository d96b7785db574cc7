import { createHash } from "node:crypto";

/**
 * The bytes `doExportKv` streams and `doImportKv` accepts: a small header naming
 * the model (and a fingerprint of its weights), the token count and the SHA-256 of
 * the payload (a single-stream llama.cpp sequence state). Import checks all of it
 * before llama.cpp sees a byte, so corrupted or foreign bytes never reach it.
 */

const magic = Buffer.from("HALOKV", "ascii");
const envelopeVersion = 1;
const maxHeaderBytes = 64 * 1024;

/** What the envelope header says about its payload. */
export interface KvEnvelopeHeader {
  readonly model: string;
  readonly modelFingerprint: string;
  readonly tokens: number;
  readonly payloadBytes: number;
  readonly payloadSha256: string;
}

/** The bytes are not a valid envelope (truncated, corrupted, foreign). */
export class InvalidKvEnvelopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidKvEnvelopeError";
  }
}

/** Wraps a payload with its header. */
export function encodeKvEnvelope(
  header: Omit<KvEnvelopeHeader, "payloadBytes" | "payloadSha256">,
  payload: Uint8Array,
): Buffer {
  const fullHeader: KvEnvelopeHeader = {
    ...header,
    payloadBytes: payload.length,
    payloadSha256: createHash("sha256").update(payload).digest("hex"),
  };
  const headerJson = Buffer.from(JSON.stringify(fullHeader), "utf8");
  const prelude = Buffer.alloc(magic.length + 2 + 4);
  magic.copy(prelude, 0);
  prelude.writeUInt16LE(envelopeVersion, magic.length);
  prelude.writeUInt32LE(headerJson.length, magic.length + 2);
  return Buffer.concat([prelude, headerJson, payload]);
}

function isHeader(value: unknown): value is KvEnvelopeHeader {
  if (typeof value !== "object" || value === null) return false;
  const header = value as Record<string, unknown>;
  return (
    typeof header["model"] === "string" &&
    typeof header["modelFingerprint"] === "string" &&
    Number.isSafeInteger(header["tokens"]) &&
    (header["tokens"] as number) >= 0 &&
    Number.isSafeInteger(header["payloadBytes"]) &&
    (header["payloadBytes"] as number) >= 0 &&
    typeof header["payloadSha256"] === "string"
  );
}

/** Checks and unwraps an envelope; throws InvalidKvEnvelopeError naming what is wrong. */
export function decodeKvEnvelope(bytes: Uint8Array): {
  readonly header: KvEnvelopeHeader;
  readonly payload: Uint8Array;
} {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const preludeBytes = magic.length + 2 + 4;
  if (buffer.length < preludeBytes)
    throw new InvalidKvEnvelopeError(`${buffer.length} bytes are too few for a KV export`);
  if (!buffer.subarray(0, magic.length).equals(magic))
    throw new InvalidKvEnvelopeError("not a Halo KV export");
  const version = buffer.readUInt16LE(magic.length);
  if (version !== envelopeVersion)
    throw new InvalidKvEnvelopeError(`unsupported KV export version ${version}`);
  const headerLength = buffer.readUInt32LE(magic.length + 2);
  if (headerLength > maxHeaderBytes || preludeBytes + headerLength > buffer.length) {
    throw new InvalidKvEnvelopeError("the KV export header is truncated or corrupted");
  }
  let header: unknown;
  try {
    header = JSON.parse(buffer.subarray(preludeBytes, preludeBytes + headerLength).toString("utf8"));
  } catch {
    throw new InvalidKvEnvelopeError("the KV export header is corrupted");
  }
  if (!isHeader(header)) throw new InvalidKvEnvelopeError("the KV export header is corrupted");
  const payload = buffer.subarray(preludeBytes + headerLength);
  if (payload.length !== header.payloadBytes) {
    throw new InvalidKvEnvelopeError(
      `the KV export holds ${payload.length} payload bytes, its header says ${header.payloadBytes} (truncated?)`,
    );
  }
  if (createHash("sha256").update(payload).digest("hex") !== header.payloadSha256) {
    throw new InvalidKvEnvelopeError("the KV export payload does not match its checksum (corrupted)");
  }
  return { header, payload };
}
