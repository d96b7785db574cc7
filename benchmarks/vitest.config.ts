import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["dist/**", "node_modules/**"],
    testTimeout: 120_000,
    // Hooks generate datasets; on a loaded machine that outlasts vitest's default of 10 s.
    hookTimeout: 120_000,
  },
});
