import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createExecutorClient, type ExecutorClientOptions, GrpcStatus } from "@halo/protocol";
import { createSelfSignedCertificate, type SelfSignedCertificate } from "@halo/protocol/test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../main.js";
import { executorClientOptionsFromFlags } from "../run/remote-executors.js";
import { recordingIo } from "../test-io.js";
import { type ServeExecutorOptions, serveExecutor, serveOptionsFromFlags } from "./executor-command.js";

// The trust boundary from the command line: `halo executor serve` refuses exposed binds
// without TLS and a token, serves only configured models; clients (`halo run`,
// `halo profile` with --executors) connect with --tls-ca and --executor-token-file.
// Real gRPC on 127.0.0.1 with a certificate made by openssl.
const TOKEN = "cli-trust-test-token-0123456789abcdef";

let directory: string;
let certificate: SelfSignedCertificate;
let tokenFile: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "halo-executor-trust-"));
  certificate = await createSelfSignedCertificate({ directory });
  tokenFile = join(directory, "token");
  await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  await writeFile(join(directory, "short-token"), "abc\n");
  await writeFile(join(directory, "not-a-cert.pem"), "hello\n");
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const serveFlags = (overrides: Partial<Parameters<typeof serveOptionsFromFlags>[0]> = {}) =>
  serveOptionsFromFlags({
    engine: "sim",
    host: "127.0.0.1",
    port: "0",
    threads: "1",
    profile: "builtin:h100",
    timeScale: "0.001",
    batchWindowMs: "3",
    drainMs: "1000",
    ...overrides,
  });

/** Runs `serveExecutor` until `stop()`; resolves once it announced its listening line. */
async function serve(options: ServeExecutorOptions) {
  const io = recordingIo();
  let announced: (line: string) => void = () => undefined;
  const listeningLine = new Promise<string>((resolve) => {
    announced = resolve;
  });
  const watched = {
    ...io,
    stdout(text: string) {
      io.stdout(text);
      if (text.includes('"listening"')) announced(text);
    },
  };
  const stop = new AbortController();
  const serving = serveExecutor(options, watched, stop.signal);
  // Event-driven: the listening line, or the error that ended serving before it.
  const line = await Promise.race([
    listeningLine,
    serving.then(() => {
      throw new Error(`serveExecutor ended before listening: ${io.err()}`);
    }),
  ]);
  const listening = JSON.parse(line) as { address: string; port: number; tls: boolean; token: boolean };
  return {
    listening,
    io,
    async stop() {
      stop.abort();
      await serving;
    },
  };
}

describe("halo executor serve: who may bind what (exit 2 before anything listens)", () => {
  it.each([
    [["--host", "0.0.0.0"], "--host: 0.0.0.0 is not a loopback address"],
    [
      ["--host", "0.0.0.0", "--token-file", "t"],
      "needs TLS (--tls-cert and --tls-key); or spell out --insecure",
    ],
    [["--host", "::", "--tls-cert", "c", "--tls-key", "k"], "needs a bearer token (--token-file)"],
    [["--tls-cert", "c"], "--tls-cert and --tls-key go together"],
    [["--tls-key", "k"], "--tls-cert and --tls-key go together"],
    [
      ["--allow-models", "gpt-4o"],
      '--allow-models: profile "H100-SXM5-80GB (simulated)" has no model "gpt-4o"',
    ],
    [["--allow-models", " , "], "--allow-models: expected model names"],
  ])("refuses %j", async (flags, message) => {
    const io = recordingIo();
    expect(await runCli(["executor", "serve", "--engine", "sim", ...flags], io)).toBe(2);
    expect(io.err()).toContain(message);
    expect(io.out()).not.toContain("listening");
  });

  it("refuses unreadable or invalid certificate, key and token files, naming the flag", async () => {
    const cert = certificate.certPath;
    const cases: [string[], string][] = [
      [["--token-file", join(directory, "short-token")], "--token-file: token file"],
      [["--token-file", join(directory, "absent")], "absent: file not found"],
      [["--tls-cert", join(directory, "not-a-cert.pem"), "--tls-key", certificate.keyPath], "--tls-cert:"],
      [["--tls-cert", cert, "--tls-key", join(directory, "not-a-cert.pem")], "--tls-key:"],
      [
        ["--tls-cert", join(directory, "absent.pem"), "--tls-key", certificate.keyPath],
        "--tls-cert: cannot read",
      ],
    ];
    for (const [flags, message] of cases) {
      const io = recordingIo();
      expect(await runCli(["executor", "serve", "--engine", "sim", ...flags], io), message).toBe(2);
      expect(io.err()).toContain(message);
    }
    // A key that is not the certificate's.
    const other = await createSelfSignedCertificate();
    const io = recordingIo();
    expect(
      await runCli(
        ["executor", "serve", "--engine", "sim", "--tls-cert", cert, "--tls-key", other.keyPath],
        io,
      ),
    ).toBe(2);
    expect(io.err()).toContain("is not the private key of the certificate");
  });

  it("with --insecure binds a non-loopback address and warns", async () => {
    const server = await serve(serveFlags({ host: "0.0.0.0", insecure: true }));
    try {
      expect(server.io.err()).toMatch(
        /WARNING: --insecure: 0\.0\.0\.0:\d+ is served without TLS and a token/,
      );
      const client = createExecutorClient(`127.0.0.1:${server.listening.port}`);
      expect((await client.info()).engine).toBe("sim");
      client.close();
    } finally {
      await server.stop();
    }
  });
});

describe("halo executor serve with TLS and a token", () => {
  let server: Awaited<ReturnType<typeof serve>>;
  let clientOptions: ExecutorClientOptions;

  beforeAll(async () => {
    server = await serve(
      serveFlags({
        tlsCert: certificate.certPath,
        tlsKey: certificate.keyPath,
        tokenFile,
        allowModels: "acme/Gadget-3B",
      }),
    );
    clientOptions = await executorClientOptionsFromFlags(
      { tlsCa: certificate.certPath, executorTokenFile: tokenFile },
      {},
    );
  });

  afterAll(() => server.stop());

  it("announces TLS and token, serves clients that present both", async () => {
    expect(server.listening).toMatchObject({ tls: true, token: true });
    const client = createExecutorClient(server.listening.address, clientOptions);
    try {
      const names = (await client.info()).models.map((model) => model.name);
      expect(names).toContain("acme/Gadget-3B");
      expect(names).toContain("Qwen/Qwen3-14B");
      expect(await client.loadModel("acme/Gadget-3B")).toMatchObject({ model: "acme/Gadget-3B" });
      await expect(client.loadModel("evil/y-120B")).rejects.toMatchObject({ code: GrpcStatus.NOT_FOUND });
    } finally {
      client.close();
    }
    const anonymous = createExecutorClient(server.listening.address, {
      security: { tlsCaPem: certificate.certPem },
    });
    try {
      await expect(anonymous.info()).rejects.toMatchObject({ code: GrpcStatus.UNAUTHENTICATED });
    } finally {
      anonymous.close();
    }
  });

  it("halo profile: refuses a model the executor does not serve (exit 2 naming it), measures with credentials", async () => {
    const base = ["profile", "--executors", server.listening.address, "--tls-ca", certificate.certPath];
    const refused = recordingIo();
    expect(
      await runCli(
        [...base, "--executor-token-file", tokenFile, "--models", "evil/y-120B", "--quick"],
        refused,
      ),
    ).toBe(2);
    expect(refused.err()).toContain('does not serve model "evil/y-120B"');
    expect(refused.err()).toContain("--allow-models evil/y-120B");

    const noToken = recordingIo();
    expect(await runCli([...base, "--models", "Qwen/Qwen3-14B", "--quick"], noToken)).toBe(2);
    expect(noToken.err()).toContain("refused this client");
    expect(noToken.err()).toContain("requires a bearer token");

    // Without --tls-ca the client speaks plaintext to a TLS executor: gRPC sees no connection.
    const plaintext = recordingIo();
    const withoutCa = [
      "profile",
      "--executors",
      server.listening.address,
      "--executor-token-file",
      tokenFile,
    ];
    expect(await runCli([...withoutCa, "--models", "Qwen/Qwen3-14B", "--quick"], plaintext)).toBe(2);
    expect(plaintext.err()).toContain("is not reachable");
    expect(plaintext.err()).toContain("if it serves TLS, give --tls-ca");

    const measured = recordingIo();
    const out = join(directory, "profile.json");
    expect(
      await runCli(
        [...base, "--executor-token-file", tokenFile, "--models", "Qwen/Qwen3-14B", "--quick", "--out", out],
        measured,
      ),
      measured.err(),
    ).toBe(0);
    expect(Object.keys(JSON.parse(await readFile(out, "utf8")).models)).toEqual(["Qwen/Qwen3-14B"]);
  });

  it("halo run --executors: runs with --tls-ca and the token (file or HALO_EXECUTOR_TOKEN), refuses without", async () => {
    const workflow = join(directory, "plain.yaml");
    await writeFile(
      workflow,
      `graph:
  name: plain
  nodes:
    - { id: q, type: input, outputs: [text] }
    - { id: a, type: inference, model: Qwen/Qwen3-14B, inputs: [text], outputs: [answer] }
  edges:
    - { from: q, to: a }
`,
    );
    const queries = join(directory, "plain.jsonl");
    await writeFile(queries, '{"id": "q1", "text": "hello"}\n{"id": "q2", "text": "world"}\n');
    const base = (out: string) => [
      "run",
      workflow,
      "--queries",
      queries,
      "--executors",
      server.listening.address,
      "--profile",
      "builtin:h100",
      "--tls-ca",
      certificate.certPath,
      "--out",
      join(directory, out),
      "--no-progress",
    ];

    const refused = recordingIo();
    expect(await runCli(base("refused.jsonl"), refused)).toBe(2);
    expect(refused.err()).toContain(`executor ${server.listening.address} refused this client`);
    await expect(readFile(join(directory, "refused.jsonl"), "utf8")).rejects.toThrow(/ENOENT/);

    const io = recordingIo();
    expect(await runCli([...base("ok.jsonl"), "--executor-token-file", tokenFile], io), io.err()).toBe(0);
    const records = (await readFile(join(directory, "ok.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { id: string; ok: boolean });
    expect(records.map((record) => [record.id, record.ok]).sort()).toEqual([
      ["q1", true],
      ["q2", true],
    ]);

    process.env["HALO_EXECUTOR_TOKEN"] = TOKEN;
    try {
      const fromEnvironment = recordingIo();
      expect(await runCli(base("env.jsonl"), fromEnvironment), fromEnvironment.err()).toBe(0);
    } finally {
      delete process.env["HALO_EXECUTOR_TOKEN"];
    }
  });
});

describe("client credentials from flags", () => {
  it("reads --tls-ca and the token; HALO_EXECUTOR_TOKEN when no file is given; names bad input", async () => {
    expect(await executorClientOptionsFromFlags({}, {})).toEqual({});
    expect(await executorClientOptionsFromFlags({}, { HALO_EXECUTOR_TOKEN: TOKEN })).toEqual({
      security: { token: TOKEN },
    });
    const both = await executorClientOptionsFromFlags(
      { tlsCa: certificate.certPath, executorTokenFile: tokenFile },
      { HALO_EXECUTOR_TOKEN: "ignored-when-a-file-is-given-000" },
    );
    expect(both.security?.token).toBe(TOKEN);
    expect(both.security?.tlsCaPem?.equals(certificate.certPem)).toBe(true);
    await expect(executorClientOptionsFromFlags({}, { HALO_EXECUTOR_TOKEN: "short" })).rejects.toThrow(
      /HALO_EXECUTOR_TOKEN: a token needs at least 16/,
    );
    await expect(
      executorClientOptionsFromFlags({ tlsCa: join(directory, "not-a-cert.pem") }, {}),
    ).rejects.toThrow(/--tls-ca: .*not-a-cert\.pem is not a PEM certificate/);
    await expect(
      executorClientOptionsFromFlags({ executorTokenFile: join(directory, "short-token") }, {}),
    ).rejects.toMatchObject({ exitCode: 2 });
  });

  it("halo run refuses executor credentials without --executors", async () => {
    const io = recordingIo();
    expect(
      await runCli(["run", "x.yaml", "--queries", "q.jsonl", "--tls-ca", certificate.certPath], io),
    ).toBe(2);
    expect(io.err()).toContain("--tls-ca and --executor-token-file are for --executors");
  });
});

describe("an executor for llama.cpp with --allow-models", () => {
  it("serves the allowed stand-in besides the built-in ones, and nothing else", async () => {
    const server = await serve({ ...serveFlags({ allowModels: "acme/Thing-3B" }), engine: "llamacpp" });
    const client = createExecutorClient(server.listening.address);
    try {
      const names = (await client.info()).models.map((model) => model.name);
      expect(names).toEqual(expect.arrayContaining(["acme/Thing-3B", "halo/tiny", "Qwen/Qwen3-32B"]));
      const refused = client.loadModel("evil/y-120B");
      await expect(refused).rejects.toMatchObject({ code: GrpcStatus.NOT_FOUND, errorCode: "unknown-model" });
    } finally {
      client.close();
      await server.stop();
    }
  });
});
