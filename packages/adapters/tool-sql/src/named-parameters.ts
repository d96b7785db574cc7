/**
 * Finds `:name` parameters in SQL text, the way the workflow format writes them (the
 * prototype's psycopg dialect), so they can be bound instead of spliced into the text.
 *
 * The scanner knows enough SQL to not be fooled: string literals (`'…'`, `E'…'` with
 * backslash escapes, `$tag$…$tag$`), quoted identifiers, `--` and nested `/* … *\/` comments,
 * and `::type` casts (`:p::int` is parameter `p` cast to int). `%%` becomes `%` everywhere,
 * as psycopg does; a single `%` is kept. A `:` right after a letter, digit or `_` is not a
 * parameter (`arr[1:n]`, `a:b`).
 */
import { SqlToolError } from "./sql-tool-error.js";

/** A piece of SQL text to keep as is, or a parameter reference. */
export type SqlSegment =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "parameter"; readonly name: string; readonly offset: number };

/** SQL split into text and `:name` parameter references, in order. */
export interface NamedParameterSql {
  readonly segments: readonly SqlSegment[];
  /** Distinct parameter names in order of first use. */
  readonly parameterNames: readonly string[];
}

const IDENTIFIER_START = /[A-Za-z_]/;
const IDENTIFIER_PART = /[A-Za-z0-9_$]/;
const PARAMETER_PART = /[A-Za-z0-9_]/;
const DOLLAR_TAG = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/;

/** Splits `sql` into text and `:name` parameter segments; throws `invalid-sql` on unterminated quotes or comments. */
export function parseNamedParameters(sql: string): NamedParameterSql {
  const segments: SqlSegment[] = [];
  const parameterNames: string[] = [];
  let text = "";
  let index = 0;

  const flushText = (): void => {
    if (text.length > 0) {
      segments.push({ kind: "text", text });
      text = "";
    }
  };
  // Copies sql[from, to) with `%%` collapsed, the psycopg escaping the workflow format uses.
  const copy = (from: number, to: number): void => {
    text += sql.slice(from, to).replaceAll("%%", "%");
  };

  while (index < sql.length) {
    const character = sql[index]!;
    const next = sql[index + 1];

    if (IDENTIFIER_START.test(character)) {
      let end = index + 1;
      while (end < sql.length && IDENTIFIER_PART.test(sql[end]!)) end += 1;
      const word = sql.slice(index, end);
      if ((word === "E" || word === "e") && sql[end] === "'") {
        copy(index, end);
        index = end;
        const close = findQuoteEnd(sql, index, "'", true, "string literal");
        copy(index, close);
        index = close;
        continue;
      }
      copy(index, end);
      index = end;
      continue;
    }
    if (character === "'" || character === '"') {
      const close = findQuoteEnd(
        sql,
        index,
        character,
        false,
        character === "'" ? "string literal" : "quoted identifier",
      );
      copy(index, close);
      index = close;
      continue;
    }
    if (character === "-" && next === "-") {
      const newline = sql.indexOf("\n", index);
      const end = newline === -1 ? sql.length : newline;
      copy(index, end);
      index = end;
      continue;
    }
    if (character === "/" && next === "*") {
      const end = findBlockCommentEnd(sql, index);
      copy(index, end);
      index = end;
      continue;
    }
    if (character === "$") {
      const tag = DOLLAR_TAG.exec(sql.slice(index))?.[0];
      if (tag !== undefined) {
        const close = sql.indexOf(tag, index + tag.length);
        if (close === -1) {
          throw new SqlToolError(
            "invalid-sql",
            `unterminated dollar-quoted string ${tag} starting at offset ${index} of the SQL`,
          );
        }
        copy(index, close + tag.length);
        index = close + tag.length;
        continue;
      }
      if (next !== undefined && /[0-9]/.test(next)) {
        throw new SqlToolError(
          "invalid-sql",
          `positional parameter $${readWhile(sql, index + 1, /[0-9]/)} at offset ${index} of the SQL: ` +
            "write named parameters (:name) instead",
        );
      }
      copy(index, index + 1);
      index += 1;
      continue;
    }
    if (character === ":") {
      if (next === ":") {
        copy(index, index + 2);
        index += 2;
        continue;
      }
      const previous = index > 0 ? sql[index - 1]! : "";
      if (next !== undefined && IDENTIFIER_START.test(next) && !PARAMETER_PART.test(previous)) {
        const name = readWhile(sql, index + 1, PARAMETER_PART);
        flushText();
        segments.push({ kind: "parameter", name, offset: index });
        if (!parameterNames.includes(name)) parameterNames.push(name);
        index += 1 + name.length;
        continue;
      }
    }
    if (character === "%" && next === "%") {
      text += "%";
      index += 2;
      continue;
    }
    text += character;
    index += 1;
  }
  flushText();
  return { segments, parameterNames };
}

/**
 * Joins the segments back into SQL, replacing each parameter reference with
 * `placeholder(name, position)`; `position` is 1-based and the same for every use of a name.
 */
export function renderPositionalSql(
  parsed: NamedParameterSql,
  placeholder: (name: string, position: number) => string,
): string {
  return parsed.segments
    .map((segment) =>
      segment.kind === "text"
        ? segment.text
        : placeholder(segment.name, parsed.parameterNames.indexOf(segment.name) + 1),
    )
    .join("");
}

function readWhile(sql: string, from: number, pattern: RegExp): string {
  let end = from;
  while (end < sql.length && pattern.test(sql[end]!)) end += 1;
  return sql.slice(from, end);
}

/** Index just past the closing quote of the quoted run starting at `start`; doubled quotes are escapes. */
function findQuoteEnd(
  sql: string,
  start: number,
  quote: string,
  backslashEscapes: boolean,
  what: string,
): number {
  let index = start + 1;
  while (index < sql.length) {
    const character = sql[index]!;
    if (backslashEscapes && character === "\\") {
      index += 2;
      continue;
    }
    if (character === quote) {
      if (sql[index + 1] === quote) {
        index += 2;
        continue;
      }
      return index + 1;
    }
    index += 1;
  }
  throw new SqlToolError("invalid-sql", `unterminated ${what} starting at offset ${start} of the SQL`);
}

/** Index just past the end of the (possibly nested, as in PostgreSQL) block comment starting at `start`. */
function findBlockCommentEnd(sql: string, start: number): number {
  let depth = 0;
  let index = start;
  while (index < sql.length) {
    if (sql.startsWith("/*", index)) {
      depth += 1;
      index += 2;
    } else if (sql.startsWith("*/", index)) {
      depth -= 1;
      index += 2;
      if (depth === 0) return index;
    } else {
      index += 1;
    }
  }
  throw new SqlToolError("invalid-sql", `unterminated block comment starting at offset ${start} of the SQL`);
}
