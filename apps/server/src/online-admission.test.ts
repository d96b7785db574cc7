/**
 * Continuous online admission, deterministically: the workflow's first step
 * is an HTTP call to a gate (a local HTTP server) that holds every request
 * until the test releases it, so which queries are in flight together is
 * decided by the test, not by timing.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { HttpTool } from "@halo/tool-http";
import { afterEach, describe, expect, it } from "vitest";
import type { HaloServerOptions } from "./halo-server.js";
import { startTestServer, type TestServer } from "./test-fixtures.js";

/** An HTTP server that holds requests until `release`; afterwards it answers at once. */
async function startGate() {
  const held: ServerResponse[] = [];
  const urls: string[] = [];
  let open = false;
  const answer = (response: ServerResponse) => {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ facts: "gate open" }));
  };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    urls.push(request.url ?? "");
    if (open) answer(response);
    else held.push(response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    urls,
    /** Requests that arrived (and are held while closed). */
    get held(): number {
      return held.length;
    },
    release() {
      open = true;
      for (const response of held.splice(0)) answer(response);
    },
    async close() {
      open = true;
      for (const response of held.splice(0)) answer(response);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const gatedYaml = (port: number) => `graph:
  name: gated
  nodes:
    - { id: question, type: input, outputs: [user_query] }
    - id: lookup
      type: http
      url: http://127.0.0.1:${port}/lookup
      method: GET
      params: { q: "{{ user_query }}" }
      coalesce: true
      inputs: [user_query]
      outputs: [facts]
    - id: answer
      type: inference
      model: Qwen/Qwen3-14B
      max_tokens: 8
      temperature: 0
      system_prompt: "Answer from the facts."
      inputs: [user_query, facts]
      outputs: [answer]
  edges:
    - { from: question, to: lookup }
    - { from: lookup, to: answer }
`;

let test: TestServer | undefined;
let gate: Awaited<ReturnType<typeof startGate>> | undefined;
let http: HttpTool | undefined;

afterEach(async () => {
  await gate?.close();
  await test?.close();
  await http?.close();
  test = undefined;
  gate = undefined;
  http = undefined;
});

async function start(online: HaloServerOptions["online"]): Promise<{ url: string }> {
  gate = await startGate();
  http = new HttpTool({ allowHosts: ["127.0.0.1"] });
  const tool = http;
  test = await startTestServer({ online, tools: async () => ({ http: tool }) });
  const registered = await fetch(`${test.url}/v1/workflows`, {
    method: "POST",
    headers: { "content-type": "application/yaml" },
    body: gatedYaml(gate.port),
  });
  expect(registered.status).toBe(201);
  return { url: test.url };
}

async function submit(url: string, id: string, text: string): Promise<Response> {
  return fetch(`${url}/v1/workflows/gated/queries`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id, context: { user_query: text } }),
  });
}

async function status(url: string, id: string): Promise<string> {
  return ((await (await fetch(`${url}/v1/queries/${id}`)).json()) as { status: string }).status;
}

async function waitUntil(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 10));
}

async function result(url: string, id: string) {
  await waitUntil(async () => (await status(url, id)) === "completed");
  return (await (await fetch(`${url}/v1/queries/${id}`)).json()) as {
    result: {
      ok: boolean;
      outputs: Record<string, unknown>;
      operators: Record<string, { coalesced?: boolean; cached?: boolean }>;
    };
  };
}

/** The `halo_online_open_runs_total` counter by reason. */
async function openRuns(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^halo_online_open_runs_total\{reason="(\w+)"\} (\d+)/gm))
    counts[match[1]!] = Number(match[2]);
  return counts;
}

describe("continuous online admission", () => {
  it("admits arrivals one by one into one open run, running together", async () => {
    const { url } = await start({ admission: "continuous" });
    for (const id of ["a1", "a2", "a3"]) expect((await submit(url, id, `question ${id}`)).status).toBe(202);
    // All three are in flight at once: the gate holds each one's lookup.
    await waitUntil(() => gate!.held === 3);
    for (const id of ["a1", "a2", "a3"]) expect(await status(url, id)).toBe("running");
    expect(await openRuns(url)).toEqual({ first: 1 });
    gate!.release();
    for (const id of ["a1", "a2", "a3"]) expect((await result(url, id)).result.ok).toBe(true);
    expect(await openRuns(url)).toEqual({ first: 1 });
  });

  it("replaces the open run when traffic outgrows its size class, and after replaceAfter admissions", async () => {
    const { url } = await start({ admission: "continuous", replaceAfter: 6 });
    // Size class 4: the fifth query in flight outgrows it.
    for (let index = 1; index <= 5; index++) await submit(url, `g${index}`, `question g${index}`);
    await waitUntil(() => gate!.held === 5);
    expect(await openRuns(url)).toEqual({ first: 1, growth: 1 });
    gate!.release();
    for (let index = 1; index <= 5; index++) expect((await result(url, `g${index}`)).result.ok).toBe(true);
    // The class-8 run has admitted 1 query; 5 more make 6 (its maximum); the 6th after that replaces it.
    for (let index = 6; index <= 11; index++) {
      await submit(url, `g${index}`, `question g${index}`);
      await result(url, `g${index}`);
    }
    expect(await openRuns(url)).toEqual({ first: 1, growth: 1, age: 1 });
  });

  it("queues past maxInFlight and answers 429 with Retry-After past maxQueued", async () => {
    const { url } = await start({ admission: "continuous", maxInFlight: 2, maxQueued: 1 });
    expect((await submit(url, "q1", "one")).status).toBe(202);
    expect((await submit(url, "q2", "two")).status).toBe(202);
    expect((await submit(url, "q3", "three")).status).toBe(202);
    await waitUntil(() => gate!.held === 2);
    expect(await status(url, "q3")).toBe("queued");
    const refused = await submit(url, "q4", "four");
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    gate!.release();
    for (const id of ["q1", "q2", "q3"]) expect((await result(url, id)).result.ok).toBe(true);
    expect((await submit(url, "q4", "four")).status).toBe(202);
    expect((await result(url, "q4")).result.ok).toBe(true);
  });

  it("coalesces identical calls of queries admitted separately", async () => {
    const { url } = await start({ admission: "continuous" });
    for (const id of ["c1", "c2", "c3"]) await submit(url, id, "the same question");
    await submit(url, "c4", "another question");
    // One held lookup per distinct text: the later arrivals joined the call in flight.
    await waitUntil(() => gate!.urls.length === 2);
    await waitUntil(async () => (await status(url, "c4")) === "running");
    expect(gate!.held).toBe(2);
    gate!.release();
    const records = await Promise.all(["c1", "c2", "c3"].map((id) => result(url, id)));
    const shared = records.filter(
      (record) => record.result.operators.answer?.coalesced || record.result.operators.answer?.cached,
    );
    expect(shared).toHaveLength(2);
    expect(new Set(records.map((record) => JSON.stringify(record.result.outputs))).size).toBe(1);
    const lookups = records.filter((record) => record.result.operators.lookup?.coalesced);
    expect(lookups).toHaveLength(2);
    expect(gate!.urls).toHaveLength(2);
  });

  it("keeps the mini-batch mode behind admission: mini-batch", async () => {
    const { url } = await start({ admission: "mini-batch", windowMs: 0 });
    expect((await submit(url, "m1", "one")).status).toBe(202);
    await waitUntil(() => gate!.held === 1);
    gate!.release();
    expect((await result(url, "m1")).result.ok).toBe(true);
    expect(await openRuns(url)).toEqual({});
  });
});
