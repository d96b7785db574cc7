#!/usr/bin/env node
// The API report of every public package: `<package>/api-report.md` lists every export of each
// subpath in the package's `exports`, with its declaration read from the emitted `.d.ts` (the
// TypeScript compiler API resolves re-exports to the declaring file). The reports are committed,
// so every change to a public surface shows in review as a change to a report.
//   node scripts/api-report.mjs            writes the reports (needs the packages built)
//   node scripts/api-report.mjs --check    exits 1 when a committed report differs from the build
//   node scripts/api-report.mjs --counts   prints the number of exports per subpath
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { publicPackages } from "./workspace-packages.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const check = process.argv.includes("--check");
const counts = process.argv.includes("--counts");
const REPORT = "api-report.md";

/** `[subpath, .d.ts file]` of each entry of a package's `exports` that has types. */
function typedEntries({ folder, manifest }) {
  const entries = [];
  for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
    const types = typeof target === "object" && target !== null ? target.types : undefined;
    if (typeof types !== "string") continue;
    const file = join(folder, types);
    if (!existsSync(file)) {
      throw new Error(
        `${manifest.name}: ${types} (exports "${subpath}") does not exist; build the package first`,
      );
    }
    entries.push([subpath, file]);
  }
  return entries;
}

const KIND_ORDER = ["function", "class", "const", "enum", "interface", "type", "namespace"];

/** The kind word of a declaration. */
function kindOf(declaration) {
  if (ts.isFunctionDeclaration(declaration)) return "function";
  if (ts.isClassDeclaration(declaration)) return "class";
  if (ts.isInterfaceDeclaration(declaration)) return "interface";
  if (ts.isTypeAliasDeclaration(declaration)) return "type";
  if (ts.isEnumDeclaration(declaration)) return "enum";
  if (ts.isVariableDeclaration(declaration)) return "const";
  if (ts.isModuleDeclaration(declaration)) return "namespace";
  return ts.SyntaxKind[declaration.kind];
}

/** The declaration's text as emitted, without its doc comment, indentation normalized. */
function declarationText(declaration) {
  const node =
    ts.isVariableDeclaration(declaration) && ts.isVariableDeclarationList(declaration.parent)
      ? declaration.parent.parent
      : declaration;
  const source = node.getSourceFile();
  const text = source.text.slice(node.getStart(source, false), node.getEnd());
  const lines = text.split("\n");
  const indent = Math.min(
    ...lines.slice(1).flatMap((line) => (line.trim() === "" ? [] : [line.match(/^ */)[0].length])),
  );
  return lines
    .map((line, index) => (index === 0 || !Number.isFinite(indent) ? line : line.slice(indent)))
    .join("\n")
    .replace(/^export declare /, "")
    .replace(/^export /, "")
    .replace(/^declare /, "");
}

/** Where a declaration lives: the package and file, relative to its package (`dist/…`). */
function origin(declaration, packages) {
  const file = declaration.getSourceFile().fileName;
  const owner = packages.find(({ folder }) => file.startsWith(`${folder}/`));
  if (owner) return `${owner.manifest.name}/${relative(owner.folder, file)}`;
  const modules = file.lastIndexOf("/node_modules/");
  return modules >= 0 ? file.slice(modules + "/node_modules/".length) : relative(root, file);
}

const packages = publicPackages();
const entries = packages.flatMap((pkg) =>
  typedEntries(pkg).map(([subpath, file]) => ({ pkg, subpath, file })),
);
const program = ts.createProgram(
  entries.map(({ file }) => file),
  {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
    skipLibCheck: true,
    types: ["node"],
  },
);
const checker = program.getTypeChecker();

/** The exports of one entry: `{ name, kind, text, from }`, sorted by kind then name. */
function exportsOf(file) {
  const source = program.getSourceFile(file);
  const moduleSymbol = source && checker.getSymbolAtLocation(source);
  if (!moduleSymbol) return [];
  const rows = [];
  for (const symbol of checker.getExportsOfModule(moduleSymbol)) {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    const declarations = target.declarations ?? [];
    if (declarations.length === 0) {
      rows.push({ name: symbol.name, kind: "unknown", texts: [], from: "?" });
      continue;
    }
    rows.push({
      name: symbol.name,
      kind: kindOf(declarations[0]),
      texts: declarations.map((declaration) => declarationText(declaration)),
      from: origin(declarations[0], packages),
    });
  }
  const rank = (kind) => (KIND_ORDER.includes(kind) ? KIND_ORDER.indexOf(kind) : KIND_ORDER.length);
  return rows.sort(
    (left, right) => rank(left.kind) - rank(right.kind) || left.name.localeCompare(right.name),
  );
}

/** The markdown report of one package. */
function report(pkg) {
  const { manifest } = pkg;
  const lines = [
    `# API report: ${manifest.name}`,
    "",
    "Generated by `node scripts/api-report.mjs` from the emitted `.d.ts` files; do not edit.",
    "`npm test` fails when this file and the build differ: regenerate it and commit the change,",
    "so the change to the public surface shows in review.",
    "",
  ];
  const sections = [];
  for (const { subpath, file } of entries.filter((entry) => entry.pkg === pkg)) {
    const specifier = subpath === "." ? manifest.name : `${manifest.name}/${subpath.slice(2)}`;
    const rows = exportsOf(file);
    sections.push({ specifier, count: rows.length });
    lines.push(`## \`${specifier}\` (${rows.length} exports)`, "");
    for (const row of rows) {
      lines.push(`### \`${row.name}\` (${row.kind}, ${row.from})`, "", "```ts", ...row.texts, "```", "");
    }
  }
  lines.splice(6, 0, ...sections.map(({ specifier, count }) => `- \`${specifier}\`: ${count} exports`), "");
  return { text: `${lines.join("\n").trimEnd()}\n`, sections };
}

const stale = [];
for (const pkg of packages) {
  if (!entries.some((entry) => entry.pkg === pkg)) continue;
  const { text, sections } = report(pkg);
  const path = join(pkg.folder, REPORT);
  if (counts) {
    for (const { specifier, count } of sections) console.log(`${specifier}\t${count}`);
  } else if (check) {
    const committed = existsSync(path) ? readFileSync(path, "utf8") : undefined;
    if (committed !== text) stale.push(relative(root, path));
  } else {
    writeFileSync(path, text);
    console.log(
      `wrote ${relative(root, path)} (${sections.map((s) => `${s.specifier}: ${s.count}`).join(", ")})`,
    );
  }
}
if (check) {
  if (stale.length > 0) {
    console.error(
      `api-report: the public surface changed; ${stale.join(", ")} ${stale.length > 1 ? "differ" : "differs"} from the build.\n` +
        "Run `node scripts/api-report.mjs` and commit the reports (review the change: it is the package's API).",
    );
    process.exitCode = 1;
  } else {
    console.log(`api-report: ${packages.length} packages match their committed reports`);
  }
}
