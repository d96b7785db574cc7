import { describe, expect, it } from "vitest";
import type { CommandIo } from "./io.js";
import { runCli } from "./main.js";

/** Captures what a CLI run prints. */
export function captureIo(): CommandIo & { out: () => string; err: () => string } {
  let out = "";
  let err = "";
  return {
    stdout: (text) => {
      out += text;
    },
    stderr: (text) => {
      err += text;
    },
    isTty: false,
    out: () => out,
    err: () => err,
  };
}

describe("halo", () => {
  it("prints help and exits 0", async () => {
    const io = captureIo();
    expect(await runCli(["--help"], io)).toBe(0);
    expect(io.out()).toContain("Usage: halo");
  });

  it("rejects an unknown command with exit 2", async () => {
    const io = captureIo();
    expect(await runCli(["no-such-command"], io)).toBe(2);
    expect(io.err()).toContain("unknown command");
  });
});
