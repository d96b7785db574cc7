/** Test helpers: paths of the package's fixtures and of the repository's examples. */
import { fileURLToPath } from "node:url";

/** Absolute path of `packages/ir/fixtures/<name>`. */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
}

/** Absolute path of `examples/<name>` at the repository root. */
export function examplePath(name: string): string {
  return fileURLToPath(new URL(`../../../examples/${name}`, import.meta.url));
}
