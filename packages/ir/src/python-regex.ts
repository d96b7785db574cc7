/**
 * Translates Python `re` patterns (as written in workflow YAML) to JavaScript
 * regular expressions, and rejects what JavaScript cannot express exactly.
 */

/** The outcome of translating one pattern. */
export type RegexTranslation =
  | { readonly ok: true; readonly regex: RegExp; readonly source: string; readonly flags: string }
  | { readonly ok: false; readonly reason: string };

const FLAG_MAP: Readonly<Record<string, string>> = { i: "i", m: "m", s: "s", u: "", a: "", x: "" };
const SIMPLE_ESCAPES = new Set([..."bBdDsSwWfnrtv\\.^$*+?()[]{}|/-'\"&~#% ,:;<=>!@`_"]);

/**
 * Translates a Python-style pattern: leading inline flags `(?imsxau)` become JS
 * flags (verbose `x` strips whitespace and comments), `(?P<name>…)` becomes
 * `(?<name>…)`, `(?P=name)` becomes `\k<name>`, `\A`/`\Z` become input anchors,
 * `(?#…)` comments are dropped. Atomic groups, conditionals, possessive
 * quantifiers, locale flags and scoped flags JS cannot apply are rejected.
 */
export function translatePythonRegex(pattern: string): RegexTranslation {
  const leading = /^\(\?([a-zA-Z]+)\)/;
  let rest = pattern;
  const flagLetters = new Set<string>();
  for (let match = leading.exec(rest); match !== null; match = leading.exec(rest)) {
    for (const letter of match[1] ?? "") {
      if (!(letter in FLAG_MAP)) return { ok: false, reason: `inline flag "${letter}" is not supported` };
      flagLetters.add(letter);
    }
    rest = rest.slice(match[0].length);
  }
  const verbose = flagLetters.has("x");
  let flags = "";
  for (const letter of flagLetters) flags += FLAG_MAP[letter] ?? "";
  flags = [...new Set(flags)].sort().join("");

  let source = "";
  let index = 0;
  let inClass = false;
  while (index < rest.length) {
    const char = rest[index] as string;
    if (char === "\\") {
      const next = rest[index + 1];
      if (next === undefined) return { ok: false, reason: "pattern ends with a lone backslash" };
      const escaped = translateEscape(rest, index, inClass);
      if (!escaped.ok) return escaped;
      source += escaped.text;
      index += escaped.length;
      continue;
    }
    if (inClass) {
      if (char === "]") inClass = false;
      source += char;
      index += 1;
      continue;
    }
    if (verbose && /\s/.test(char)) {
      index += 1;
      continue;
    }
    if (verbose && char === "#") {
      const end = rest.indexOf("\n", index);
      index = end < 0 ? rest.length : end + 1;
      continue;
    }
    if (char === "[") {
      inClass = true;
      source += "[";
      index += 1;
      // In Python a `]` right after `[` or `[^` is a literal; in JS `[]` is an empty class.
      if (rest[index] === "^") {
        source += "^";
        index += 1;
      }
      if (rest[index] === "]") {
        source += "\\]";
        index += 1;
      }
      continue;
    }
    if (char === "(" && rest[index + 1] === "?") {
      const group = translateGroupOpening(rest, index, flagLetters);
      if (!group.ok) return group;
      source += group.text;
      index += group.length;
      continue;
    }
    if ((char === "*" || char === "+" || char === "?" || char === "}") && rest[index + 1] === "+") {
      return { ok: false, reason: "possessive quantifiers (*+, ++, ?+, {m,n}+) are not supported" };
    }
    source += char;
    index += 1;
  }
  if (inClass) return { ok: false, reason: "unterminated character set" };
  try {
    return { ok: true, regex: new RegExp(source, flags), source, flags };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

type Piece =
  | { readonly ok: true; readonly text: string; readonly length: number }
  | { readonly ok: false; readonly reason: string };

function translateEscape(pattern: string, index: number, inClass: boolean): Piece {
  const next = pattern[index + 1] as string;
  if (!inClass && next === "A") return { ok: true, text: "(?<![\\s\\S])", length: 2 };
  if (!inClass && next === "Z") return { ok: true, text: "(?![\\s\\S])", length: 2 };
  if (next === "a") return { ok: true, text: "\\x07", length: 2 };
  if (next === "x") {
    const hex = /^[0-9a-fA-F]{2}/.exec(pattern.slice(index + 2));
    return hex
      ? { ok: true, text: `\\x${hex[0]}`, length: 4 }
      : { ok: false, reason: "incomplete escape \\x" };
  }
  if (next === "u") {
    const hex = /^[0-9a-fA-F]{4}/.exec(pattern.slice(index + 2));
    return hex
      ? { ok: true, text: `\\u${hex[0]}`, length: 6 }
      : { ok: false, reason: "incomplete escape \\u" };
  }
  if (next === "U" || next === "N") return { ok: false, reason: `escape \\${next} is not supported` };
  if (/[0-9]/.test(next)) return { ok: true, text: `\\${next}`, length: 2 };
  if (/[A-Za-z]/.test(next) && !SIMPLE_ESCAPES.has(next)) {
    return { ok: false, reason: `bad escape \\${next}` };
  }
  return { ok: true, text: `\\${next}`, length: 2 };
}

function translateGroupOpening(pattern: string, index: number, globalFlags: ReadonlySet<string>): Piece {
  const after = pattern.slice(index + 2);
  if (after.startsWith("P<")) return { ok: true, text: "(?<", length: 4 };
  if (after.startsWith("P=")) {
    const name = /^P=([A-Za-z_][A-Za-z0-9_]*)\)/.exec(after);
    if (!name) return { ok: false, reason: "malformed (?P=name) backreference" };
    return { ok: true, text: `\\k<${name[1]}>`, length: 2 + name[0].length };
  }
  if (after.startsWith("#")) {
    const end = pattern.indexOf(")", index);
    if (end < 0) return { ok: false, reason: "missing ), unterminated comment" };
    return { ok: true, text: "", length: end - index + 1 };
  }
  if (after.startsWith(">")) return { ok: false, reason: "atomic groups (?>…) are not supported" };
  if (after.startsWith("(")) return { ok: false, reason: "conditional groups (?(…)…) are not supported" };
  if (/^(?::|=|!|<=|<!|<[A-Za-z_])/.test(after)) return { ok: true, text: "(?", length: 2 };
  const scoped = /^([a-zA-Z]*)(?:-([a-zA-Z]+))?([:)])/.exec(after);
  if (scoped) {
    if (scoped[3] === ")")
      return { ok: false, reason: "global inline flags must be at the start of the pattern" };
    const added = [...(scoped[1] ?? "")];
    // A scoped flag that is already global changes nothing; anything else JS cannot scope.
    if (scoped[2] === undefined && added.every((letter) => globalFlags.has(letter))) {
      return { ok: true, text: "(?:", length: 2 + scoped[0].length };
    }
    return { ok: false, reason: `scoped inline flags (?${scoped[0]} are not supported` };
  }
  return { ok: false, reason: `unknown extension (?${after.slice(0, 1)}` };
}
