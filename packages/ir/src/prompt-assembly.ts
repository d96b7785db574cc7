/**
 * How an LLM operator's prompt is assembled, split into a static prefix (shared
 * by every query) and a per-query suffix, and how its text output becomes its
 * declared outputs. The text format is neutral so engines can wrap it in their
 * chat template:
 *
 *     ### System\n<system prompt>\n\n### User\n<user content>\n\n### Assistant\n
 */
import { isJsonObject } from "./canonical-json.js";
import { renderTemplateText, templateFromParts, templateRoots } from "./template.js";
import type {
  JsonObject,
  LlmOperator,
  LlmOutputFormat,
  PromptParts,
  Template,
  TemplatePart,
} from "./types.js";

/** The section markers of the prompt text format. */
export const PROMPT_FORMAT = {
  systemHeader: "### System\n",
  userHeader: "\n\n### User\n",
  assistantHeader: "\n\n### Assistant\n",
} as const;

function mergeText(parts: readonly TemplatePart[]): TemplatePart[] {
  const merged: TemplatePart[] = [];
  for (const part of parts) {
    const last = merged[merged.length - 1];
    if (part.kind === "text" && last?.kind === "text")
      merged[merged.length - 1] = { kind: "text", text: last.text + part.text };
    else if (part.kind !== "text" || part.text.length > 0) merged.push(part);
  }
  return merged;
}

/**
 * Splits a prompt: the static prefix is the system section plus the user
 * template's constant lead (text before its first variable); the suffix renders
 * the rest of the template, then every input the template does not reference,
 * one `name: value` line each (declared inputs, then tool results), then the
 * assistant header. `staticPrefix + render(suffix)` is the full prompt.
 */
export function buildPromptParts(
  systemPrompt: string,
  promptTemplate: Template | undefined,
  inputs: readonly string[],
): PromptParts {
  const templateParts = promptTemplate?.parts ?? [];
  const firstReference = templateParts.findIndex((part) => part.kind === "ref");
  const leadParts = firstReference < 0 ? templateParts : templateParts.slice(0, firstReference);
  const lead = leadParts.map((part) => (part.kind === "text" ? part.text : "")).join("");
  const rest: TemplatePart[] = firstReference < 0 ? [] : [...templateParts.slice(firstReference)];
  const referenced = promptTemplate === undefined ? [] : templateRoots(promptTemplate);
  const appended = inputs.filter((name) => !referenced.includes(name));
  if (appended.length > 0 && templateParts.length > 0) rest.push({ kind: "text", text: "\n\n" });
  appended.forEach((name, index) => {
    rest.push({ kind: "text", text: `${index > 0 ? "\n" : ""}${name}: ` });
    rest.push({ kind: "ref", root: name, path: [] });
  });
  rest.push({ kind: "text", text: PROMPT_FORMAT.assistantHeader });
  return {
    staticPrefix: `${PROMPT_FORMAT.systemHeader}${systemPrompt}${PROMPT_FORMAT.userHeader}${lead}`,
    suffix: templateFromParts(mergeText(rest)),
  };
}

/** Renders an LLM operator's prompt for one query's inputs. */
export function renderPrompt(
  operator: Pick<LlmOperator, "prompt">,
  inputs: JsonObject,
): { readonly prefix: string; readonly suffix: string; readonly text: string } {
  const suffix = renderTemplateText(operator.prompt.suffix, inputs);
  return { prefix: operator.prompt.staticPrefix, suffix, text: operator.prompt.staticPrefix + suffix };
}

const RESPOND_ONLY = /Respond\s+ONLY\s+with\s*:?\s*(\{[^{}]*\})/i;

/** The field names a system prompt asks for with `Respond ONLY with: { "a": "string", … }`, if it does. */
export function requestedJsonFields(systemPrompt: string): string[] | undefined {
  const match = RESPOND_ONLY.exec(systemPrompt);
  if (!match) return undefined;
  const fields: string[] = [];
  for (const key of (match[1] ?? "").matchAll(/["']?([A-Za-z_][A-Za-z0-9_-]*)["']?\s*:/g)) {
    if (key[1] !== undefined && !fields.includes(key[1])) fields.push(key[1]);
  }
  return fields;
}

/**
 * JSON output when the system prompt asks for a JSON object or more than one
 * output is declared (one required string property per output); text otherwise.
 */
export function outputFormatFor(systemPrompt: string, outputs: readonly string[]): LlmOutputFormat {
  if (requestedJsonFields(systemPrompt) === undefined && outputs.length <= 1) return { type: "text" };
  const properties: JsonObject = {};
  for (const name of outputs) properties[name] = { type: "string" };
  return {
    type: "json",
    fields: [...outputs],
    schema: { type: "object", properties, required: [...outputs], additionalProperties: false },
  };
}

/** Finds the first balanced `{…}` in text that parses as a JSON object. */
export function extractFirstJsonObject(text: string): JsonObject | undefined {
  for (let start = text.indexOf("{"); start >= 0; start = text.indexOf("{", start + 1)) {
    let depth = 0;
    let inString = false;
    for (let index = start; index < text.length; index += 1) {
      const char = text[index];
      if (inString) {
        if (char === "\\") index += 1;
        else if (char === '"') inString = false;
      } else if (char === '"') inString = true;
      else if (char === "{") depth += 1;
      else if (char === "}") {
        depth -= 1;
        if (depth === 0) {
          try {
            const parsed: unknown = JSON.parse(text.slice(start, index + 1));
            if (isJsonObject(parsed)) return parsed;
          } catch {
            // Not JSON from this brace; try the next one.
          }
          break;
        }
      }
    }
  }
  return undefined;
}

/**
 * Turns an LLM's text into its outputs object; never throws. Text format: the
 * trimmed text is the single output. JSON format: the first JSON object in the
 * text; each declared field as a string (non-strings as compact JSON), missing
 * fields as ""; with no object found, a single field gets the whole text.
 */
export function parseLlmOutput(
  operator: Pick<LlmOperator, "outputs" | "outputFormat">,
  text: string,
): JsonObject {
  const outputs: JsonObject = {};
  if (operator.outputFormat.type === "text") {
    for (const name of operator.outputs) outputs[name] = text.trim();
    return outputs;
  }
  const fields = operator.outputFormat.fields;
  const parsed = extractFirstJsonObject(text);
  for (const name of fields) {
    const value = parsed === undefined ? undefined : parsed[name];
    if (value === undefined || value === null)
      outputs[name] = parsed === undefined && fields.length === 1 ? text.trim() : "";
    else outputs[name] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return outputs;
}
