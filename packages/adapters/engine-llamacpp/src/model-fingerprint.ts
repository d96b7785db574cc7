import { createHash } from "node:crypto";
import { open } from "node:fs/promises";

const sampledBytes = 4 * 1024 * 1024;

/**
 * Identifies a model's weights without reading all of them: SHA-256 of the file
 * size and its first 4 MiB (the GGUF metadata and the start of the tensor data,
 * so two seeds or two fine-tunes of one shape differ). KV imports must match it.
 */
export async function fingerprintModelFile(path: string): Promise<string> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    const buffer = Buffer.alloc(Math.min(size, sampledBytes));
    let read = 0;
    while (read < buffer.length) {
      const result = await handle.read(buffer, read, buffer.length - read, read);
      if (result.bytesRead === 0) break;
      read += result.bytesRead;
    }
    return createHash("sha256").update(String(size)).update(buffer.subarray(0, read)).digest("hex");
  } finally {
    await handle.close();
  }
}
