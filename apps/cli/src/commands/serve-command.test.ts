import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../main.js";
import { recordingIo } from "../test-io.js";
import { readTokenFile } from "./serve-command.js";

describe("halo serve", () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "halo-serve-cli-"));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it("reads tokens one per line, skipping blanks and comments", async () => {
    const path = join(directory, "tokens");
    await writeFile(path, "# clients\n0123456789abcdef0123\n\n  fedcba9876543210fedc  \n");
    expect(await readTokenFile(path)).toEqual(["0123456789abcdef0123", "fedcba9876543210fedc"]);
  });

  it("refuses short tokens, empty token files and missing ones with exit 2", async () => {
    const short = join(directory, "short");
    await writeFile(short, "tiny\n");
    await expect(readTokenFile(short)).rejects.toThrow(/shorter than 16/);
    const empty = join(directory, "empty");
    await writeFile(empty, "# nothing\n");
    await expect(readTokenFile(empty)).rejects.toThrow(/no tokens/);
    const io = recordingIo();
    expect(await runCli(["serve", "--token-file", join(directory, "missing")], io)).toBe(2);
    expect(io.err()).toContain("--token-file");
  });

  it("rejects bad flags before starting anything", async () => {
    for (const flags of [
      ["--port", "70000"],
      ["--engine", "gpu"],
      ["--executors", "127.0.0.1:1", "--local", "2"],
      ["--strategy", "nope"],
    ]) {
      const io = recordingIo();
      expect(await runCli(["serve", ...flags], io)).toBe(2);
      expect(io.err()).not.toBe("");
    }
  });
});
