// The workspace's published packages (no `private` in their manifest), shared by the API report and
// the packaging test. Folders are those of pnpm-workspace.yaml.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const workspaceRoot = join(dirname(fileURLToPath(import.meta.url)), "..");

/** `{folder, manifest}` of every public workspace package, sorted by package name. */
export function publicPackages(root = workspaceRoot) {
  const folders = [];
  for (const parent of ["packages", "packages/adapters", "apps"]) {
    for (const entry of readdirSync(join(root, parent), { withFileTypes: true })) {
      if (entry.isDirectory()) folders.push(join(root, parent, entry.name));
    }
  }
  folders.push(join(root, "benchmarks"));
  return folders
    .filter((folder) => existsSync(join(folder, "package.json")))
    .map((folder) => ({ folder, manifest: JSON.parse(readFileSync(join(folder, "package.json"), "utf8")) }))
    .filter(({ manifest }) => manifest.private !== true)
    .sort((left, right) => left.manifest.name.localeCompare(right.manifest.name));
}
