import { describe, expect, it } from "vitest";
import { localProfilePath } from "./local-profile.js";

describe("localProfilePath", () => {
  it("keys the cached profile by the context size (the longest prompt a worker takes)", async () => {
    const standard = await localProfilePath(1, undefined);
    const long = await localProfilePath(1, undefined, 32_768);
    expect(long).not.toBe(standard);
    expect(long).toMatch(/llamacpp-1t-ctx32768-[0-9a-f]{12}\.json$/);
    expect(standard).toMatch(/llamacpp-1t-[0-9a-f]{12}\.json$/);
    expect(await localProfilePath(1, undefined, 8192)).not.toBe(long);
  });
});
