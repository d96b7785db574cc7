import { describe, expect, it } from "vitest";
import { isLoopbackHost } from "./halo-server.js";
import { parseWaitMs } from "./server-app.js";

describe("request parsing", () => {
  it("parses ?wait= as ms, s or m", () => {
    expect(parseWaitMs("500ms")).toBe(500);
    expect(parseWaitMs("5s")).toBe(5_000);
    expect(parseWaitMs("2")).toBe(2_000);
    expect(parseWaitMs("1.5m")).toBe(90_000);
    expect(parseWaitMs("soon")).toBeUndefined();
    expect(parseWaitMs("-1s")).toBeUndefined();
  });

  it("tells loopback hosts from others", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "::1"])
      expect(isLoopbackHost(host)).toBe(true);
    for (const host of ["0.0.0.0", "10.0.0.1", "::", "example.com"]) expect(isLoopbackHost(host)).toBe(false);
  });
});
