import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * `benchmarks/results/` of this package, from the sources (`harness/`) and
 * from the built package (`dist/harness/`).
 */
export function benchResultsDirectory(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, "..", "results"), resolve(here, "..", "..", "results")];
  return (
    candidates.find(
      (candidate) => existsSync(join(candidate, "..", "package.json")) && existsSync(candidate),
    ) ?? candidates[0]!
  );
}
