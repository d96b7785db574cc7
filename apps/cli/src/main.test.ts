import { describe, expect, it } from "vitest";
import { runCli } from "./main.js";
import { recordingIo as captureIo } from "./test-io.js";

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
