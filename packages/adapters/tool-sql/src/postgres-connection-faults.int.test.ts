import type { JsonValue } from "@halo/ir";
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it, vi } from "vitest";
import { isConnectionFailure, PostgresSqlTool } from "./postgres-sql-tool.js";
import { rejection } from "./test-rejection.js";
import { startTestPostgres, type TestPostgres, withClient } from "./testing/postgres-test-server.js";

// Real faults on a real server: backends terminated with pg_terminate_backend (as an operator
// or a failover does), and a server stopped (`pg_ctl stop -m fast`) and started again.

const query = (sql: string, parameters: Record<string, JsonValue> = {}) => ({
  sql,
  parameters,
  parameterTypes: {},
});

/** Fails the test if anything reaches the process as an uncaught exception or unhandled rejection. */
const unhandled: unknown[] = [];
const recordUnhandled = (error: unknown): void => {
  unhandled.push(error);
};

beforeEach(() => {
  unhandled.length = 0;
  process.on("uncaughtException", recordUnhandled);
  process.on("unhandledRejection", recordUnhandled);
});

afterEach(() => {
  process.off("uncaughtException", recordUnhandled);
  process.off("unhandledRejection", recordUnhandled);
  expect(unhandled).toEqual([]);
});

/** A URL with a password (the trust-auth test server ignores it) that no message may show. */
function withPassword(url: string): string {
  const parsed = new URL(url);
  parsed.password = "s3cret";
  return parsed.toString();
}

/** Active backends of `applicationName` running pg_sleep, as the server sees them. */
async function sleepingPids(url: string, applicationName: string): Promise<number[]> {
  const result = await withClient(url, (client) =>
    client.query(
      "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND state = 'active' AND query LIKE '%pg_sleep%' ORDER BY pid",
      [applicationName],
    ),
  );
  return result.rows.map((row) => (row as { pid: number }).pid);
}

async function terminate(url: string, pids: readonly number[]): Promise<void> {
  await withClient(url, (client) =>
    client.query("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", [pids]),
  );
}

/** Polls a real server state until it holds, for at most 20 s. */
async function waitFor<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let attempt = 0; attempt < 400; attempt += 1) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("PostgresSqlTool when its backend is terminated mid-statement", () => {
  let url: string;
  const tools: PostgresSqlTool[] = [];
  const tool = (
    applicationName: string,
    options: Partial<ConstructorParameters<typeof PostgresSqlTool>[0]> = {},
  ) => {
    const created = new PostgresSqlTool({ url: withPassword(url), applicationName, ...options });
    tools.push(created);
    return created;
  };

  beforeAll(() => {
    url = inject("postgresUrl");
  });

  afterAll(async () => {
    await Promise.all(tools.map((created) => created.close()));
  });

  it("retries only the statement that lost its connection, on a fresh one; the others are untouched", async () => {
    const postgres = tool("halo-fault-retry");
    const statements = [0, 1, 2, 3].map((index) =>
      postgres.doQuery(
        query("SELECT :index::int AS index, pg_backend_pid() AS pid FROM pg_sleep(0.5)", { index }),
      ),
    );
    const [victim] = await waitFor(async () => {
      const pids = await sleepingPids(url, "halo-fault-retry");
      return pids.length === 4 ? pids : undefined;
    }, "four sleeping statements");
    await terminate(url, [victim!]);
    const results = await Promise.all(statements);
    expect(results.map((result) => result.rows[0]?.["index"])).toEqual([0, 1, 2, 3]);
    const pids = results.map((result) => result.rows[0]?.["pid"]);
    // The retried statement ran on another backend; the terminated one answered nobody.
    expect(pids).not.toContain(victim);
    // The pool works on: a fresh query succeeds.
    expect((await postgres.doQuery(query("SELECT 1 AS one"))).rows).toEqual([{ one: 1 }]);
  });

  it("without retries, fails that statement alone with a message naming the cause, never the password", async () => {
    const postgres = tool("halo-fault-once", { retry: { maxAttempts: 1 } });
    // Observed from the start, so its rejection is never momentarily unhandled.
    const doomed = rejection(postgres.doQuery(query("SELECT 1 AS one FROM pg_sleep(5)")));
    const pids = await waitFor(async () => {
      const found = await sleepingPids(url, "halo-fault-once");
      return found.length === 1 ? found : undefined;
    }, "the sleeping statement");
    await terminate(url, pids);
    const error = await doomed;
    expect(error.code).toBe("connection-lost");
    expect(error.message).toMatch(
      /halo@127\.0\.0\.1:\d+\/halo_test: the connection was lost during the statement/,
    );
    expect(error.message).toMatch(/terminating connection due to administrator command/);
    expect(error.message).not.toContain("s3cret");
    expect((await postgres.doQuery(query("SELECT 2 AS two"))).rows).toEqual([{ two: 2 }]);
  });

  it("gives up after the retry policy's attempts when every connection is cut, saying how many", async () => {
    const postgres = tool("halo-fault-always", {
      retry: { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 20 },
    });
    let settled = false;
    const doomed = rejection(postgres.doQuery(query("SELECT 1 AS one FROM pg_sleep(5)"))).finally(() => {
      settled = true;
    });
    const terminated = new Set<number>();
    while (!settled) {
      const pids = await sleepingPids(url, "halo-fault-always");
      if (pids.length > 0) {
        await terminate(url, pids);
        for (const pid of pids) terminated.add(pid);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const error = await doomed;
    expect(error.code).toBe("connection-lost");
    expect(error.message).toMatch(/gave up after 3 attempts/);
    expect(terminated.size).toBe(3);
  });

  it("survives a connection that drops while its client is checked out between statements", async () => {
    // The window between a statement's result and its COMMIT is microseconds wide; holding the
    // first COMMIT until the client has seen its connection end makes it certain. pg then emits
    // 'error' on a client with no query to fail: without a listener that ends the process.
    const original = pg.Client.prototype.query;
    let held = false;
    const spy = vi.spyOn(pg.Client.prototype, "query").mockImplementation(function (
      this: pg.Client,
      ...args: unknown[]
    ) {
      if (args[0] === "COMMIT" && !held) {
        held = true;
        return new Promise((resolve) => this.once("end", resolve)).then(() =>
          (original as (...rest: unknown[]) => unknown).apply(this, args),
        );
      }
      return (original as (...rest: unknown[]) => unknown).apply(this, args);
    } as typeof original);
    try {
      const postgres = tool("halo-fault-between");
      const answer = postgres.doQuery(query("SELECT pg_backend_pid() AS pid"));
      const pids = await waitFor(async () => {
        const result = await withClient(url, (client) =>
          client.query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'halo-fault-between' AND state = 'idle in transaction'",
          ),
        );
        return result.rows.length === 1 ? result.rows.map((row) => (row as { pid: number }).pid) : undefined;
      }, "the transaction waiting for its COMMIT");
      await terminate(url, pids);
      const { rows } = await answer;
      // Retried on a fresh connection: another backend answered.
      expect(rows).toHaveLength(1);
      expect(rows[0]?.["pid"]).not.toBe(pids[0]);
      expect(held).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });

  it("replaces idle connections the server dropped", async () => {
    const postgres = tool("halo-fault-idle", { poolSize: 2 });
    await Promise.all([postgres.doQuery(query("SELECT 1")), postgres.doQuery(query("SELECT 2"))]);
    const idle = await withClient(url, (client) =>
      client.query("SELECT pid FROM pg_stat_activity WHERE application_name = 'halo-fault-idle'"),
    );
    expect(idle.rows.length).toBeGreaterThan(0);
    await terminate(
      url,
      idle.rows.map((row) => (row as { pid: number }).pid),
    );
    const results = await Promise.all(
      [1, 2, 3].map((value) => postgres.doQuery(query("SELECT :value::int AS value", { value }))),
    );
    expect(results.map((result) => result.rows)).toEqual([[{ value: 1 }], [{ value: 2 }], [{ value: 3 }]]);
  });

  it("tells connection failures from statement failures", () => {
    expect(isConnectionFailure(Object.assign(new Error("terminating connection"), { code: "57P01" }))).toBe(
      true,
    );
    expect(
      isConnectionFailure(Object.assign(new Error("the database system is starting up"), { code: "57P03" })),
    ).toBe(true);
    expect(
      isConnectionFailure(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })),
    ).toBe(true);
    expect(
      isConnectionFailure(new AggregateError([Object.assign(new Error(""), { code: "ECONNREFUSED" })])),
    ).toBe(true);
    expect(isConnectionFailure(new Error("Connection terminated unexpectedly"))).toBe(true);
    expect(
      isConnectionFailure(new Error("Client has encountered a connection error and is not queryable")),
    ).toBe(true);
    expect(isConnectionFailure(Object.assign(new Error("canceling statement"), { code: "57014" }))).toBe(
      false,
    );
    expect(isConnectionFailure(Object.assign(new Error("syntax error"), { code: "42601" }))).toBe(false);
    expect(isConnectionFailure("Connection terminated")).toBe(false);
  });
});

describe("PostgresSqlTool when the server stops and starts again", () => {
  // A cluster of this file's own: stopping the shared one would break every other test.
  let server: TestPostgres;
  let postgres: PostgresSqlTool;

  beforeAll(async () => {
    server = await startTestPostgres({ ownCluster: true });
    postgres = new PostgresSqlTool({ url: withPassword(server.url), applicationName: "halo-fault-restart" });
  }, 300_000);

  afterAll(async () => {
    await postgres?.close();
    await server?.stop();
  }, 300_000);

  it("fails statements in flight and calls during the outage fast and clearly, and recovers when it returns", async () => {
    expect((await postgres.doQuery(query("SELECT 1 AS one"))).rows).toEqual([{ one: 1 }]);
    const inFlight = rejection(postgres.doQuery(query("SELECT 1 AS one FROM pg_sleep(30)")));
    await waitFor(async () => {
      const pids = await sleepingPids(server.url, "halo-fault-restart");
      return pids.length === 1 ? pids : undefined;
    }, "the sleeping statement");
    const stoppedAtMs = performance.now();
    await server.stopServer();
    const lost = await inFlight;
    // Cut off by the shutdown, then refused (or cut off again while the server was still going
    // down) on every retry: the message names the server and the cause, never the password.
    expect(["unreachable", "connection-lost"]).toContain(lost.code);
    expect(lost.message).toMatch(
      /halo@127\.0\.0\.1:\d+\/halo_test: (cannot connect|the connection was lost during the statement): .*\(gave up after 3 attempts\)/,
    );
    expect(lost.message).not.toContain("s3cret");
    // Generous bound: the default retries wait about 0.3 s in all; this is far from the 30 s statement.
    expect(performance.now() - stoppedAtMs).toBeLessThan(10_000);

    const duringStartMs = performance.now();
    const during = await rejection(postgres.doQuery(query("SELECT 2 AS two")));
    expect(during.code).toBe("unreachable");
    expect(performance.now() - duringStartMs).toBeLessThan(10_000);

    await server.startServer();
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((value) => postgres.doQuery(query("SELECT :value::int AS value", { value }))),
    );
    expect(results.map((result) => result.rows)).toEqual([1, 2, 3, 4, 5].map((value) => [{ value }]));
  });
});
