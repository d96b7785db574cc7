/**
 * Test fixtures: in-process executor sidecars over the simulated engine (real
 * gRPC on 127.0.0.1), a two-model workflow without tools, and a server on
 * 127.0.0.1:0 with a fresh SQLite store.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SimEngine } from "@halo/engine-sim";
import { createExecutorServer, type ExecutorServerHandle } from "@halo/executor";
import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import { type HaloServer, type HaloServerOptions, startHaloServer } from "./halo-server.js";
import { SqliteStore } from "./store/sqlite-store.js";

/** Two LLM operators on two models; outputs depend only on the query's text. */
export const TWO_STEP_YAML = `graph:
  name: two-step
  nodes:
    - { id: question, type: input, outputs: [user_query] }
    - id: draft
      type: inference
      model: Qwen/Qwen3-14B
      max_tokens: 8
      temperature: 0
      system_prompt: "Draft a short answer."
      inputs: [user_query]
      outputs: [draft]
    - id: review
      type: inference
      model: Qwen/Qwen3-32B
      max_tokens: 8
      temperature: 0
      system_prompt: "Review the draft."
      inputs: [draft]
      outputs: [review]
  edges:
    - { from: question, to: draft }
    - { from: draft, to: review }
`;

/** In-process sim sidecars. */
export async function startSimSidecars(
  count: number,
  timeScale = 0.001,
): Promise<{ addresses: string[]; close(): Promise<void> }> {
  const servers: ExecutorServerHandle[] = [];
  for (let index = 0; index < count; index++) {
    servers.push(
      await createExecutorServer({ engine: new SimEngine({ profile: H100_SIMULATED_PROFILE, timeScale }) }),
    );
  }
  return {
    addresses: servers.map((server) => server.address),
    close: async () => {
      await Promise.all(servers.map((server) => server.close(100).catch(() => undefined)));
    },
  };
}

/** A server over fresh sidecars and a fresh store; `close` stops all of it. */
export interface TestServer {
  readonly server: HaloServer;
  readonly url: string;
  readonly directory: string;
  close(): Promise<void>;
}

export async function startTestServer(
  overrides: Partial<HaloServerOptions> = {},
  sidecars = 2,
): Promise<TestServer> {
  const directory = await mkdtemp(join(tmpdir(), "halo-server-test-"));
  const executors = await startSimSidecars(sidecars);
  const server = await startHaloServer({
    store: new SqliteStore(join(directory, "server.sqlite")),
    executors: executors.addresses,
    profile: H100_SIMULATED_PROFILE,
    tools: async () => ({}),
    spoolDirectory: join(directory, "spool"),
    ...overrides,
  });
  return {
    server,
    url: server.url,
    directory,
    async close() {
      await server.close();
      await executors.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Reads an SSE response until `until` says stop; returns the events seen. */
export async function readSse(
  response: Response,
  until: (event: { event: string; data: unknown }) => boolean,
): Promise<{ event: string; data: unknown }[]> {
  const events: { event: string; data: unknown }[] = [];
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return events;
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf("\n\n");
        const event = /^event: ?(.*)$/m.exec(block)?.[1] ?? "message";
        const dataLines = [...block.matchAll(/^data: ?(.*)$/gm)].map((match) => match[1]);
        if (dataLines.length === 0) continue;
        const parsed = { event, data: JSON.parse(dataLines.join("\n")) as unknown };
        events.push(parsed);
        if (until(parsed)) return events;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
