import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createExecutorClient } from "@halo/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../main.js";
import { recordingIo as captureIo } from "../test-io.js";
import { type ServeExecutorOptions, serveExecutor, serveOptionsFromFlags } from "./executor-command.js";

const rawDefaults = {
  engine: "sim",
  host: "127.0.0.1",
  port: "0",
  threads: "1",
  profile: "builtin:h100",
  timeScale: "0.001",
  batchWindowMs: "3",
  drainMs: "5000",
};
const defaults: ServeExecutorOptions = serveOptionsFromFlags(rawDefaults);

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "halo-executor-command-"));
  await writeFile(
    join(directory, "models.yaml"),
    'models:\n  "Qwen/Qwen3-14B": {synth: {params: 20M}}\n  "acme/Widget-7B": ~\n',
  );
  await writeFile(join(directory, "mystery.yaml"), 'models:\n  "mystery": {gguf: ./m.gguf}\n');
  await writeFile(join(directory, "broken.yaml"), "models: [unclosed\n");
  await writeFile(join(directory, "profile.json"), '{"profileVersion": 1}');
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("halo executor serve: bad input", () => {
  it.each([
    [["--engine", "gpu"], '--engine: unknown engine "gpu"'],
    [["--engine", "sim", "--port", "70000"], "--port: expected a port 0–65535"],
    [["--engine", "sim", "--threads", "0"], "--threads: expected an integer >= 1"],
    [["--engine", "sim", "--time-scale", "-1"], "--time-scale: expected a number >= 0"],
    [["--engine", "sim", "--kv-budget-bytes", "lots"], "--kv-budget-bytes"],
    [["--engine", "llamacpp", "--context-size", "2k"], "--context-size: expected an integer >= 64"],
    [["--engine", "llamacpp", "--context-size", "63"], "--context-size: expected an integer >= 64"],
    [["--engine", "sim", "--profile", "builtin:nope"], '--profile: no built-in profile "builtin:nope"'],
    [
      ["--engine", "sim", "--truth", "tpu"],
      '--truth: unknown ground-truth device "tpu" (known: h100, a100, l40s)',
    ],
    [["--engine", "sim", "--truth", "h100", "--noise", "2"], "--noise: expected a number in [0, 1)"],
    [
      ["--engine", "sim", "--truth", "h100", "--allow-models", "Qwen/Qwen3-8B"],
      '--allow-models names "Qwen/Qwen3-8B"',
    ],
    [["--engine", "sim", "--openai-port", "http"], "--openai-port: expected a port 0–65535"],
    [["--engine", "llamacpp", "--gpu", "tpu"], "--gpu: expected one of off, auto, cuda, vulkan, metal"],
    [["--engine", "llamacpp", "--gpu-layers", "8"], "--gpu-layers: needs --gpu"],
    [["--engine", "llamacpp", "--gpu", "cuda", "--gpu-layers", "x"], "--gpu-layers: expected an integer"],
    [["--engine", "sim", "--gpu", "cuda"], "--gpu: applies to --engine llamacpp only"],
    // No CUDA build is installed here: the error names the package to add.
    [["--engine", "llamacpp", "--gpu", "cuda"], "@node-llama-cpp/linux-x64-cuda"],
    [
      ["--engine", "sim", "--openai-port", "0", "--openai-host", "0.0.0.0"],
      "beyond loopback the OpenAI endpoint needs --openai-token-file",
    ],
    [
      ["--engine", "sim", "--openai-port", "0", "--openai-token-file", "/nonexistent/halo-token"],
      "--openai-token-file: cannot read /nonexistent/halo-token",
    ],
  ])("rejects %j with exit 2", async (flags, message) => {
    const io = captureIo();
    expect(await runCli(["executor", "serve", ...flags], io)).toBe(2);
    expect(io.err()).toContain(message);
  });

  it("takes --context-size for llama.cpp prompts longer than the 2048-token default", () => {
    // The prototype's W6 stage-2 prompts are about 2,550 tokens: they need a larger context.
    expect(
      serveOptionsFromFlags({ ...rawDefaults, engine: "llamacpp", contextSize: "4096" }).contextSize,
    ).toBe(4096);
    expect(serveOptionsFromFlags({ ...rawDefaults, engine: "llamacpp" }).contextSize).toBeUndefined();
  });

  it("rejects unreadable, malformed and unservable model maps and profiles, naming the file", async () => {
    const cases: [string[], string][] = [
      [["--models", join(directory, "absent.yaml")], "--models: cannot read"],
      [["--models", join(directory, "broken.yaml")], "is not valid YAML"],
      [
        ["--models", join(directory, "mystery.yaml")],
        'models["mystery"]: profile "H100-SXM5-80GB (simulated)"',
      ],
      [["--profile", join(directory, "profile.json")], "profile.json"],
      [["--profile", join(directory, "absent.json")], "--profile: cannot read"],
    ];
    for (const [flags, message] of cases) {
      const io = captureIo();
      expect(await runCli(["executor", "serve", "--engine", "sim", ...flags], io), message).toBe(2);
      expect(io.err()).toContain(message);
    }
  });
});

describe("serveExecutor", () => {
  it("announces the address, serves the mapped models, drains when stopped", async () => {
    const io = captureIo();
    const stop = new AbortController();
    const serving = serveExecutor(
      { ...defaults, modelsPath: join(directory, "models.yaml") },
      io,
      stop.signal,
    );
    await expect.poll(() => io.out(), { timeout: 10_000 }).toContain('"listening"');
    const listening = JSON.parse(io.out().split("\n")[0]!) as {
      address: string;
      port: number;
      engine: string;
    };
    expect(listening.address).toBe(`127.0.0.1:${listening.port}`);
    expect(listening.engine).toBe("sim");
    const client = createExecutorClient(listening.address);
    const info = await client.info();
    expect(info.models.map((model) => model.name).sort()).toEqual(["Qwen/Qwen3-14B", "acme/Widget-7B"]);
    for await (const event of client.generate({
      model: "acme/Widget-7B",
      items: [{ id: "a", prompt: "Hello.", maxTokens: 4 }],
    })) {
      if (event.type === "batch-finished") expect(event.figures.generatedTokens).toBeGreaterThan(0);
    }
    client.close();
    stop.abort();
    await serving;
    const events = io
      .out()
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as { event: string }).event);
    expect(events).toEqual(["listening", "draining", "stopped"]);
  });

  it("also serves the OpenAI API with --openai-port, behind the token of --openai-token-file", async () => {
    await writeFile(join(directory, "token"), "cli-token\n");
    const io = captureIo();
    const stop = new AbortController();
    const serving = serveExecutor(
      { ...defaults, openaiPort: 0, openaiTokenFile: join(directory, "token") },
      io,
      stop.signal,
    );
    await expect.poll(() => io.out(), { timeout: 10_000 }).toContain('"listening"');
    const { openai } = JSON.parse(io.out().split("\n")[0]!) as { openai: string };
    expect(openai).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect((await fetch(`${openai}/models`)).status).toBe(401);
    const response = await fetch(`${openai}/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer cli-token", "content-type": "application/json" },
      body: JSON.stringify({
        model: "Qwen/Qwen3-14B",
        messages: [{ role: "user", content: "Hi" }],
        max_tokens: 4,
      }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { usage: { completion_tokens: number } };
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
    stop.abort();
    await serving;
  });

  it("--engine openai fronts another executor's OpenAI endpoint: gRPC in, HTTP out", async () => {
    const backIo = captureIo();
    const stop = new AbortController();
    const back = serveExecutor({ ...defaults, openaiPort: 0 }, backIo, stop.signal);
    await expect.poll(() => backIo.out(), { timeout: 10_000 }).toContain('"listening"');
    const { openai } = JSON.parse(backIo.out().split("\n")[0]!) as { openai: string };
    await writeFile(join(directory, "openai-models.yaml"), 'models:\n  "Qwen/Qwen3-14B": ~\n');
    const frontIo = captureIo();
    const front = serveExecutor(
      {
        ...serveOptionsFromFlags({
          engine: "openai",
          host: "127.0.0.1",
          port: "0",
          threads: "1",
          profile: "builtin:h100",
          timeScale: "0.001",
          batchWindowMs: "3",
          drainMs: "5000",
          openaiBaseUrl: openai,
        }),
        modelsPath: join(directory, "openai-models.yaml"),
      },
      frontIo,
      stop.signal,
    );
    await expect.poll(() => frontIo.out(), { timeout: 10_000 }).toContain('"listening"');
    const { address } = JSON.parse(frontIo.out().split("\n")[0]!) as { address: string };
    const client = createExecutorClient(address);
    const info = await client.info();
    expect(info.engine).toBe("openai");
    expect(info.capabilities).toMatchObject({ kvTransfer: false, prefixPinning: false, modelLoading: false });
    let generated = 0;
    for await (const event of client.generate({
      model: "Qwen/Qwen3-14B",
      items: [{ id: "a", prompt: "### User\nHello.\n\n### Assistant\n", maxTokens: 4 }],
    })) {
      if (event.type === "batch-finished") generated = event.figures.generatedTokens;
    }
    expect(generated).toBeGreaterThan(0);
    client.close();
    stop.abort();
    await Promise.all([front, back]);
  });

  it("rejects --engine openai without a model map or with a bad base URL", async () => {
    const io = captureIo();
    expect(await runCli(["executor", "serve", "--engine", "openai"], io)).toBe(2);
    expect(io.err()).toContain("--models <map.yaml> is required");
    const bad = captureIo();
    expect(
      await runCli(["executor", "serve", "--engine", "openai", "--openai-base-url", "ftp://x"], bad),
    ).toBe(2);
    expect(bad.err()).toContain("--openai-base-url");
  });

  it("reports a port it cannot bind", async () => {
    const io = captureIo();
    const stop = new AbortController();
    const first = serveExecutor(defaults, io, stop.signal);
    await expect.poll(() => io.out(), { timeout: 10_000 }).toContain('"listening"');
    const { port } = JSON.parse(io.out().split("\n")[0]!) as { port: number };
    await expect(serveExecutor({ ...defaults, port }, captureIo(), stop.signal)).rejects.toThrow(
      `cannot listen on 127.0.0.1:${port}`,
    );
    stop.abort();
    await first;
  });
});
