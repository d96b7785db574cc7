import { requestKey } from "@halo/ir/internal";
import { describe, expect, it } from "vitest";
import { latencySeedOf } from "./batch-run.js";

function report(url: string, year = "1994") {
  return {
    kind: "http" as const,
    url,
    method: "GET",
    params: { year },
    headers: {},
    latency: { mode: "padded" as const, meanMs: 3000, timeoutMs: 30_000 },
  };
}

describe("latencySeedOf", () => {
  it("draws the same padded latency for the same request whichever port serves it", () => {
    const first = report("http://127.0.0.1:41001/tpch/reports/promo-revenue");
    const second = report("http://127.0.0.1:52002/tpch/reports/promo-revenue");
    expect(requestKey(first)).not.toBe(requestKey(second));
    expect(latencySeedOf(first, requestKey(first))).toBe(latencySeedOf(second, requestKey(second)));
  });

  it("tells apart other paths and other parameters; other tools keep their key", () => {
    const base = report("http://127.0.0.1:41001/tpch/reports/promo-revenue");
    const seed = latencySeedOf(base, requestKey(base));
    const otherPath = report("http://127.0.0.1:41001/tpch/reports/segment-revenue");
    const otherYear = report("http://127.0.0.1:41001/tpch/reports/promo-revenue", "1995");
    expect(latencySeedOf(otherPath, requestKey(otherPath))).not.toBe(seed);
    expect(latencySeedOf(otherYear, requestKey(otherYear))).not.toBe(seed);
    const sql = { kind: "sql" as const, sql: "SELECT 1", parameters: {}, parameterTypes: {} };
    expect(latencySeedOf(sql, "sql-key")).toBe("sql-key");
  });
});
