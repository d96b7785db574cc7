// Generates TypeScript from the repository's proto/ folder with protoc (from
// the `protoc` npm package) and the ts-proto plugin. Run by the turbo
// `generate` task; the output (src/generated/) is not committed.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
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

rmSync(outputDirectory, { recursive: true, force: true });
mkdirSync(outputDirectory, { recursive: true });
const files = protoFiles(protoDirectory).sort();
execFileSync(
  join(binDirectory, "protoc"),
  [
    `--plugin=protoc-gen-ts_proto=${join(binDirectory, "protoc-gen-ts_proto")}`,
    `--ts_proto_out=${outputDirectory}`,
    `--ts_proto_opt=${options.join(",")}`,
    `--proto_path=${protoDirectory}`,
    ...files,
  ],
  { stdio: "inherit" },
);
console.log(
  `generated TypeScript for ${files.length} proto files in ${relative(packageDirectory, outputDirectory)}`,
);
