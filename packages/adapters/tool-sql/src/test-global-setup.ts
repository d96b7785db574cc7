/**
 * Vitest global setup: one real PostgreSQL server for the whole run (HALO_TEST_POSTGRES_URL or a
 * throwaway cluster), handed to test files as `inject("postgresUrl")`. Fails the run, never skips.
 */
import type {} from "vitest";
import type { TestProject } from "vitest/node";
import { startTestPostgres } from "./testing/postgres-test-server.js";

declare module "vitest" {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startTestPostgres();
  project.provide("postgresUrl", server.url);
  return () => server.stop();
}
