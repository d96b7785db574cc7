/**
 * The reference data API (`startDataApi`) in a child process, so that the
 * runtime process `halo bench` measures does not also answer HTTP requests.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** A running data API process. */
export interface DataApiProcess {
  readonly url: string;
  readonly pid: number;
  /** Stops it (SIGTERM, SIGKILL after 5 s); safe to call twice. */
  stop(): Promise<void>;
}

/** The compiled entry point (the harness runs from `dist/`; its sources are TypeScript). */
function mainScript(): string {
  const compiled = fileURLToPath(new URL("./data-api-main.js", import.meta.url));
  if (existsSync(compiled)) return compiled;
  return fileURLToPath(new URL("../dist/harness/data-api-main.js", import.meta.url));
}

/** Starts the data API over `dbPath` on a free loopback port and waits until it listens (2 min: a loaded machine is slow to start it). */
export async function startDataApiProcess(dbPath: string, timeoutMs = 120_000): Promise<DataApiProcess> {
  const child = spawn(process.execPath, [mainScript(), "--db", dbPath], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2_000);
  });
  const listening = await new Promise<{ url: string; pid: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the data API did not start within ${timeoutMs} ms: ${stderr.trim()}`));
    }, timeoutMs);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      try {
        const event = JSON.parse(line) as { event?: string; url?: string; pid?: number };
        if (event.event === "listening" && typeof event.url === "string") {
          clearTimeout(timer);
          resolve({ url: event.url, pid: event.pid ?? child.pid ?? -1 });
        }
      } catch {
        // Not a JSON line: ignored.
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(`the data API exited before listening (${signal ?? `code ${code}`}): ${stderr.trim()}`),
      );
    });
  });
  return { ...listening, stop: () => stopChild(child) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
  child.stdin?.destroy();
}
