/**
 * The child process of `DuckDbProcessSqlTool`: one `DuckDbSqlTool` serving the
 * parent's calls over the IPC channel. Started with the tool's options as JSON
 * in `argv[2]`; ends when the parent asks it to close or goes away.
 */
import type { SqlToolRequest } from "@halo/ir";
import type { ChildMessage, ParentMessage } from "./duckdb-process-protocol.js";
import { DuckDbSqlTool, type DuckDbSqlToolOptions } from "./duckdb-sql-tool.js";
import { SqlToolError } from "./sql-tool-error.js";

const options = JSON.parse(process.argv[2] ?? "{}") as DuckDbSqlToolOptions;
const tool = new DuckDbSqlTool(options);
const aborts = new Map<number, AbortController>();
/** Calls being served, until their answer is sent. */
const serving = new Set<Promise<void>>();

function send(message: ChildMessage): void {
  // The parent may be gone already; there is nobody left to answer then.
  if (process.connected) process.send!(message);
}

function serve(id: number, work: (signal: AbortSignal) => Promise<unknown>): void {
  const served = answer(id, work);
  serving.add(served);
  void served.finally(() => serving.delete(served));
}

async function answer(id: number, work: (signal: AbortSignal) => Promise<unknown>): Promise<void> {
  const controller = new AbortController();
  aborts.set(id, controller);
  try {
    const value = await work(controller.signal);
    send({ id, ok: true, value });
  } catch (error) {
    const code = error instanceof SqlToolError ? error.code : "query-failed";
    send({ id, ok: false, code, message: error instanceof Error ? error.message : String(error) });
  } finally {
    aborts.delete(id);
  }
}

/** Closes the database (statements in flight finish first), answers, and ends. */
async function closeAndExit(id: number): Promise<void> {
  await tool.close().catch(() => undefined);
  // Every call in flight has its answer sent before the close is answered and the channel goes.
  await Promise.allSettled([...serving]);
  send({ id, ok: true, value: null });
  process.disconnect?.();
}

process.on("message", (message: ParentMessage) => {
  switch (message.op) {
    case "query":
      serve(message.id, (signal) => tool.doQuery(message.request as SqlToolRequest, { signal }));
      return;
    case "prepare":
      serve(message.id, () => tool.doPrepare(message.request as SqlToolRequest));
      return;
    case "check":
      serve(message.id, () => tool.doCheck());
      return;
    case "abort":
      aborts.get(message.id)?.abort();
      return;
    case "close":
      void closeAndExit(message.id);
      return;
  }
});
// Ctrl-C in a terminal signals the whole process group: the parent decides when its statements stop
// (it may let the work in flight finish), and its closing or going away ends this process.
process.on("SIGINT", () => undefined);
// The parent went away without closing: close the database and end.
process.on("disconnect", () => void tool.close().finally(() => process.exit(0)));
send({ id: 0, ok: true, value: "ready" });
