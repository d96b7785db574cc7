import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { formatProblems, loadWorkflowText } from "@halo/ir";
import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServerConfigurationError, startHaloServer } from "./halo-server.js";
import { SqliteStore } from "./store/sqlite-store.js";
import { readSse, startTestServer, type TestServer, TWO_STEP_YAML } from "./test-fixtures.js";

const queriesJsonl = (count: number, prefix = "b") =>
  Array.from({ length: count }, (_, index) =>
    JSON.stringify({ id: `${prefix}${index}`, user_query: `question ${index % 7}` }),
  ).join("\n");

async function registerWorkflow(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/v1/workflows`, {
    method: "POST",
    headers: { "content-type": "application/yaml", ...headers },
    body: TWO_STEP_YAML,
  });
}

async function waitForBatch(url: string, id: string): Promise<Record<string, unknown>> {
  const events = await readSse(await fetch(`${url}/v1/batches/${id}/events`), (event) =>
    ["completed", "failed", "cancelled"].includes((event.data as { status: string }).status),
  );
  return events.at(-1)!.data as Record<string, unknown>;
}

describe("the Halo server", () => {
  let test: TestServer;
  beforeAll(async () => {
    test = await startTestServer();
  });
  afterAll(async () => {
    await test?.close();
  });

  it("answers health, readiness, the OpenAPI document and the docs page", async () => {
    expect(await (await fetch(`${test.url}/healthz`)).json()).toEqual({ status: "ok" });
    const ready = await fetch(`${test.url}/readyz`);
    expect(ready.status).toBe(200);
    const spec = (await (await fetch(`${test.url}/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining([
        "/v1/workflows",
        "/v1/batches",
        "/v1/batches/{id}/results",
        "/v1/queries/{id}/events",
      ]),
    );
    expect(await (await fetch(`${test.url}/docs`)).text()).toContain("/openapi.json");
  });

  it("refuses an invalid workflow with the problem list halo validate prints", async () => {
    const broken = TWO_STEP_YAML.replace("inputs: [draft]", "inputs: [missing_field]").replace(
      "- { from: draft, to: review }",
      "- { from: draft, to: nowhere }",
    );
    const response = await fetch(`${test.url}/v1/workflows`, { method: "POST", body: broken });
    expect(response.status).toBe(422);
    const body = (await response.json()) as {
      problems: { code: string; line?: number; path?: string }[];
      text: string;
    };
    const local = loadWorkflowText(broken, { file: "workflow.yaml" });
    expect(local.ok).toBe(false);
    if (!local.ok) expect(body.text).toBe(formatProblems(local.problems));
    expect(body.problems.length).toBeGreaterThan(0);
    expect(body.problems.some((problem) => problem.line !== undefined && problem.path !== undefined)).toBe(
      true,
    );
  });

  it("registers, lists and explains a workflow", async () => {
    const created = await registerWorkflow(test.url);
    expect(created.status).toBe(201);
    const again = await registerWorkflow(test.url);
    expect(again.status).toBe(200);
    const list = (await (await fetch(`${test.url}/v1/workflows`)).json()) as { data: { name: string }[] };
    expect(list.data.map((workflow) => workflow.name)).toContain("two-step");
    const one = (await (await fetch(`${test.url}/v1/workflows/two-step`)).json()) as {
      explanation: { operators: { id: string }[] };
      summary: string;
    };
    expect(one.explanation.operators.map((operator) => operator.id)).toEqual(
      expect.arrayContaining(["draft", "review"]),
    );
    expect((await fetch(`${test.url}/v1/workflows/nope`)).status).toBe(404);
  });

  it("answers an online query with ?wait= and streams another's events", async () => {
    await registerWorkflow(test.url);
    const waited = await fetch(`${test.url}/v1/workflows/two-step/queries?wait=30s`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "online-1", context: { user_query: "hello" } }),
    });
    expect(waited.status).toBe(200);
    const body = (await waited.json()) as {
      status: string;
      result: { ok: boolean; outputs: Record<string, unknown> };
    };
    expect(body.status).toBe("completed");
    expect(body.result.ok).toBe(true);
    expect(Object.keys(body.result.outputs)).toContain("review");
    const fetched = (await (await fetch(`${test.url}/v1/queries/online-1`)).json()) as { status: string };
    expect(fetched.status).toBe("completed");

    const accepted = await fetch(`${test.url}/v1/workflows/two-step/queries`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "online-2", context: { user_query: "second" } }),
    });
    expect(accepted.status).toBe(202);
    const events = await readSse(
      await fetch(`${test.url}/v1/queries/online-2/events`),
      (event) => event.event === "result",
    );
    expect(events.at(-1)).toMatchObject({ event: "result", data: { id: "online-2", ok: true } });

    const duplicate = await fetch(`${test.url}/v1/workflows/two-step/queries`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "online-2", context: { user_query: "again" } }),
    });
    expect(duplicate.status).toBe(409);
    const missing = await fetch(`${test.url}/v1/workflows/two-step/queries`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ context: { other: 1 } }),
    });
    expect(missing.status).toBe(422);
    const malformed = await fetch(`${test.url}/v1/workflows/two-step/queries`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect([400, 422]).toContain(malformed.status);
  });

  it("runs a JSONL batch job to completion and streams its results in upload order", async () => {
    await registerWorkflow(test.url);
    const created = await fetch(`${test.url}/v1/batches?workflow=two-step`, {
      method: "POST",
      headers: { "content-type": "application/x-ndjson" },
      body: queriesJsonl(300),
    });
    expect(created.status).toBe(201);
    const batch = (await created.json()) as { id: string; status: string; request_counts: { total: number } };
    expect(batch.status).toBe("in_progress");
    expect(batch.request_counts.total).toBe(300);
    const finished = await waitForBatch(test.url, batch.id);
    expect(finished).toMatchObject({
      status: "completed",
      request_counts: { total: 300, completed: 300, failed: 0 },
    });
    const lines = (await (await fetch(`${test.url}/v1/batches/${batch.id}/results`)).text())
      .trim()
      .split("\n");
    expect(lines.map((line) => (JSON.parse(line) as { id: string }).id)).toEqual(
      Array.from({ length: 300 }, (_, index) => `b${index}`),
    );
    const plan = (await (await fetch(`${test.url}/v1/batches/${batch.id}/plan`)).json()) as {
      plan: { workflow: string };
      actual: unknown[];
    };
    expect(plan.plan.workflow).toBe("two-step");
    expect(plan.actual.length).toBeGreaterThan(0);
    const svg = await fetch(`${test.url}/v1/batches/${batch.id}/plan?format=svg`);
    expect(svg.headers.get("content-type")).toContain("image/svg+xml");
    expect(await svg.text()).toContain("<svg");
    const list = (await (await fetch(`${test.url}/v1/batches`)).json()) as { data: { id: string }[] };
    expect(list.data.map((entry) => entry.id)).toContain(batch.id);
  });

  it("reads CSV and Parquet batch files", async () => {
    await registerWorkflow(test.url);
    const csv = `id,user_query\n${Array.from({ length: 20 }, (_, index) => `c${index},"question, ${index}"`).join("\n")}\n`;
    const fromCsv = await fetch(`${test.url}/v1/batches?workflow=two-step`, {
      method: "POST",
      headers: { "content-type": "text/csv" },
      body: csv,
    });
    expect(fromCsv.status).toBe(201);
    const csvBatch = (await fromCsv.json()) as { id: string };
    expect(await waitForBatch(test.url, csvBatch.id)).toMatchObject({
      status: "completed",
      request_counts: { completed: 20 },
    });

    const parquetPath = `${test.directory}/queries.parquet`;
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    await connection.run(
      `COPY (SELECT 'p' || i AS id, 'question ' || i AS user_query FROM range(12) t(i)) TO '${parquetPath}' (FORMAT PARQUET)`,
    );
    connection.closeSync();
    instance.closeSync();
    const { readFile } = await import("node:fs/promises");
    const fromParquet = await fetch(`${test.url}/v1/batches?workflow=two-step&format=parquet`, {
      method: "POST",
      body: await readFile(parquetPath),
    });
    expect(fromParquet.status).toBe(201);
    const parquetBatch = (await fromParquet.json()) as { id: string };
    expect(await waitForBatch(test.url, parquetBatch.id)).toMatchObject({
      status: "completed",
      request_counts: { completed: 12 },
    });
  });

  it("fails a batch whose file has problems, naming the lines", async () => {
    await registerWorkflow(test.url);
    const body = [
      JSON.stringify({ id: "x1", user_query: "ok" }),
      "{broken",
      JSON.stringify({ id: "x2", other: 1 }),
      JSON.stringify({ id: "x1", user_query: "dup" }),
    ].join("\n");
    const response = await fetch(`${test.url}/v1/batches?workflow=two-step`, { method: "POST", body });
    expect(response.status).toBe(422);
    const batch = (await response.json()) as {
      status: string;
      errors: { data: { code: string; line: number }[] };
    };
    expect(batch.status).toBe("failed");
    expect(batch.errors.data.map((error) => [error.code, error.line])).toEqual([
      ["invalid-json", 2],
      ["missing-input-field", 3],
      ["duplicate-query-id", 4],
    ]);
    expect((await fetch(`${test.url}/v1/batches?workflow=nope`, { method: "POST", body: "{}" })).status).toBe(
      404,
    );
    expect((await fetch(`${test.url}/v1/batches`, { method: "POST", body: "{}" })).status).toBe(422);
  });

  it("cancels a batch job", async () => {
    await registerWorkflow(test.url);
    const created = await fetch(`${test.url}/v1/batches?workflow=two-step`, {
      method: "POST",
      body: queriesJsonl(2000, "k"),
    });
    const batch = (await created.json()) as { id: string };
    const cancel = await fetch(`${test.url}/v1/batches/${batch.id}/cancel`, { method: "POST" });
    expect(cancel.status).toBe(200);
    const final = await waitForBatch(test.url, batch.id);
    expect(final["status"]).toBe("cancelled");
    const counts = final["request_counts"] as { total: number; completed: number };
    expect(counts.completed).toBeLessThan(2000);
    expect((await fetch(`${test.url}/v1/batches/${batch.id}/cancel`, { method: "POST" })).status).toBe(409);
  });

  it("exports halo_ metrics", async () => {
    const text = await (await fetch(`${test.url}/metrics`)).text();
    for (const name of [
      "halo_queue_depth",
      "halo_queries_in_flight",
      "halo_query_latency_seconds",
      "halo_operator_latency_seconds",
      "halo_tokens_total",
      "halo_coalesced_calls_total",
      "halo_executor_utilization",
      "halo_executor_resident_models",
      "halo_model_loads_total",
      "halo_kv_migrations_total",
      "halo_plan_makespan_seconds",
    ]) {
      expect(text).toContain(name);
    }
    expect(text).toMatch(/halo_tokens_total\{kind="generated"\} [1-9]/);
  });

  it("lists executors with their models", async () => {
    const body = (await (await fetch(`${test.url}/v1/executors`)).json()) as {
      data: { alive: boolean; models: { name: string }[] }[];
    };
    expect(body.data).toHaveLength(2);
    expect(body.data.every((executor) => executor.alive)).toBe(true);
  });
});

describe("limits and trust", () => {
  it("requires a bearer token when tokens are configured", async () => {
    const test = await startTestServer({ tokens: ["secret-token"] }, 1);
    try {
      expect((await fetch(`${test.url}/v1/workflows`)).status).toBe(401);
      expect(
        (await fetch(`${test.url}/v1/workflows`, { headers: { authorization: "Bearer wrong" } })).status,
      ).toBe(401);
      expect(
        (await fetch(`${test.url}/v1/workflows`, { headers: { authorization: "Bearer secret-token" } }))
          .status,
      ).toBe(200);
      expect((await fetch(`${test.url}/v1/workflows?access_token=secret-token`)).status).toBe(200);
      expect((await fetch(`${test.url}/healthz`)).status).toBe(200);
    } finally {
      await test.close();
    }
  });

  it("stores what its runs of a workflow measured, for the next plans and a restart", async () => {
    const directory = await mkdtemp(join(tmpdir(), "halo-server-learn-"));
    const store = new SqliteStore(join(directory, "server.sqlite"));
    const learning = await startTestServer({ store });
    try {
      await registerWorkflow(learning.url);
      const created = await fetch(`${learning.url}/v1/batches?workflow=two-step`, {
        method: "POST",
        headers: { "content-type": "application/x-ndjson" },
        body: queriesJsonl(20),
      });
      const batch = (await created.json()) as { id: string };
      expect(await waitForBatch(learning.url, batch.id)).toMatchObject({ status: "completed" });
      const version = (await store.getWorkflow("two-step"))!.updatedAt;
      // Stored after the run's summary (asynchronously): wait for it, bounded.
      let stored: Record<string, unknown> | undefined;
      for (let attempt = 0; attempt < 100 && stored === undefined; attempt++) {
        stored = await store.getWorkflowStatistics("two-step", version);
        if (stored === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(stored).toMatchObject({ statisticsVersion: 1, workflow: "two-step", queries: 20 });
      expect(Object.keys((stored as { operators: object }).operators).sort()).toEqual(["draft", "review"]);
    } finally {
      await learning.close();
      await rm(directory, { recursive: true, force: true });
    }
  });

  it("refuses a non-loopback host without tokens unless insecure", async () => {
    await expect(
      startHaloServer({
        store: new SqliteStore(":memory:"),
        executors: ["127.0.0.1:1"],
        profile: H100_SIMULATED_PROFILE,
        tools: async () => ({}),
        host: "0.0.0.0",
      }),
    ).rejects.toThrow(ServerConfigurationError);
  });

  it("answers 413 past the body limit and 429 with Retry-After when the online queue is full (mini-batch admission)", async () => {
    const test = await startTestServer(
      {
        limits: { maxBodyBytes: 2_000 },
        online: {
          admission: "mini-batch",
          maxQueued: 3,
          windowMs: 60_000,
          maxBatchSize: 1_000,
          maxConcurrentRuns: 1,
        },
      },
      1,
    );
    try {
      const big = await fetch(`${test.url}/v1/workflows`, { method: "POST", body: "x".repeat(5_000) });
      expect(big.status).toBe(413);
      expect((await registerWorkflow(test.url)).status).toBe(201);
      const submit = (id: string) =>
        fetch(`${test.url}/v1/workflows/two-step/queries`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ id, context: { user_query: id } }),
        });
      for (const id of ["a", "b", "c"]) expect((await submit(id)).status).toBe(202);
      const refused = await submit("d");
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
      const metrics = await (await fetch(`${test.url}/metrics`)).text();
      expect(metrics).toContain('halo_rejected_requests_total{reason="queue-full"}');
    } finally {
      await test.close();
    }
  });
});
