// Generates TypeScript from the repository's proto/ folder with protoc (from
// the `protoc` npm package) and the ts-proto plugin. Run by the turbo
// `generate` task; the output (src/generated/) is not committed.
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const packageDirectory = dirname(dirname(fileURLToPath(import.meta.url)));
const protoDirectory = join(packageDirectory, "..", "..", "proto");
const outputDirectory = join(packageDirectory, "src", "generated");
const binDirectory = join(packageDirectory, "node_modules", ".bin");

function protoFiles(directory) {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return protoFiles(path);
    return entry.name.endsWith(".proto") ? [relative(protoDirectory, path)] : [];
  });
}

const options = [
  "outputServices=grpc-js",
  "esModuleInterop=true",
  "env=node",
  // NodeNext resolution needs explicit extensions on relative imports.
  "importSuffix=.js",
  // oneof fields become discriminated unions ({ $case: "token", token }).
  "oneof=unions",
  "useOptionals=messages",
];

function listFiles(directory) {
  if (!existsSync(directory)) return [];
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    return entry.isDirectory() ? listFiles(path) : [path];
  });
}

// Generate into a scratch folder, then copy only what changed: builds running
// at the same time never see the generated files missing or half written.
const scratchDirectory = mkdtempSync(join(tmpdir(), "halo-protocol-"));
const files = protoFiles(protoDirectory).sort();
execFileSync(
  join(binDirectory, "protoc"),
  [
    `--plugin=protoc-gen-ts_proto=${join(binDirectory, "protoc-gen-ts_proto")}`,
    `--ts_proto_out=${scratchDirectory}`,
    `--ts_proto_opt=${options.join(",")}`,
    `--proto_path=${protoDirectory}`,
    ...files,
  ],
  { stdio: "inherit" },
);
const generated = new Set();
for (const source of listFiles(scratchDirectory)) {
  const target = join(outputDirectory, relative(scratchDirectory, source));
  generated.add(target);
  const text = readFileSync(source, "utf8");
  if (existsSync(target) && readFileSync(target, "utf8") === text) continue;
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, text);
}
for (const stale of listFiles(outputDirectory)) if (!generated.has(stale)) rmSync(stale);
rmSync(scratchDirectory, { recursive: true, force: true });
console.log(
  `generated TypeScript for ${files.length} proto files in ${relative(packageDirectory, outputDirectory)}`,
);
