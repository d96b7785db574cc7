import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServerUnaryCall, sendUnaryData, UntypedServiceImplementation } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  exposedBindProblem,
  InvalidTokenError,
  isLoopbackHost,
  readTokenFile,
  tokenMatches,
  tokenProblem,
} from "./connection-security.js";
import { ExecutorCallError } from "./executor-call-error.js";
import { createExecutorClient, type ExecutorClientOptions } from "./executor-client.js";
import { ExecutorService, type InfoResponse } from "./generated/halo/executor/v1/executor.js";
import { type GrpcServerHandle, startGrpcServer } from "./grpc-server.js";
import { createHealthService, type HealthServiceHandle } from "./health-service.js";
import { GrpcStatus } from "./index.js";
import { createSelfSignedCertificate, type SelfSignedCertificate } from "./test/self-signed-certificate.js";

const TOKEN = "s3cret-token-of-the-executor-0123456789";
const INFO: InfoResponse = {
  engine: "scripted",
  engineVersion: "1",
  threads: 1,
  models: [],
  maxSequences: 4,
  maxBatchTokens: 1024,
  memoryBudgetBytes: 1,
  kvBudgetBytes: 1,
};

describe("tokens", () => {
  it("match only when equal, whatever their lengths", () => {
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(tokenMatches(`${TOKEN}x`, TOKEN)).toBe(false);
    expect(tokenMatches("", TOKEN)).toBe(false);
    expect(tokenMatches(TOKEN.replace("s", "S"), TOKEN)).toBe(false);
  });

  it("must be long printable ASCII", () => {
    expect(tokenProblem(TOKEN)).toBeUndefined();
    expect(tokenProblem("short")).toMatch(/at least 16 characters \(got 5\)/);
    expect(tokenProblem("has a space in the middle")).toMatch(/printable ASCII/);
    expect(tokenProblem("tab\there-and-more-chars")).toMatch(/printable ASCII/);
  });

  it("are read from files without their trailing newline; bad files are named", async () => {
    const directory = await mkdtemp(join(tmpdir(), "halo-token-"));
    await writeFile(join(directory, "good"), `${TOKEN}\n`);
    await writeFile(join(directory, "short"), "abc\n");
    expect(await readTokenFile(join(directory, "good"))).toBe(TOKEN);
    await expect(readTokenFile(join(directory, "short"))).rejects.toThrow(/short: a token needs at least 16/);
    const missing = readTokenFile(join(directory, "missing"));
    await expect(missing).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(missing).rejects.toThrow(/missing: file not found/);
  });
});

describe("loopback and exposed binds", () => {
  it("tells loopback hosts from the others", () => {
    for (const host of [
      "127.0.0.1",
      "127.1.2.3",
      "localhost",
      "::1",
      "[::1]",
      "0:0:0:0:0:0:0:1",
      "::ffff:127.0.0.1",
    ])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ["0.0.0.0", "::", "10.0.0.5", "192.168.1.2", "example.com", "128.0.0.1", "::2"])
      expect(isLoopbackHost(host), host).toBe(false);
  });

  it("requires TLS and a token beyond loopback, naming what is missing", () => {
    const none = { tls: false, token: false };
    expect(exposedBindProblem("127.0.0.1", none)).toBeUndefined();
    expect(exposedBindProblem("0.0.0.0", { tls: true, token: true })).toBeUndefined();
    expect(exposedBindProblem("0.0.0.0", none)).toMatch(
      /0\.0\.0\.0 is not a loopback address.*TLS \(--tls-cert and --tls-key\) and a bearer token \(--token-file\).*--insecure/,
    );
    expect(exposedBindProblem("10.0.0.5", { tls: true, token: false })).toMatch(
      /needs a bearer token \(--token-file\);/,
    );
    expect(exposedBindProblem("::", { tls: false, token: true })).toMatch(
      /needs TLS \(--tls-cert and --tls-key\);/,
    );
  });
});

// Real gRPC on loopback with a certificate made by openssl for 127.0.0.1.
describe("a server that requires TLS and a bearer token", () => {
  let certificate: SelfSignedCertificate;
  let otherCertificate: SelfSignedCertificate;
  let server: GrpcServerHandle;
  let health: HealthServiceHandle;
  let infoCalls = 0;

  beforeAll(async () => {
    [certificate, otherCertificate] = await Promise.all([
      createSelfSignedCertificate(),
      createSelfSignedCertificate(),
    ]);
    health = createHealthService({ "": "serving" });
    const implementation: UntypedServiceImplementation = {
      info(_call: ServerUnaryCall<unknown, InfoResponse>, callback: sendUnaryData<InfoResponse>) {
        infoCalls++;
        callback(null, INFO);
      },
    };
    server = await startGrpcServer({
      services: [{ definition: ExecutorService, implementation }, health.binding],
      security: { tls: { certPem: certificate.certPem, keyPem: certificate.keyPem }, token: TOKEN },
    });
  });

  afterAll(async () => {
    health.close();
    await server.shutdown(1_000);
  });

  const call = async (options: ExecutorClientOptions) => {
    const client = createExecutorClient(server.address, { retry: { maxAttempts: 1 }, ...options });
    try {
      return await client.info({ deadlineMs: 5_000 });
    } finally {
      client.close();
    }
  };

  it("answers a client that trusts its certificate and sends the token", async () => {
    const before = infoCalls;
    expect(await call({ security: { tlsCaPem: certificate.certPem, token: TOKEN } })).toEqual(INFO);
    expect(infoCalls).toBe(before + 1);
  });

  it("refuses a wrong or missing token with UNAUTHENTICATED before the handler runs", async () => {
    const before = infoCalls;
    const wrong = call({ security: { tlsCaPem: certificate.certPem, token: `${TOKEN}-wrong` } });
    await expect(wrong).rejects.toMatchObject({ code: GrpcStatus.UNAUTHENTICATED });
    await expect(wrong).rejects.toThrow(/wrong bearer token/);
    const missing = call({ security: { tlsCaPem: certificate.certPem } });
    await expect(missing).rejects.toBeInstanceOf(ExecutorCallError);
    await expect(missing).rejects.toMatchObject({ code: GrpcStatus.UNAUTHENTICATED });
    await expect(missing).rejects.toThrow(/requires a bearer token/);
    expect(infoCalls).toBe(before);
  });

  it("keeps the health check open (it says only whether the executor serves)", async () => {
    const client = createExecutorClient(server.address, { security: { tlsCaPem: certificate.certPem } });
    try {
      expect(await client.health("", { deadlineMs: 5_000 })).toBe("serving");
    } finally {
      client.close();
    }
  });

  it("fails clients that do not speak TLS or do not trust its certificate", async () => {
    const before = infoCalls;
    await expect(call({ security: { token: TOKEN } })).rejects.toMatchObject({
      code: GrpcStatus.UNAVAILABLE,
    });
    await expect(
      call({ security: { tlsCaPem: otherCertificate.certPem, token: TOKEN } }),
    ).rejects.toMatchObject({ code: GrpcStatus.UNAVAILABLE });
    expect(infoCalls).toBe(before);
  });
});

describe("a loopback server with a token and no TLS", () => {
  let server: GrpcServerHandle;

  beforeAll(async () => {
    const implementation: UntypedServiceImplementation = {
      info(_call: ServerUnaryCall<unknown, InfoResponse>, callback: sendUnaryData<InfoResponse>) {
        callback(null, INFO);
      },
    };
    server = await startGrpcServer({
      services: [{ definition: ExecutorService, implementation }],
      security: { token: TOKEN },
    });
  });

  afterAll(() => server.shutdown(1_000));

  it("enforces the token over plaintext too", async () => {
    const client = createExecutorClient(server.address, { security: { token: TOKEN } });
    const anonymous = createExecutorClient(server.address);
    try {
      expect(await client.info({ deadlineMs: 5_000 })).toEqual(INFO);
      await expect(anonymous.info({ deadlineMs: 5_000 })).rejects.toMatchObject({
        code: GrpcStatus.UNAUTHENTICATED,
      });
    } finally {
      client.close();
      anonymous.close();
    }
  });
});
