import { describe, expect, it } from "vitest";
import { DuckDbProcessSqlTool } from "./duckdb-process-sql-tool.js";
import { rejection } from "./test-rejection.js";

// The child process of DuckDbProcessSqlTool going away or freezing: only the calls it held fail,
// within a bound, and the next call runs on a new child.

const LONG = {
  sql: "SELECT count(*) AS n FROM range(100000000000) t(i) WHERE i % 7 = 3",
  parameters: {},
  parameterTypes: {},
};
const ONE = { sql: "SELECT 1 AS one", parameters: {}, parameterTypes: {} };

/** Resolves once the tool's child has a statement running (polled: the child answers nothing meanwhile). */
async function childOf(tool: DuckDbProcessSqlTool): Promise<number> {
  for (;;) {
    if (tool.pid !== undefined) return tool.pid;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("DuckDbProcessSqlTool when its child process goes away or freezes", () => {
  it("fails the statement of a killed child as connection-lost, naming the signal, and starts a new child", async () => {
    const tool = new DuckDbProcessSqlTool({ path: ":memory:", threads: 1, retry: { maxAttempts: 1 } });
    await tool.doCheck();
    const first = await childOf(tool);
    const running = tool.doQuery(LONG);
    process.kill(first, "SIGKILL");
    const error = await rejection(running);
    expect(error.code).toBe("connection-lost");
    expect(error.message).toMatch(/DuckDB :memory:: the DuckDB process exited on SIGKILL/);
    expect((await tool.doQuery(ONE)).rows).toEqual([{ one: 1 }]);
    expect(tool.pid).not.toBe(first);
    await tool.close();
  });

  it("runs the statement again on a new child when retries are allowed", async () => {
    const tool = new DuckDbProcessSqlTool({ path: ":memory:", threads: 1, statementTimeoutMs: 1_000 });
    await tool.doCheck();
    const first = await childOf(tool);
    const running = tool.doQuery(LONG);
    process.kill(first, "SIGKILL");
    // The killed child could not answer: the timeout comes from the new child's run of the statement.
    const error = await rejection(running);
    expect(error.code).toBe("timeout");
    expect(tool.pid).not.toBe(first);
    await tool.close();
  });

  it("stops a child that does not answer within the statement timeout and its grace", async () => {
    const tool = new DuckDbProcessSqlTool({
      path: ":memory:",
      threads: 1,
      statementTimeoutMs: 100,
      // Long enough that the check before the freeze passes on a loaded machine.
      watchdogGraceMs: 3_000,
      retry: { maxAttempts: 1 },
    });
    await tool.doCheck();
    const frozen = await childOf(tool);
    process.kill(frozen, "SIGSTOP");
    const error = await rejection(tool.doQuery(ONE));
    expect(error.code).toBe("connection-lost");
    expect(error.message).toContain("did not answer within 3100 ms");
    expect((await tool.doQuery(ONE)).rows).toEqual([{ one: 1 }]);
    expect(tool.pid).not.toBe(frozen);
    await tool.close();
  });

  it("keeps serving through a SIGINT meant for its parent's process group", async () => {
    const tool = new DuckDbProcessSqlTool({ path: ":memory:", threads: 1 });
    await tool.doCheck();
    const child = await childOf(tool);
    process.kill(child, "SIGINT");
    expect((await tool.doQuery(ONE)).rows).toEqual([{ one: 1 }]);
    expect(tool.pid).toBe(child);
    await tool.close();
  });

  it("refuses bad options at construction, naming them", () => {
    expect(() => new DuckDbProcessSqlTool({ path: ":memory:", startTimeoutMs: 0 })).toThrow(/startTimeoutMs/);
    expect(() => new DuckDbProcessSqlTool({ path: ":memory:", watchdogGraceMs: -1 })).toThrow(
      /watchdogGraceMs/,
    );
    expect(() => new DuckDbProcessSqlTool({ path: ":memory:", maxConnections: 0 })).toThrow(/maxConnections/);
  });
});
