#!/usr/bin/env node
// `prepack` of every public package: copies the repository's LICENSE into the package folder so the
// tarball carries it (the file is kept once, at the root, in git). `--remove` is the `postpack` clean-up.
import { copyFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = join(process.cwd(), "LICENSE");
if (process.argv.includes("--remove")) rmSync(target, { force: true });
else copyFileSync(join(root, "LICENSE"), target);
