import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Timeouts only catch hangs: tests never assert speed, and a loaded 2-core CI machine is slow.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    include: ["src/**/*.test.ts"],
    globalSetup: ["src/test-global-setup.ts"],
    // Starting the throwaway PostgreSQL cluster (initdb + start) takes a few seconds on 2 cores.
    // Tests start and stop real PostgreSQL clusters; on a loaded 2-core machine that can take well over 5 s.
    coverage: {
      provider: "v8",
      include: ["src/**/*.ts"],
      // The global setup runs outside the test workers, where coverage is not collected; test helpers are not product code.
      // DuckDbProcessSqlTool's child entry runs in its own process, which the workers' coverage does
      // not see; every DuckDbProcessSqlTool test runs through it.
      exclude: ["src/**/*.test.ts", "src/test-*.ts", "src/duckdb-process-main.ts"],
      thresholds: { lines: 90 },
    },
  },
});
