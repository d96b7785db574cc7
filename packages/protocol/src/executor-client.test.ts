import type {
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
  sendUnaryData,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecutorCallError } from "./executor-call-error.js";
import { createExecutorClient, type ExecutorClient } from "./executor-client.js";
import { type ExecutorEvent, eventToWire } from "./executor-events.js";
import {
  ExecutorService,
  type GenerateEvent,
  type GenerateRequest,
  type ImportKvRequest,
  type ImportKvResponse,
  type InfoResponse,
  type KvChunk,
} from "./generated/halo/executor/v1/executor.js";
import { type GrpcServerHandle, startGrpcServer } from "./grpc-server.js";
import { createHealthService, type HealthServiceHandle } from "./health-service.js";
import { GrpcStatus } from "./index.js";

// A real gRPC server with a scripted Executor implementation: this file tests
// the client's plumbing (deadlines, retries, streaming), not an engine.
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

describe("createExecutorClient against a real gRPC server", () => {
  let server: GrpcServerHandle;
  let health: HealthServiceHandle;
  let client: ExecutorClient;
  const counters = { info: 0, generate: 0, loadModel: 0 };
  const imported: Buffer[] = [];

  beforeAll(async () => {
    health = createHealthService({ "": "serving", "halo.executor.v1.Executor": "serving" });
    const implementation: UntypedServiceImplementation = {
      info(_call: ServerUnaryCall<unknown, InfoResponse>, callback: sendUnaryData<InfoResponse>) {
        counters.info++;
        // The first two calls find the executor "down": the client retries.
        if (counters.info <= 2) callback({ code: GrpcStatus.UNAVAILABLE, details: "warming up" });
        else callback(null, INFO);
      },
      loadModel(_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) {
        counters.loadModel++;
        callback({ code: GrpcStatus.NOT_FOUND, details: 'unknown model "nope"' });
      },
      stats() {
        // Never answers: the call must end at its deadline.
      },
      generate(call: ServerWritableStream<GenerateRequest, GenerateEvent>) {
        counters.generate++;
        if (call.request.model === "unavailable") {
          call.emit("error", { code: GrpcStatus.UNAVAILABLE, details: "engine restarting" });
          return;
        }
        const events: ExecutorEvent[] = call.request.items.flatMap((item): ExecutorEvent[] => [
          { type: "token", itemId: item.id, text: "a" },
          {
            type: "item-finished",
            itemId: item.id,
            text: "a",
            finishReason: "length",
            figures: {
              promptTokens: 2,
              cachedTokens: 0,
              generatedTokens: 1,
              prefillMs: 1,
              decodeMs: 1,
              queueMs: 0,
            },
          },
        ]);
        for (const event of events) call.write(eventToWire(event));
        call.end();
      },
      exportKv(call: ServerWritableStream<unknown, KvChunk>) {
        for (let index = 0; index < 3; index++) call.write({ data: Buffer.alloc(4, index) });
        call.end();
      },
      importKv(
        call: ServerReadableStream<ImportKvRequest, ImportKvResponse>,
        callback: sendUnaryData<ImportKvResponse>,
      ) {
        let header: { key: string; model: string } | undefined;
        call.on("data", (message: ImportKvRequest) => {
          if (message.part?.$case === "header") header = message.part.header;
          if (message.part?.$case === "chunk") imported.push(message.part.chunk);
        });
        call.on("end", () => {
          const bytes = imported.reduce((sum, chunk) => sum + chunk.length, 0);
          callback(null, {
            entry: { key: header!.key, model: header!.model, tokens: 1, bytes },
            evicted: [],
          });
        });
      },
      dropKv(_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) {
        callback(null, { dropped: false, freedBytes: 0 });
      },
    };
    server = await startGrpcServer({
      services: [{ definition: ExecutorService, implementation }, health.binding],
    });
    client = createExecutorClient(server.address, { retry: { initialBackoffMs: 5 } });
  });

  afterAll(async () => {
    client.close();
    health.close();
    await server.shutdown(1_000);
  });

  it("binds to loopback on a free port", () => {
    expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(server.port).toBeGreaterThan(0);
  });

  it("retries an idempotent call on UNAVAILABLE", async () => {
    await expect(client.info()).resolves.toEqual(INFO);
    expect(counters.info).toBe(3);
  });

  it("does not retry other errors", async () => {
    const error = await client.loadModel("nope").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ExecutorCallError);
    expect((error as ExecutorCallError).code).toBe(GrpcStatus.NOT_FOUND);
    expect((error as ExecutorCallError).message).toContain('unknown model "nope"');
    expect(counters.loadModel).toBe(1);
  });

  it("does not retry Generate (not idempotent)", async () => {
    const before = counters.generate;
    const events = client.generate({ model: "unavailable", items: [{ id: "a", prompt: "x", maxTokens: 1 }] });
    const error = await collect(events).catch((caught: unknown) => caught);
    expect((error as ExecutorCallError).code).toBe(GrpcStatus.UNAVAILABLE);
    expect(counters.generate).toBe(before + 1);
  });

  it("ends a call that gets no answer at its deadline", async () => {
    const started = Date.now();
    const error = await client.stats({ deadlineMs: 150 }).catch((caught: unknown) => caught);
    expect((error as ExecutorCallError).code).toBe(GrpcStatus.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("cancels a call when its signal aborts", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const error = await client.stats({ signal: controller.signal }).catch((caught: unknown) => caught);
    expect((error as ExecutorCallError).code).toBe(GrpcStatus.CANCELLED);
  });

  it("streams Generate events as a discriminated union", async () => {
    const events = await collect(
      client.generate({
        model: "m",
        items: [
          { id: "a", prompt: "x", maxTokens: 1 },
          { id: "b", prompt: "y", maxTokens: 1 },
        ],
      }),
    );
    expect(events.map((event) => event.type)).toEqual(["token", "item-finished", "token", "item-finished"]);
    const finished = events[1]!;
    expect(finished.type === "item-finished" && finished.finishReason).toBe("length");
  });

  it("streams KV chunks out and in", async () => {
    const chunks = await collect(client.exportKv("prefix"));
    expect(chunks.map((chunk) => chunk.length)).toEqual([4, 4, 4]);
    const response = await client.importKv("prefix", "m", chunks);
    expect(response.entry).toEqual({ key: "prefix", model: "m", tokens: 1, bytes: 12 });
    expect(Buffer.concat(imported)).toEqual(Buffer.concat(chunks));
  });

  it("reports health and NOT_FOUND for an unknown service", async () => {
    await expect(client.health()).resolves.toBe("serving");
    health.setStatus("", "not-serving");
    await expect(client.health()).resolves.toBe("not-serving");
    health.setStatus("", "serving");
    const error = await client.health("no.such.Service").catch((caught: unknown) => caught);
    expect((error as ExecutorCallError).code).toBe(GrpcStatus.NOT_FOUND);
  });

  it("fails fast with UNAVAILABLE when nothing listens", async () => {
    const unused = await startGrpcServer({ services: [] });
    await unused.shutdown(100);
    const dead = createExecutorClient(unused.address, { retry: { maxAttempts: 2, initialBackoffMs: 5 } });
    const started = Date.now();
    const error = await dead.info({ deadlineMs: 3_000 }).catch((caught: unknown) => caught);
    dead.close();
    expect((error as ExecutorCallError).code).toBe(GrpcStatus.UNAVAILABLE);
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
