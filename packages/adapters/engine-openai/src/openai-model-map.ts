import { readFile } from "node:fs/promises";
import { parseDocument } from "yaml";
import { z } from "zod";
import type { OpenAiEngineOptions, OpenAiModelConfig } from "./openai-engine.js";
import type { OpenAiServerConfig } from "./openai-server-client.js";

/** A model map that cannot be used; the message names the file and the YAML path. */
export class OpenAiModelMapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OpenAiModelMapError";
  }
}

const ServerSchema = z
  .object({
    baseURL: z.url(),
    /** Environment variable holding the API key (keys stay out of files). */
    apiKeyEnv: z.string().min(1).optional(),
    maxConcurrency: z.number().int().positive().optional(),
    api: z.enum(["chat", "completions"]).optional(),
    jsonSchema: z.boolean().optional(),
    stream: z.boolean().optional(),
    timeoutMs: z.number().positive().optional(),
    headers: z.record(z.string(), z.string()).optional(),
  })
  .strict();

const ModelSchema = z
  .object({
    servers: z.array(z.string().min(1)).min(1).optional(),
    server: z.string().min(1).optional(),
    remoteName: z.string().min(1).optional(),
    contextLength: z.number().int().positive().optional(),
    parameterCount: z.number().positive().optional(),
    kvBytesPerToken: z.number().positive().optional(),
  })
  .strict();

const MapSchema = z
  .object({
    servers: z.record(z.string().min(1), ServerSchema).optional(),
    models: z.record(z.string().min(1), ModelSchema.nullable()),
  })
  .strict();

/** Where the servers come from besides the map: `--openai-base-url` becomes the server `default`. */
export interface OpenAiModelMapDefaults {
  readonly baseURL?: string;
  readonly apiKey?: string;
  readonly maxConcurrency?: number;
  /** The environment API keys are read from (default `process.env`). */
  readonly environment?: Readonly<Record<string, string | undefined>>;
}

/**
 * Reads an engine-openai model map:
 *
 * ```yaml
 * servers:
 *   vllm: { baseURL: http://10.0.0.5:8000/v1, apiKeyEnv: VLLM_API_KEY, maxConcurrency: 64 }
 * models:
 *   "Qwen/Qwen3-14B": { servers: [vllm], remoteName: Qwen/Qwen3-14B-Instruct }
 *   "Qwen/Qwen3-32B": ~   # served by the default server (--openai-base-url)
 * ```
 */
export async function loadOpenAiModelMap(
  path: string,
  defaults: OpenAiModelMapDefaults = {},
): Promise<Pick<OpenAiEngineOptions, "servers" | "models">> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new OpenAiModelMapError(`${path}: cannot read: ${(error as Error).message}`);
  }
  const document = parseDocument(text);
  if (document.errors.length > 0) {
    throw new OpenAiModelMapError(`${path}: not valid YAML: ${document.errors[0]!.message}`);
  }
  return openAiModelMapFrom(document.toJS(), path, defaults);
}

/** Checks a parsed model map (see `loadOpenAiModelMap`); `where` names it in errors. */
export function openAiModelMapFrom(
  value: unknown,
  where: string,
  defaults: OpenAiModelMapDefaults = {},
): Pick<OpenAiEngineOptions, "servers" | "models"> {
  const parsed = MapSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${where}: ${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`,
    );
    throw new OpenAiModelMapError(problems.join("\n"));
  }
  const environment = defaults.environment ?? process.env;
  const servers: Record<string, OpenAiServerConfig> = {};
  const problems: string[] = [];
  if (defaults.baseURL !== undefined) {
    servers.default = {
      baseURL: defaults.baseURL,
      ...(defaults.apiKey ? { apiKey: defaults.apiKey } : {}),
      ...(defaults.maxConcurrency ? { maxConcurrency: defaults.maxConcurrency } : {}),
    };
  }
  for (const [name, server] of Object.entries(parsed.data.servers ?? {})) {
    const { apiKeyEnv, ...rest } = server;
    const apiKey = apiKeyEnv ? environment[apiKeyEnv] : undefined;
    if (apiKeyEnv && !apiKey) problems.push(`${where}: servers.${name}.apiKeyEnv: ${apiKeyEnv} is not set`);
    servers[name] = { ...rest, ...(apiKey ? { apiKey } : {}) };
  }
  const models: Record<string, OpenAiModelConfig> = {};
  for (const [name, model] of Object.entries(parsed.data.models)) {
    const { server, servers: named, ...rest } = model ?? {};
    const chosen = named ?? (server ? [server] : ["default"]);
    for (const serverName of chosen) {
      if (!servers[serverName]) {
        problems.push(
          serverName === "default"
            ? `${where}: models["${name}"]: names no server and no --openai-base-url was given`
            : `${where}: models["${name}"]: no server "${serverName}" in servers`,
        );
      }
    }
    models[name] = { servers: chosen, ...rest };
  }
  if (Object.keys(models).length === 0) problems.push(`${where}: models: name at least one model`);
  if (problems.length > 0) throw new OpenAiModelMapError(problems.join("\n"));
  return { servers, models };
}
