import { getEventListeners } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { gzipSync } from "node:zlib";
import type { HttpLatency, HttpToolRequest } from "@halo/ir";
import { sfc32 as createSeededRandom } from "@halo/seeded-random";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { samplePaddedLatencyMs } from "./gamma-sampler.js";
import { HttpTool } from "./http-tool.js";
import type { HttpToolError } from "./http-tool-error.js";

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

let server: Server;
let origin: string;
let host: string;
const received: Received[] = [];
let connections = 0;
/** Bytes the /huge-stream route managed to write before the client hung up. */
let streamedBytes = 0;
let streamFinished: Promise<void> = Promise.resolve();

const routes: Record<string, (request: IncomingMessage, response: ServerResponse, body: string) => void> = {
  "/echo": (request, response, body) => {
    response.setHeader("content-type", "application/json");
    response.end(
      JSON.stringify({
        method: request.method,
        url: request.url,
        body,
        type: request.headers["content-type"] ?? null,
      }),
    );
  },
  "/fail": (_request, response) => {
    response.statusCode = 500;
    response.end("database on fire");
  },
  "/missing": (_request, response) => {
    response.statusCode = 404;
    response.end();
  },
  "/slow": () => {
    // Never answers; the client's timeout must end the call.
  },
  "/gzip": (_request, response) => {
    response.setHeader("content-type", "application/json");
    response.setHeader("content-encoding", "gzip");
    response.end(gzipSync(JSON.stringify({ compressed: true, rows: [1, 2, 3] })));
  },
  "/gzip-bomb": (_request, response) => {
    // 8 MiB of spaces compress to a few KiB: under the limit on the wire, far over it decoded.
    response.setHeader("content-encoding", "gzip");
    response.end(gzipSync(Buffer.alloc(8 * 1024 * 1024, 32)));
  },
  "/cut-body": (_request, response) => {
    response.setHeader("content-type", "application/json");
    response.setHeader("content-length", "1000");
    response.write('{"partial": ');
    setTimeout(() => response.socket?.destroy(), 20);
  },
  "/slow-body": (_request, response) => {
    response.setHeader("content-type", "application/json");
    response.write('{"partial": ');
  },
  "/huge": (_request, response) => {
    response.setHeader("content-length", String(2 * 1024 * 1024));
    response.end(Buffer.alloc(2 * 1024 * 1024, 32));
  },
  "/huge-stream": (_request, response) => {
    // Streams up to 64 MiB without a content-length; stops when the client hangs up.
    streamedBytes = 0;
    const chunk = Buffer.alloc(64 * 1024, 32);
    streamFinished = new Promise((resolve) => {
      const pump = (): void => {
        while (streamedBytes < 64 * 1024 * 1024 && !response.destroyed) {
          streamedBytes += chunk.length;
          if (!response.write(chunk)) {
            response.once("drain", pump);
            return;
          }
        }
        response.end();
        resolve();
      };
      response.on("close", () => resolve());
      pump();
    });
  },
  "/invalid-json": (_request, response) => {
    response.end("<html>not json</html>");
  },
  "/empty": (_request, response) => {
    response.statusCode = 204;
    response.end();
  },
  "/redirect-local": (_request, response) => {
    response.statusCode = 302;
    response.setHeader("location", "/echo?from=redirect");
    response.end();
  },
  "/redirect-away": (_request, response) => {
    response.statusCode = 302;
    response.setHeader("location", "http://not-allowed.example/steal");
    response.end();
  },
  "/redirect-loop": (_request, response) => {
    response.statusCode = 307;
    response.setHeader("location", "/redirect-loop");
    response.end();
  },
};

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on("end", () => {
      received.push({ method: request.method ?? "", url: request.url ?? "", headers: request.headers, body });
      const route = routes[new URL(request.url ?? "/", "http://x").pathname];
      if (route === undefined) {
        response.statusCode = 404;
        response.end();
      } else route(request, response, body);
    });
  });
  server.on("connection", () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  host = `127.0.0.1:${port}`;
  origin = `http://${host}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received.length = 0;
  connections = 0;
});

const live: HttpLatency = { mode: "live", timeoutMs: 5_000 };

function call(overrides: Partial<HttpToolRequest> & { url: string }): HttpToolRequest {
  return { method: "GET", params: {}, headers: {}, latency: live, ...overrides };
}

async function rejection(promise: Promise<unknown>): Promise<HttpToolError> {
  try {
    await promise;
  } catch (error) {
    return error as HttpToolError;
  }
  throw new Error("expected the call to fail");
}

describe("HttpTool live requests", () => {
  it("GETs JSON with params encoded into the query string and the caller's headers", async () => {
    const tool = new HttpTool({ allowHosts: [host] });
    const result = await tool.doCall(
      call({
        url: `${origin}/echo?fixed=1`,
        params: { year: "1994", region: "MIDDLE EAST & co" },
        headers: { "x-trace": "t1" },
      }),
    );
    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      method: "GET",
      url: "/echo?fixed=1&year=1994&region=MIDDLE+EAST+%26+co",
      body: "",
      type: null,
    });
    expect(received[0]?.headers["x-trace"]).toBe("t1");
    expect(received[0]?.headers["accept"]).toBe("application/json");
    expect(result.elapsedMs).toBeGreaterThanOrEqual(0);
  });

  it("POSTs params as a JSON body, or a given body with params in the query string", async () => {
    const tool = new HttpTool({ allowHosts: "any" });
    const asJson = await tool.doCall(call({ url: `${origin}/echo`, method: "post", params: { q: "x" } }));
    expect(asJson.body).toEqual({
      method: "POST",
      url: "/echo",
      body: '{"q":"x"}',
      type: "application/json",
    });
    const withBody = await tool.doCall(
      call({
        url: `${origin}/echo`,
        method: "POST",
        params: { page: "2" },
        body: "raw text",
        headers: { "content-type": "text/plain" },
      }),
    );
    expect(withBody.body).toEqual({
      method: "POST",
      url: "/echo?page=2",
      body: "raw text",
      type: "text/plain",
    });
  });

  it("fails on a non-2xx status, naming the status and the start of the body", async () => {
    const tool = new HttpTool({ allowHosts: [host] });
    const error = await rejection(tool.doCall(call({ url: `${origin}/fail` })));
    expect(error).toMatchObject({
      name: "HttpToolError",
      code: "http-status",
      status: 500,
      url: `${origin}/fail`,
    });
    expect(error.message).toContain(
      `HTTP GET ${origin}/fail: status 500 Internal Server Error: "database on fire"`,
    );
    expect(await rejection(tool.doCall(call({ url: `${origin}/missing` })))).toMatchObject({
      code: "http-status",
      status: 404,
    });
  });

  it("times out a server that never answers, naming the timeout", async () => {
    const tool = new HttpTool({ allowHosts: [host] });
    const error = await rejection(
      tool.doCall(call({ url: `${origin}/slow`, latency: { mode: "live", timeoutMs: 150 } })),
    );
    expect(error.code).toBe("timeout");
    expect(error.message).toContain("within the timeout of 150 ms");
  });

  it("times out a body that never finishes", async () => {
    const tool = new HttpTool({ allowHosts: [host] });
    const error = await rejection(
      tool.doCall(call({ url: `${origin}/slow-body`, latency: { mode: "live", timeoutMs: 150 } })),
    );
    expect(error.code).toBe("timeout");
  });

  it("refuses a response whose declared length is over the limit", async () => {
    const tool = new HttpTool({ allowHosts: [host] });
    const error = await rejection(tool.doCall(call({ url: `${origin}/huge` })));
    expect(error.code).toBe("too-large");
    expect(error.message).toContain("limit of 1048576 bytes");
  });

  it("stops reading a streamed response at the limit and hangs up", async () => {
    const tool = new HttpTool({ allowHosts: [host], maxResponseBytes: 256 * 1024 });
    const error = await rejection(tool.doCall(call({ url: `${origin}/huge-stream` })));
    expect(error.code).toBe("too-large");
    await streamFinished;
    // The server saw the connection close long before it could send its 64 MiB.
    expect(streamedBytes).toBeLessThan(32 * 1024 * 1024);
  });

  it("decodes a gzip body and bounds its decoded size by the limit", async () => {
    const tool = new HttpTool({ allowHosts: [host] });
    expect(await tool.doCall(call({ url: `${origin}/gzip` }))).toMatchObject({
      status: 200,
      body: { compressed: true, rows: [1, 2, 3] },
    });
    expect(received.at(-1)?.headers["accept-encoding"]).toContain("gzip");
    const error = await rejection(tool.doCall(call({ url: `${origin}/gzip-bomb` })));
    expect(error.code).toBe("too-large");
  });

  it("reports a connection cut during the body as a network error", async () => {
    const tool = new HttpTool({ allowHosts: [host] });
    const error = await rejection(tool.doCall(call({ url: `${origin}/cut-body` })));
    expect(error.code).toBe("network");
    expect(error.message).toContain(`${origin}/cut-body`);
    // The tool keeps working on a new connection.
    expect(await tool.doCall(call({ url: `${origin}/gzip` }))).toMatchObject({ status: 200 });
  });

  it("reports invalid JSON with the URL and a snippet", async () => {
    const tool = new HttpTool({ allowHosts: [host] });
    const error = await rejection(tool.doCall(call({ url: `${origin}/invalid-json` })));
    expect(error.code).toBe("invalid-json");
    expect(error.message).toContain(`${origin}/invalid-json`);
    expect(error.message).toContain('"<html>not json</html>"');
  });

  it("returns null for an empty response", async () => {
    const tool = new HttpTool({ allowHosts: [host] });
    expect(await tool.doCall(call({ url: `${origin}/empty` }))).toMatchObject({ status: 204, body: null });
  });

  it("refuses hosts outside the allowlist without connecting, naming the host", async () => {
    const tool = new HttpTool({ allowHosts: [host] });
    const port = host.split(":")[1];
    const error = await rejection(tool.doCall(call({ url: `http://localhost:${port}/echo` })));
    expect(error.code).toBe("host-not-allowed");
    expect(error.message).toContain(`host localhost:${port} is not allowed (allowed hosts: ${host})`);
    expect(connections).toBe(0);
  });

  it("follows redirects to allowed hosts only", async () => {
    const tool = new HttpTool({ allowHosts: [host] });
    const followed = await tool.doCall(call({ url: `${origin}/redirect-local` }));
    expect(followed.body).toMatchObject({ url: "/echo?from=redirect" });
    const away = await rejection(tool.doCall(call({ url: `${origin}/redirect-away` })));
    expect(away.code).toBe("host-not-allowed");
    expect(away.message).toContain("not-allowed.example");
    const loop = await rejection(tool.doCall(call({ url: `${origin}/redirect-loop` })));
    expect(loop).toMatchObject({
      code: "invalid-request",
      message: expect.stringContaining("more than 5 redirects"),
    });
  });

  it("turns a POST into a GET after a 302, as browsers do", async () => {
    const tool = new HttpTool({ allowHosts: [host] });
    const result = await tool.doCall(
      call({ url: `${origin}/redirect-local`, method: "POST", params: { a: "1" } }),
    );
    expect(result.body).toMatchObject({ method: "GET", body: "" });
  });

  it("reports a refused connection as a network error with its cause", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as { port: number };
    await new Promise((resolve) => closed.close(resolve));
    const tool = new HttpTool({ allowHosts: "any" });
    const error = await rejection(tool.doCall(call({ url: `http://127.0.0.1:${port}/x` })));
    expect(error.code).toBe("network");
    expect(error.message).toContain("ECONNREFUSED");
  });

  it("rejects malformed requests before connecting, redacting passwords", async () => {
    const tool = new HttpTool({ allowHosts: "any" });
    expect(await rejection(tool.doCall(call({ url: "not a url" })))).toMatchObject({
      code: "invalid-request",
    });
    expect(await rejection(tool.doCall(call({ url: "ftp://127.0.0.1/x" })))).toMatchObject({
      code: "invalid-request",
      message: expect.stringContaining("ftp:"),
    });
    expect(await rejection(tool.doCall(call({ url: `${origin}/echo`, method: "GET /x" })))).toMatchObject({
      code: "invalid-request",
    });
    expect(await rejection(tool.doCall(call({ url: `${origin}/echo`, body: "x" })))).toMatchObject({
      code: "invalid-request",
      message: expect.stringContaining("a GET request cannot have a body"),
    });
    const secret = await rejection(
      new HttpTool({ allowHosts: ["example.org"] }).doCall(call({ url: `http://user:hunter2@${host}/echo` })),
    );
    expect(secret.code).toBe("host-not-allowed");
    expect(secret.message).not.toContain("hunter2");
    expect(secret.url).toBe(`http://user:***@${host}/echo`);
    expect(connections).toBe(0);
  });

  it("validates its options", () => {
    expect(() => new HttpTool({ allowHosts: "any", maxResponseBytes: 0 })).toThrow(/maxResponseBytes/);
    expect(() => new HttpTool({ allowHosts: "any", latencyScale: -1 })).toThrow(/latencyScale/);
    expect(() => new HttpTool({ allowHosts: ["http://x"] })).toThrow(/allowHosts entry/);
    expect(new HttpTool({ allowHosts: "any" }).specificationVersion).toBe("v1");
  });
});

describe("HttpTool latency modes", () => {
  it("sleep mode waits ms × latencyScale and never contacts the URL", async () => {
    const tool = new HttpTool({ allowHosts: [], latencyScale: 0.5 });
    const result = await tool.doCall(
      call({ url: `${origin}/echo`, params: { q: "x" }, latency: { mode: "sleep", ms: 40 } }),
    );
    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      skipped: true,
      mode: "sleep",
      method: "GET",
      url: `${origin}/echo`,
      params: { q: "x" },
      sleptMs: 20,
    });
    expect(result.elapsedMs).toBeGreaterThanOrEqual(19);
    expect(connections).toBe(0);
    expect(received).toHaveLength(0);
  });

  it("padded mode makes the real request and then waits for the seeded Gamma target", async () => {
    const tool = new HttpTool({ allowHosts: [host], latencyScale: 0.01 });
    const latency: HttpLatency = { mode: "padded", meanMs: 3000, timeoutMs: 5_000 };
    // The target the tool must reach: Gamma(4, mean/4) drawn from the request's seed.
    const targetMs = samplePaddedLatencyMs(30, createSeededRandom("query-7"));
    const first = await tool.doCall(
      call({ url: `${origin}/echo`, params: { q: "1" }, latency, seed: "query-7" }),
    );
    const second = await tool.doCall(
      call({ url: `${origin}/echo`, params: { q: "1" }, latency, seed: "query-7" }),
    );
    expect(first.body).toMatchObject({ url: "/echo?q=1" });
    expect(received).toHaveLength(2);
    expect(first.elapsedMs).toBeGreaterThanOrEqual(targetMs - 1);
    expect(second.elapsedMs).toBeGreaterThanOrEqual(targetMs - 1);
  });

  it("padded mode without a seed draws from the tool's random source", async () => {
    let draws = 0;
    const random = createSeededRandom("tool-level");
    const tool = new HttpTool({
      allowHosts: [host],
      random: () => {
        draws += 1;
        return random();
      },
    });
    await tool.doCall(
      call({ url: `${origin}/echo`, latency: { mode: "padded", meanMs: 1, timeoutMs: 5_000 } }),
    );
    expect(draws).toBeGreaterThan(0);
  });

  it("padded mode reports request failures at once, without padding", async () => {
    // A padded wait would take about a minute, far past the test's timeout.
    const tool = new HttpTool({ allowHosts: [host] });
    const error = await rejection(
      tool.doCall(
        call({
          url: `${origin}/fail`,
          latency: { mode: "padded", meanMs: 60_000, timeoutMs: 5_000 },
          seed: "s",
        }),
      ),
    );
    expect(error.code).toBe("http-status");
  });

  it("an abort ends a sleep, a padded wait or a request in flight", async () => {
    const tool = new HttpTool({ allowHosts: [host] });
    for (const request of [
      call({ url: `${origin}/echo`, latency: { mode: "sleep", ms: 60_000 } }),
      call({
        url: `${origin}/echo`,
        latency: { mode: "padded", meanMs: 60_000, timeoutMs: 5_000 },
        seed: "s",
      }),
      call({ url: `${origin}/slow`, latency: { mode: "live", timeoutMs: 60_000 } }),
    ]) {
      const controller = new AbortController();
      const running = tool.doCall(request, { signal: controller.signal });
      setTimeout(() => controller.abort(), 20);
      const error = await rejection(running);
      expect(error.code, request.url).toBe("aborted");
    }
    const aborted = AbortSignal.abort();
    expect((await rejection(tool.doCall(call({ url: `${origin}/echo` }), { signal: aborted }))).code).toBe(
      "aborted",
    );
  });

  it("leaves no listener on a long-lived caller signal after its calls end", async () => {
    const tool = new HttpTool({ allowHosts: [host] });
    const shared = new AbortController();
    for (let index = 0; index < 20; index += 1) {
      await tool.doCall(call({ url: `${origin}/echo`, params: { index: String(index) } }), {
        signal: shared.signal,
      });
      await rejection(tool.doCall(call({ url: `${origin}/fail` }), { signal: shared.signal }));
    }
    expect(getEventListeners(shared.signal, "abort")).toHaveLength(0);
  });

  it("close ends calls in flight and refuses new ones", async () => {
    const tool = new HttpTool({ allowHosts: [host] });
    const sleeping = tool.doCall(call({ url: `${origin}/echo`, latency: { mode: "sleep", ms: 60_000 } }));
    const requesting = tool.doCall(
      call({ url: `${origin}/slow`, latency: { mode: "live", timeoutMs: 60_000 } }),
    );
    setTimeout(() => void tool.close(), 20);
    expect((await rejection(sleeping)).code).toBe("closed");
    expect((await rejection(requesting)).code).toBe("closed");
    expect((await rejection(tool.doCall(call({ url: `${origin}/echo` })))).code).toBe("closed");
  });
});
