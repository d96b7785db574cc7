/**
 * `{{ name }}` / `{{ name.path }}` templates: parsing, rendering, and the roots
 * (first path segments) that validation checks against an operator's scope.
 */
import { isJsonObject, valueToText } from "./canonical-json.js";
import type { JsonObject, JsonValue, Template, TemplatePart } from "./types.js";

/** A template that does not parse; `offset` is the index of the offending `{{` in the text. */
export class TemplateSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = "TemplateSyntaxError";
  }
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const SEGMENT = /^(?:[A-Za-z_][A-Za-z0-9_-]*|[0-9]+)$/;

/**
 * Parses a template. References are `{{ root }}` or `{{ root.segment… }}` where
 * segments are names or array indexes (`{{ rows.0.total }}`); anything else
 * inside `{{ }}` (filters, expressions) is a syntax error.
 */
export function parseTemplate(text: string): Template {
  const parts: TemplatePart[] = [];
  let position = 0;
  while (position < text.length) {
    const open = text.indexOf("{{", position);
    if (open < 0) {
      parts.push({ kind: "text", text: text.slice(position) });
      break;
    }
    if (open > position) parts.push({ kind: "text", text: text.slice(position, open) });
    const close = text.indexOf("}}", open + 2);
    if (close < 0) throw new TemplateSyntaxError(`unclosed "{{" at offset ${open}`, open);
    const expression = text.slice(open + 2, close).trim();
    const segments = expression.split(".");
    const root = segments[0] ?? "";
    if (!IDENTIFIER.test(root) || !segments.every((segment) => SEGMENT.test(segment))) {
      throw new TemplateSyntaxError(
        `"{{${text.slice(open + 2, close)}}}" is not a reference: expected {{ name }} or {{ name.path }}`,
        open,
      );
    }
    parts.push({ kind: "ref", root, path: segments.slice(1) });
    position = close + 2;
  }
  return { text, parts };
}

/** A template of constant text (no references), e.g. a literal the spec gave as a number. */
export function literalTemplate(text: string): Template {
  return { text, parts: text.length > 0 ? [{ kind: "text", text }] : [] };
}

/** The template text that parses back to `parts` (references printed as `{{ root.path }}`). */
export function templateFromParts(parts: readonly TemplatePart[]): Template {
  const text = parts
    .map((part) => (part.kind === "text" ? part.text : `{{ ${[part.root, ...part.path].join(".")} }}`))
    .join("");
  return { text, parts };
}

/** The distinct root names a template reads, in order of first use. */
export function templateRoots(template: Template): string[] {
  const roots: string[] = [];
  for (const part of template.parts) {
    if (part.kind === "ref" && !roots.includes(part.root)) roots.push(part.root);
  }
  return roots;
}

/** Follows `path` from `scope[root]`; missing steps yield undefined. */
export function lookupReference(
  scope: JsonObject,
  root: string,
  path: readonly string[],
): JsonValue | undefined {
  let current: JsonValue | undefined = Object.hasOwn(scope, root) ? scope[root] : undefined;
  for (const segment of path) {
    if (Array.isArray(current)) {
      current = /^[0-9]+$/.test(segment) ? current[Number(segment)] : undefined;
    } else if (isJsonObject(current)) {
      current = Object.hasOwn(current, segment) ? current[segment] : undefined;
    } else {
      return undefined;
    }
  }
  return current;
}

/**
 * Renders a template to a value: a template that is exactly one reference keeps
 * the referenced value's type (missing → null); anything else renders to text.
 */
export function renderTemplate(template: Template, scope: JsonObject): JsonValue {
  const only = template.parts.length === 1 ? template.parts[0] : undefined;
  if (only?.kind === "ref") return lookupReference(scope, only.root, only.path) ?? null;
  return renderTemplateText(template, scope);
}

/** Renders a template to text: strings as they are, other values as compact JSON, missing/null as "". */
export function renderTemplateText(template: Template, scope: JsonObject): string {
  let text = "";
  for (const part of template.parts) {
    text += part.kind === "text" ? part.text : valueToText(lookupReference(scope, part.root, part.path));
  }
  return text;
}
