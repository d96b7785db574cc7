import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteStore } from "./sqlite-store.js";
import { describeStoreConformance } from "./test-store-conformance.js";

const directories: string[] = [];
afterAll(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

async function freshPath(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), "halo-store-"));
  directories.push(directory);
  return join(directory, "nested", "server.sqlite");
}

describeStoreConformance("sqlite", { create: async () => new SqliteStore(await freshPath()) });

describe("SqliteStore", () => {
  it("keeps what it stored across a reopen of the file", async () => {
    const path = await freshPath();
    const first = new SqliteStore(path);
    await first.createBatch({ id: "b", workflow: "w", inputFormat: "jsonl", metadata: {}, createdAt: 1 });
    await first.appendBatchQueries("b", 0, [{ id: "q", context: { x: 1 } }]);
    await first.close();
    const second = new SqliteStore(path);
    expect(await second.pendingBatchQueries("b", 5)).toEqual([{ id: "q", context: { x: 1 } }]);
    await second.close();
  });
});
