import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GenerateItem } from "@halo/executor";
import { collectBatch } from "@halo/executor/test";
import { resolveChatWrapper } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getCpuLlama, LlamaBuildMissingError } from "./llama-runtime.js";
import { LlamaCppEngine } from "./llamacpp-engine.js";
import { parseModelMap } from "./model-map.js";
import { synthesizeModel } from "./model-synthesizer.js";

// A real GGUF carries its chat template; no registry package ships a small real model, so a
// synthesized stand-in with a LLaMA-2-style template goes through the same code path (a
// `gguf:` model map entry, the template read from the file by node-llama-cpp).
const TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'system' %}<<SYS>>\n" +
  "{{ message['content'] }}\n<</SYS>>\n\n{% elif message['role'] == 'user' %}[INST] {{ message['content'] }} [/INST]" +
  "{% else %} {{ message['content'] }}{{ eos_token }}{% endif %}{% endfor %}";
const SYSTEM = "You answer questions about databases in one short sentence.";
const PREFIX = `### System\n${SYSTEM}\n\n### User\n`;

let directory: string;
let path: string;
let engine: LlamaCppEngine;

function item(id: string, question: string, overrides: Partial<GenerateItem> = {}): GenerateItem {
  return {
    id,
    prompt: `${question}\n\n### Assistant\n`,
    maxTokens: 6,
    temperature: 0,
    topP: 1,
    seed: 1,
    ...overrides,
  };
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "halo-chat-template-"));
  path = join(directory, "chat-2m.gguf");
  await synthesizeModel(
    { name: "acme/Chat-2M", parameterCount: 2_000_000, seed: 1, format: "q8_0", chatTemplate: TEMPLATE },
    path,
  );
  const map = parseModelMap(
    `models:\n  "acme/Chat": { gguf: ${path} }\n  "acme/Raw": { gguf: ${path}, chatTemplate: none }\n`,
    "models.yaml",
    directory,
  );
  engine = new LlamaCppEngine({
    modelMap: map,
    threads: 1,
    maxSequences: 4,
    contextSize: 512,
    haloHome: directory,
  });
}, 300_000);

afterAll(async () => {
  await engine?.close();
  await rm(directory, { recursive: true, force: true });
});

describe("real GGUFs with a chat template", () => {
  it("renders the neutral prompt with the file's template, as node-llama-cpp renders those messages", async () => {
    const whole = { ...item("a", ""), prompt: "### User\nHow many rows?\n\n### Assistant\n" };
    const templated = await collectBatch(engine, { model: "acme/Chat", items: [whole] });
    const raw = await collectBatch(engine, { model: "acme/Raw", items: [whole] });
    const llama = await getCpuLlama(1);
    const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
    try {
      const wrapper = resolveChatWrapper(model);
      const expected = wrapper
        .generateContextState({
          chatHistory: [
            { type: "user", text: "How many rows?" },
            { type: "model", response: [] },
          ],
        })
        .contextText.tokenize(model.tokenizer);
      expect(templated.finished.get("a")!.figures.promptTokens).toBe(expected.length);
      const rawTokens = model.tokenize("### User\nHow many rows?\n\n### Assistant\n");
      expect(raw.finished.get("a")!.figures.promptTokens).toBe(rawTokens.length + 1);
      expect(expected.length).not.toBe(rawTokens.length + 1);
    } finally {
      await model.dispose();
    }
  });

  it("caches a system prompt as a shared prefix under the template and reuses it", async () => {
    const sharedPrefix = { key: "chat-system", text: PREFIX };
    const first = await collectBatch(engine, {
      model: "acme/Chat",
      sharedPrefix,
      items: [item("a", "How many tables?"), item("b", "Which index is used?")],
    });
    expect(first.failed.size).toBe(0);
    expect(first.batch.prefixPrefilledTokens).toBeGreaterThan(0);
    const second = await collectBatch(engine, {
      model: "acme/Chat",
      sharedPrefix,
      items: [item("c", "What is a join?")],
    });
    expect(second.batch.prefixPrefilledTokens).toBe(0);
    expect(second.finished.get("c")!.figures.cachedTokens).toBeGreaterThanOrEqual(
      first.batch.prefixPrefilledTokens,
    );
    // The same prompt without a shared prefix: same tokens, so the same greedy answer.
    const alone = await collectBatch(engine, {
      model: "acme/Chat",
      items: [{ ...item("c", "What is a join?"), prompt: `${PREFIX}What is a join?\n\n### Assistant\n` }],
    });
    expect(alone.finished.get("c")!.figures.promptTokens).toBe(
      second.finished.get("c")!.figures.promptTokens,
    );
  });

  it("rejects chatTemplate on a stand-in entry, naming the path", () => {
    expect(() =>
      parseModelMap('models:\n  "x/Y-7B": { synth: {}, chatTemplate: none }\n', "m.yaml", directory),
    ).toThrow(/m\.yaml: models\["x\/Y-7B"\]\.chatTemplate: chatTemplate applies to `gguf` files only/);
  });
});

describe("GPU builds", () => {
  it("names the package to install when a GPU build is asked for and not installed", async () => {
    const gpuEngine = new LlamaCppEngine({ threads: 1, gpu: "cuda", haloHome: directory });
    const error = await gpuEngine.doLoadModel({ model: "halo/tiny" }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    // This machine has no CUDA build (the workspace installs the CPU build only).
    expect(error).toBeInstanceOf(LlamaBuildMissingError);
    expect((error as Error).message).toContain("@node-llama-cpp/linux-x64-cuda");
    expect((error as Error).message).toContain("ignoredOptionalDependencies");
    await gpuEngine.close();
  });

  it("refuses gpuLayers without a GPU", () => {
    expect(() => new LlamaCppEngine({ threads: 1, gpuLayers: 10 })).toThrow(/gpuLayers needs a gpu/);
  });
});
