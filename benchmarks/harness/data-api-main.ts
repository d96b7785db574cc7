/**
 * Entry point of the data API child process of `halo bench`: serves a DuckDB
 * file on 127.0.0.1 (a free port), prints one `listening` line, and exits when
 * its parent closes its stdin (even a SIGKILLed parent) or on SIGTERM. Running
 * it apart keeps its work out of the measured runtime process.
 *
 * argv: --db <file.duckdb>
 */
import { parseArgs } from "node:util";
import { startDataApi } from "../data-api/data-api-server.js";

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { db: { type: "string" } } });
  if (values.db === undefined) throw new Error("--db is required");
  const api = await startDataApi({
    dbPath: values.db,
    port: 0,
    onError: (message) => process.stderr.write(`data API: ${message}\n`),
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    api
      .close()
      .catch(() => undefined)
      .finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.stdin.on("end", stop);
  process.stdin.on("error", stop);
  process.stdin.resume();
  process.stdout.write(`${JSON.stringify({ event: "listening", url: api.url, pid: process.pid })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`data API: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
