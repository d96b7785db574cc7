/**
 * The `:name` parameters a SQL statement uses, found the way the SQL tool binds
 * them: not inside string literals (`'…'`, `E'…'`, `$tag$…$tag$`), quoted
 * identifiers or comments, not a `::type` cast, and not a `:` right after a
 * name character (`arr[1:n]`). Validation uses it to require a value for each.
 */

const NAME_START = /[A-Za-z_]/;
const NAME_PART = /[A-Za-z0-9_]/;
const DOLLAR_TAG = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/;

/** Distinct parameter names in order of first use; unterminated quotes end the scan quietly. */
export function sqlParameterNames(sql: string): string[] {
  const names: string[] = [];
  let index = 0;
  const skipQuoted = (quote: string, backslashEscapes: boolean): void => {
    index += 1;
    while (index < sql.length) {
      const character = sql[index];
      if (backslashEscapes && character === "\\") index += 2;
      else if (character === quote && sql[index + 1] === quote) index += 2;
      else if (character === quote) {
        index += 1;
        return;
      } else index += 1;
    }
  };
  while (index < sql.length) {
    const character = sql[index] as string;
    const next = sql[index + 1];
    if (NAME_START.test(character)) {
      const start = index;
      while (index < sql.length && /[A-Za-z0-9_$]/.test(sql[index] as string)) index += 1;
      if (index - start === 1 && (character === "E" || character === "e") && sql[index] === "'") {
        skipQuoted("'", true);
      }
      continue;
    }
    if (character === "'" || character === '"') {
      skipQuoted(character, false);
    } else if (character === "-" && next === "-") {
      const end = sql.indexOf("\n", index);
      index = end < 0 ? sql.length : end + 1;
    } else if (character === "/" && next === "*") {
      let depth = 1;
      index += 2;
      while (index < sql.length && depth > 0) {
        if (sql.startsWith("/*", index)) {
          depth += 1;
          index += 2;
        } else if (sql.startsWith("*/", index)) {
          depth -= 1;
          index += 2;
        } else index += 1;
      }
    } else if (character === "$" && DOLLAR_TAG.test(sql.slice(index))) {
      const tag = (DOLLAR_TAG.exec(sql.slice(index)) as RegExpExecArray)[0];
      const end = sql.indexOf(tag, index + tag.length);
      index = end < 0 ? sql.length : end + tag.length;
    } else if (character === ":" && next === ":") {
      index += 2;
    } else if (
      character === ":" &&
      next !== undefined &&
      NAME_START.test(next) &&
      !NAME_PART.test(sql[index - 1] ?? "")
    ) {
      const start = index + 1;
      index = start;
      while (index < sql.length && NAME_PART.test(sql[index] as string)) index += 1;
      const name = sql.slice(start, index);
      if (!names.includes(name)) names.push(name);
    } else {
      index += 1;
    }
  }
  return names;
}
