import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    globalSetup: ["src/test-global-setup.ts"],
    // Starting the throwaway PostgreSQL cluster (initdb + start) takes a few seconds on 2 cores.
    hookTimeout: 60_000,
    // Tests start and stop real PostgreSQL clusters; on a loaded 2-core machine that can take well over 5 s.
    testTimeout: 60_000,
    coverage: {
      provider: "v8",
      include: ["src/**/*.ts"],
      // The global setup runs outside the test workers, where coverage is not collected.
      exclude: ["src/**/*.test.ts", "src/test-global-setup.ts"],
      thresholds: { lines: 90 },
    },
  },
});
