import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JsonlResultSink, ResultFileError, readResultRecords, recoverResults } from "./jsonl-result-sink.js";
import type { QueryResultRecord } from "./result-sink.js";

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "halo-sink-"));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const record = (id: string, ok = true): QueryResultRecord => ({
  id,
  ok,
  outputs: ok ? { answer: `answer of ${id}` } : {},
  operators: { answer: { startMs: 1, endMs: 2, worker: "worker-0" } },
  ...(ok ? {} : { error: { operator: "answer", message: "boom" } }),
});

describe("JsonlResultSink", () => {
  it("appends one line per record, in order, and reads them back", async () => {
    const path = join(directory, "plain.jsonl");
    const sink = await JsonlResultSink.open(path, { fsyncIntervalMs: 5 });
    await Promise.all([sink.append(record("a")), sink.append(record("b", false)), sink.append(record("c"))]);
    await sink.close();
    const text = await readFile(path, "utf8");
    expect(text.split("\n")).toHaveLength(4);
    expect((await readResultRecords(path)).map((entry) => entry.id)).toEqual(["a", "b", "c"]);
    expect((await readResultRecords(path))[1]).toEqual(record("b", false));
  });

  it("refuses a second record of the same query and appends after close", async () => {
    const sink = await JsonlResultSink.open(join(directory, "twice.jsonl"));
    await sink.append(record("a"));
    await expect(sink.append(record("a"))).rejects.toThrow(/already has a record of query "a"/);
    await sink.close();
    await expect(sink.append(record("b"))).rejects.toThrow(/is closed/);
  });

  it("starts a new file without resume, keeps and skips existing records with it", async () => {
    const path = join(directory, "resume.jsonl");
    const first = await JsonlResultSink.open(path);
    await first.append(record("a"));
    await first.append(record("b"));
    await first.close();
    const resumed = await JsonlResultSink.open(path, { resume: true });
    expect([...resumed.finishedIds]).toEqual(["a", "b"]);
    await resumed.append(record("c"));
    await resumed.close();
    expect((await readResultRecords(path)).map((entry) => entry.id)).toEqual(["a", "b", "c"]);
    const fresh = await JsonlResultSink.open(path);
    expect(fresh.finishedIds.size).toBe(0);
    await fresh.close();
    expect(await readFile(path, "utf8")).toBe("");
  });

  it("cuts off a torn last line when resuming", async () => {
    const path = join(directory, "torn.jsonl");
    await writeFile(path, `${JSON.stringify(record("a"))}\n${JSON.stringify(record("b")).slice(0, 25)}`);
    const sink = await JsonlResultSink.open(path, { resume: true });
    expect(sink.resumed.truncatedBytes).toBe(25);
    expect([...sink.finishedIds]).toEqual(["a"]);
    await sink.append(record("b"));
    await sink.close();
    expect((await readResultRecords(path)).map((entry) => entry.id)).toEqual(["a", "b"]);
  });

  it("names the line of a corrupted record or a duplicate, and treats a missing file as empty", async () => {
    const path = join(directory, "bad.jsonl");
    await writeFile(path, `${JSON.stringify(record("a"))}\nnot json\n`);
    await expect(recoverResults(path)).rejects.toThrow(ResultFileError);
    await expect(recoverResults(path)).rejects.toThrow(/bad\.jsonl:2: not JSON/);
    await writeFile(path, `${JSON.stringify({ id: "x" })}\n`);
    await expect(recoverResults(path)).rejects.toThrow(/:1: not a result record/);
    await writeFile(path, `${JSON.stringify(record("a"))}\n${JSON.stringify(record("a"))}\n`);
    await expect(recoverResults(path)).rejects.toThrow(/:2: a second record of query "a"/);
    expect(await recoverResults(join(directory, "missing.jsonl"))).toEqual({
      records: [],
      truncatedBytes: 0,
    });
  });

  it("resume keeps failed records and skips them; retryFailed reruns them and keeps the latest record", async () => {
    const path = join(directory, "retry.jsonl");
    const first = await JsonlResultSink.open(path);
    for (const entry of [record("a"), record("b", false), record("c", false)]) await first.append(entry);
    await first.close();
    const kept = await JsonlResultSink.open(path, { resume: true });
    expect([...kept.finishedIds].sort()).toEqual(["a", "b", "c"]);
    expect(kept.keptFailed).toBe(2);
    await kept.close();
    const retried = await JsonlResultSink.open(path, { resume: true, retryFailed: true });
    expect([...retried.finishedIds]).toEqual(["a"]);
    expect(retried.keptFailed).toBe(0);
    await retried.append(record("b"));
    // Before close the file holds both records of b: a crash here leaves the later one winning.
    expect((await readResultRecords(path)).map((entry) => [entry.id, entry.ok])).toEqual([
      ["a", true],
      ["c", false],
      ["b", true],
    ]);
    await retried.append(record("c", false));
    await retried.close();
    const lines = (await readFile(path, "utf8")).trim().split("\n");
    expect(lines.map((line) => JSON.parse(line).id)).toEqual(["a", "b", "c"]);
    expect((await readResultRecords(path)).map((entry) => entry.ok)).toEqual([true, true, false]);
    // A record after an ok record of the same query is still corruption.
    await appendFile(path, `${JSON.stringify(record("a", false))}\n`);
    await expect(recoverResults(path)).rejects.toThrow(/:4: a second record of query "a"/);
  });

  it("syncs appended records in the background", async () => {
    const path = join(directory, "synced.jsonl");
    const sink = await JsonlResultSink.open(path, { fsyncIntervalMs: 1 });
    await sink.append(record("a"));
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Another process (a resumed run) sees the record even before close.
    expect((await readResultRecords(path)).map((entry) => entry.id)).toEqual(["a"]);
    await appendFile(path, "");
    await sink.close();
  });
});
