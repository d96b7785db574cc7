import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../main.js";
import { recordingIo as captureIo } from "../test-io.js";

let directory: string;
let dbPath: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "halo-datasets-command-"));
  dbPath = join(directory, "data.duckdb");
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("halo datasets gen", () => {
  it("generates datasets into one file, refuses to overwrite, and replaces with --force", async () => {
    const io = captureIo();
    expect(await runCli(["datasets", "gen", "tpch", "--scale", "0.001", "--out", dbPath], io)).toBe(0);
    expect(io.out()).toMatch(
      /^generated tpch \(scale 0.001, seed 1\) → .*data\.duckdb in \d+ ms: region 5, nation 25, part 200/,
    );
    expect(
      await runCli(["datasets", "gen", "finewiki", "--scale", "0.001", "--out", dbPath, "--seed", "4"], io),
    ).toBe(0);

    const again = captureIo();
    expect(await runCli(["datasets", "gen", "tpch", "--scale", "0.001", "--out", dbPath], again)).toBe(2);
    expect(again.err()).toMatch(/datasets gen: .*already has table\(s\) region, nation.*--force/);
    expect(
      await runCli(["datasets", "gen", "tpch", "--scale", "0.002", "--out", dbPath, "--force"], again),
    ).toBe(0);
    expect(again.out()).toContain("part 400");

    const checksums = captureIo();
    expect(await runCli(["datasets", "checksums", "--db", dbPath], checksums)).toBe(0);
    const lines = checksums.out().trimEnd().split("\n");
    // Datasets in name order (finewiki, then tpch), each's tables in creation order.
    expect(lines.map((line) => line.split("\t")[0])).toEqual([
      "pages",
      "region",
      "nation",
      "part",
      "supplier",
      "partsupp",
      "customer",
      "orders",
      "lineitem",
      "halo_datasets",
    ]);
    expect(lines[3]).toMatch(/^part\t400\t[0-9a-f]{32}$/);
  });

  it.each([
    [
      ["datasets", "gen", "movies", "--out", "x.duckdb"],
      '<dataset>: expected one of tpch, imdb, finewiki (got "movies")',
    ],
    [
      ["datasets", "gen", "tpch", "--scale", "abc", "--out", "x.duckdb"],
      '--scale: expected a number in [0.001, 1] for tpch (got "abc")',
    ],
    [
      ["datasets", "gen", "imdb", "--scale", "2", "--out", "x.duckdb"],
      "--scale: expected a number in [0.001, 1] for imdb",
    ],
    [
      ["datasets", "gen", "tpch", "--seed", "-1", "--out", "x.duckdb"],
      '--seed: expected a non-negative integer (got "-1")',
    ],
    [["datasets", "gen", "tpch"], "required option '--out <file.duckdb>' not specified"],
    [
      ["datasets", "queries", "tpch", "--n", "0", "--out", "q.jsonl"],
      '--n: expected an integer >= 1 (got "0")',
    ],
    [
      ["datasets", "queries", "tpch", "--n", "3", "--out", "q.jsonl", "--db", "x.duckdb"],
      "--db: TPC-H queries",
    ],
    [
      ["datasets", "serve", "--db", "x.duckdb", "--port", "99999"],
      '--port: expected a port 0–65535 (got "99999")',
    ],
  ])("rejects %j with exit 2", async (argv, message) => {
    const io = captureIo();
    expect(await runCli(argv, io)).toBe(2);
    expect(io.err()).toContain(message);
  });

  it("reports a missing database and an unreachable PostgreSQL", async () => {
    const missing = captureIo();
    expect(await runCli(["datasets", "serve", "--db", join(directory, "none.duckdb")], missing)).toBe(2);
    expect(missing.err()).toMatch(/datasets serve: .*none\.duckdb does not exist/);

    const port = await closedPort();
    const unreachable = captureIo();
    const url = `postgres://halo:secret@127.0.0.1:${port}/halo`;
    expect(await runCli(["datasets", "load", "--db", dbPath, "--postgres", url], unreachable)).toBe(1);
    expect(unreachable.err()).toContain(
      `datasets load: cannot connect to PostgreSQL at postgres://halo:***@127.0.0.1:${port}/halo`,
    );
    expect(unreachable.err()).not.toContain("secret");
  });
});

describe("halo datasets queries", () => {
  it("writes JSONL records drawn from the database", async () => {
    const out = join(directory, "titles.jsonl");
    const io = captureIo();
    expect(
      await runCli(["datasets", "queries", "finewiki", "--n", "12", "--out", out, "--db", dbPath], io),
    ).toBe(0);
    expect(io.out()).toMatch(/^wrote 12 finewiki queries \(\d+ distinct\) → .*titles\.jsonl\n$/);
    const records = (await readFile(out, "utf8"))
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as { id: string; context: { user_query: string } });
    expect(records).toHaveLength(12);
    expect(records[0]?.id).toBe("finewiki-00001");

    const tpch = join(directory, "tpch.jsonl");
    expect(await runCli(["datasets", "queries", "tpch", "--n", "4", "--out", tpch, "--seed", "9"], io)).toBe(
      0,
    );
    expect((await readFile(tpch, "utf8")).split("\n")[0]).toMatch(
      /^\{"id":"tpch-00001","context":\{"user_query":".*year=/,
    );
  });
});

describe("halo datasets serve", () => {
  it("prints a listening line, answers HTTP, and stops on SIGTERM", async () => {
    const io = captureIo();
    const exit = runCli(["datasets", "serve", "--db", dbPath, "--port", "0"], io);
    const deadline = Date.now() + 30_000;
    while (!io.out().includes("\n") && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const listening = JSON.parse(io.out().split("\n")[0] ?? "{}") as {
      event: string;
      url: string;
      port: number;
      datasets: string[];
    };
    expect(listening).toMatchObject({ event: "listening", url: `http://127.0.0.1:${listening.port}` });
    expect(listening.datasets).toEqual(["finewiki", "tpch"]);

    const answer = await fetch(`${listening.url}/tpch/reports/segment-revenue?segment=HOUSEHOLD&year=1995`);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ endpoint: "/tpch/reports/segment-revenue", rowcount: 1 });
    const bad = await fetch(`${listening.url}/tpch/reports/segment-revenue?segment=HOUSEHOLD&year=20`);
    expect(bad.status).toBe(400);

    // The command's own SIGTERM listener runs; no signal is sent to the test process.
    process.emit("SIGTERM", "SIGTERM");
    expect(await exit).toBe(0);
    expect(io.out().trimEnd().split("\n").at(-1)).toBe(
      JSON.stringify({ event: "stopped", url: listening.url }),
    );
    await expect(fetch(`${listening.url}/health`)).rejects.toThrow();
  });
});
