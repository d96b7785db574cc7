import { existsSync } from "node:fs";
import { afterAll, describe, expect, inject, it } from "vitest";
import {
  createTestSchema,
  startTestPostgres,
  type TestPostgres,
  withClient,
} from "./postgres-test-server.js";

const started: TestPostgres[] = [];

afterAll(async () => {
  await Promise.all(started.map((server) => server.stop()));
});

describe("startTestPostgres", () => {
  it("uses HALO_TEST_POSTGRES_URL when it is set", async () => {
    const url = inject("postgresUrl");
    const server = await startTestPostgres({ environment: { HALO_TEST_POSTGRES_URL: url } });
    expect(server).toMatchObject({ url, source: "environment" });
    await expect(server.stopServer()).rejects.toThrow(/shared: tests may not stop or start it/);
    await server.stop();
    // Stopping an environment server leaves it running.
    expect((await withClient(url, (client) => client.query("SELECT 1 AS one"))).rows).toEqual([{ one: 1 }]);
  });

  it("fails loudly, naming the server without its password, when HALO_TEST_POSTGRES_URL is unreachable", async () => {
    const failure = startTestPostgres({
      environment: { HALO_TEST_POSTGRES_URL: "postgres://halo:s3cret@127.0.0.1:1/db" },
    });
    await expect(failure).rejects.toThrow(
      /HALO_TEST_POSTGRES_URL \(halo@127\.0\.0\.1:1\/db\) is not reachable/,
    );
    await expect(failure).rejects.toThrow(/install-postgres\.sh/);
    await expect(failure).rejects.not.toThrow(/s3cret/);
  });

  it("fails with install instructions when no server binaries can be found", async () => {
    const failure = startTestPostgres({
      environment: { PATH: "/nonexistent", HALO_POSTGRES_BIN_DIR: "/also/nonexistent" },
      fallbackBinDirectories: [],
    });
    await expect(failure).rejects.toThrow(
      /need a real PostgreSQL server.*HALO_POSTGRES_BIN_DIR.*install-postgres\.sh/s,
    );
  });

  it("starts a throwaway cluster on a free loopback port, stops and starts it on that port, removes it on stop", async () => {
    const server = await startTestPostgres({ environment: { PATH: process.env["PATH"] } });
    started.push(server);
    expect(server.source).toBe("cluster");
    expect(server.url).toMatch(/^postgres:\/\/halo@127\.0\.0\.1:\d+\/halo_test$/);
    const schema = await createTestSchema(server.url);
    await withClient(schema.url, (client) =>
      client.query("CREATE TABLE t (x int); INSERT INTO t VALUES (7)"),
    );
    await server.stopServer();
    await expect(withClient(server.url, (client) => client.query("SELECT 1"))).rejects.toThrow();
    await server.startServer();
    const rows = await withClient(schema.url, (client) =>
      client.query("SELECT x, current_schema() AS s FROM t"),
    );
    expect(rows.rows).toEqual([{ x: 7, s: expect.stringMatching(/^test_/) }]);
    await schema.drop();

    const dataDirectory = await withClient(server.url, (client) =>
      client.query("SELECT current_setting('data_directory') AS d"),
    );
    const directory = (dataDirectory.rows[0] as { d: string }).d;
    expect(existsSync(directory)).toBe(true);
    // stop() also removes a cluster that stopServer() already stopped.
    await server.stopServer();
    await server.stop();
    started.pop();
    expect(existsSync(directory)).toBe(false);
    await expect(withClient(server.url, (client) => client.query("SELECT 1"))).rejects.toThrow();
  });
});
