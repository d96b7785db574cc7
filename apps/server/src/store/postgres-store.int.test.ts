import { createTestSchema, startTestPostgres, type TestPostgres } from "@halo/tool-sql/test";
import { afterAll, beforeAll } from "vitest";
import { PostgresStore } from "./postgres-store.js";
import type { ServerStore } from "./server-store.js";
import { describeStoreConformance } from "./test-store-conformance.js";

let server: TestPostgres;
const drops = new Map<ServerStore, () => Promise<void>>();

beforeAll(async () => {
  server = await startTestPostgres();
}, 300_000);
afterAll(async () => {
  await server?.stop();
});

// Each test gets its own schema, so the suite starts from empty tables.
describeStoreConformance("postgres", {
  async create() {
    const schema = await createTestSchema(server.url);
    const store = await PostgresStore.open(schema.url, "test schema");
    drops.set(store, schema.drop);
    return store;
  },
  async dispose(store) {
    await store.close();
    await drops.get(store)?.();
  },
});
