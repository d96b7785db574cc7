import { describe, expect, it } from "vitest";
import { HostAllowlist } from "./host-allowlist.js";

const allows = (list: HostAllowlist, url: string): boolean => list.allows(new URL(url));

describe("HostAllowlist", () => {
  it("matches host names case-insensitively, on any port unless one is given", () => {
    const list = new HostAllowlist(["API.example.com", "127.0.0.1:8765", "[::1]:8080", "plain:80"]);
    expect(allows(list, "https://api.example.com/x")).toBe(true);
    expect(allows(list, "http://api.EXAMPLE.com:9000/x")).toBe(true);
    expect(allows(list, "http://127.0.0.1:8765/")).toBe(true);
    expect(allows(list, "http://127.0.0.1:8766/")).toBe(false);
    expect(allows(list, "http://[::1]:8080/")).toBe(true);
    expect(allows(list, "http://plain/")).toBe(true);
    expect(allows(list, "https://plain/")).toBe(false);
    expect(allows(list, "http://localhost:8765/")).toBe(false);
    expect(allows(list, "http://evil.api.example.com/")).toBe(false);
    expect(list.description).toBe("API.example.com, 127.0.0.1:8765, [::1]:8080, plain:80");
  });

  it("matches subdomains for *.domain entries, but not the domain itself", () => {
    const list = new HostAllowlist(["*.example.com"]);
    expect(allows(list, "https://a.example.com/")).toBe(true);
    expect(allows(list, "https://a.b.example.com/")).toBe(true);
    expect(allows(list, "https://example.com/")).toBe(false);
    expect(allows(list, "https://notexample.com/")).toBe(false);
  });

  it("allows everything with any and nothing with an empty list", () => {
    expect(allows(new HostAllowlist("any"), "http://anything:1/")).toBe(true);
    const none = new HostAllowlist([]);
    expect(allows(none, "http://127.0.0.1/")).toBe(false);
    expect(none.description).toBe("none");
  });

  it("rejects entries that are not hosts", () => {
    for (const entry of ["", "http://x.com", "x.com/path", "user@x.com", "*.", "a b", "::1"]) {
      expect(() => new HostAllowlist([entry]), entry).toThrow(/allowHosts entry/);
    }
  });
});
