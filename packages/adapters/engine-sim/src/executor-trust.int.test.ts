import { createExecutorServer, type ExecutorServerHandle, ExposedBindError } from "@halo/executor";
import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import {
  createExecutorClient,
  type ExecutorClient,
  type ExecutorClientOptions,
  GrpcStatus,
  type ServerSecurity,
} from "@halo/protocol";
import { createSelfSignedCertificate, type SelfSignedCertificate } from "@halo/protocol/test";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { SimEngine, type SimEngineOptions } from "./sim-engine.js";

// The trust boundary of an executor sidecar on real gRPC (127.0.0.1, a certificate made by openssl):
// who may call it, and which models a caller may make it load.
const TOKEN = "executor-trust-test-token-0123456789";
const MODEL = "Qwen/Qwen3-14B";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startSidecar(
  options: {
    security?: ServerSecurity;
    host?: string;
    insecure?: boolean;
    engine?: Partial<SimEngineOptions>;
  } = {},
): Promise<ExecutorServerHandle> {
  const engine = new SimEngine({ profile: H100_SIMULATED_PROFILE, timeScale: 0.001, ...options.engine });
  const server = await createExecutorServer({
    engine,
    ...(options.host ? { host: options.host } : {}),
    ...(options.security ? { security: options.security } : {}),
    ...(options.insecure ? { insecure: true } : {}),
  });
  cleanups.push(() => server.close(1_000));
  return server;
}

function connect(address: string, options: ExecutorClientOptions = {}): ExecutorClient {
  const client = createExecutorClient(address, { retry: { maxAttempts: 1 }, ...options });
  cleanups.push(() => client.close());
  return client;
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

describe("model allow-list", () => {
  it("refuses to load a model the operator did not configure, naming it and how to allow it", async () => {
    const server = await startSidecar();
    const client = connect(server.address);
    const refused = client.loadModel("evil/y-120B");
    await expect(refused).rejects.toMatchObject({ code: GrpcStatus.NOT_FOUND, errorCode: "unknown-model" });
    await expect(refused).rejects.toThrow(
      /LoadModel: model "evil\/y-120B" is not configured on this executor.*--allow-models evil\/y-120B/,
    );
    expect((await client.stats()).loadedModels).toEqual([]);
    // A configured model still loads.
    expect(await client.loadModel(MODEL)).toMatchObject({ model: MODEL, alreadyLoaded: false });
  });

  it("refuses KV for an unconfigured model and Generate of one", async () => {
    const server = await startSidecar();
    const client = connect(server.address);
    await expect(client.importKv("k", "evil/y-120B", [new Uint8Array(16)])).rejects.toMatchObject({
      code: GrpcStatus.NOT_FOUND,
      errorCode: "unknown-model",
    });
    await expect(
      collect(client.generate({ model: "evil/y-120B", items: [{ id: "a", prompt: "hi", maxTokens: 2 }] })),
    ).rejects.toMatchObject({ code: GrpcStatus.NOT_FOUND });
  });

  it("serves exactly the names it was configured with", async () => {
    const server = await startSidecar({ engine: { models: { "acme/Custom-7B": "acme/Custom-7B" } } });
    const client = connect(server.address);
    expect((await client.info()).models.map((model) => model.name)).toEqual(["acme/Custom-7B"]);
    expect(await client.loadModel("acme/Custom-7B")).toMatchObject({ model: "acme/Custom-7B" });
    await expect(client.loadModel(MODEL)).rejects.toMatchObject({ code: GrpcStatus.NOT_FOUND });
  });
});

describe("TLS and bearer token", () => {
  let certificate: SelfSignedCertificate;
  beforeAll(async () => {
    certificate = await createSelfSignedCertificate();
  });
  const tls = () => ({ certPem: certificate.certPem, keyPem: certificate.keyPem });

  it("serves a client with the CA and the token; refuses a wrong or missing token on every kind of call", async () => {
    const server = await startSidecar({ security: { tls: tls(), token: TOKEN } });
    const trusted = connect(server.address, { security: { tlsCaPem: certificate.certPem, token: TOKEN } });
    const finished = await collect(
      trusted.generate({ model: MODEL, items: [{ id: "a", prompt: "hello", maxTokens: 3 }] }),
    );
    expect(finished.at(-1)?.type).toBe("batch-finished");

    for (const token of [undefined, "not-the-token-of-this-executor"]) {
      const stranger = connect(server.address, {
        security: { tlsCaPem: certificate.certPem, ...(token ? { token } : {}) },
      });
      const unauthenticated = { code: GrpcStatus.UNAUTHENTICATED };
      await expect(stranger.info()).rejects.toMatchObject(unauthenticated);
      await expect(stranger.loadModel(MODEL)).rejects.toMatchObject(unauthenticated);
      await expect(
        collect(stranger.generate({ model: MODEL, items: [{ id: "a", prompt: "hello", maxTokens: 3 }] })),
      ).rejects.toMatchObject(unauthenticated);
      await expect(stranger.importKv("k", MODEL, [new Uint8Array(8)])).rejects.toMatchObject(unauthenticated);
      await expect(collect(stranger.exportKv("k"))).rejects.toMatchObject(unauthenticated);
      // The health check stays open: it tells only whether the executor serves.
      expect(await stranger.health()).toBe("serving");
    }
    // Nothing the strangers sent reached the engine.
    const stats = await trusted.stats();
    expect(stats.sidecar?.generateCalls).toBe(1);
    expect(stats.loadedModels).toEqual([MODEL]);
    expect(stats.kvEntries).toEqual([]);
  });

  it("refuses a non-loopback bind without TLS and a token, and allows it with --insecure", async () => {
    for (const security of [undefined, { token: TOKEN }, { tls: tls() }]) {
      await expect(
        startSidecar({ host: "0.0.0.0", ...(security ? { security } : {}) }),
      ).rejects.toBeInstanceOf(ExposedBindError);
    }
    await expect(startSidecar({ host: "0.0.0.0" })).rejects.toThrow(
      /0\.0\.0\.0 is not a loopback address.*--insecure/,
    );
    const exposed = await startSidecar({ host: "0.0.0.0", insecure: true });
    expect(await connect(`127.0.0.1:${exposed.port}`).info()).toMatchObject({ engine: "sim" });
    const protectedServer = await startSidecar({ host: "0.0.0.0", security: { tls: tls(), token: TOKEN } });
    const client = connect(`127.0.0.1:${protectedServer.port}`, {
      security: { tlsCaPem: certificate.certPem, token: TOKEN },
    });
    expect(await client.info()).toMatchObject({ engine: "sim" });
  });
});
