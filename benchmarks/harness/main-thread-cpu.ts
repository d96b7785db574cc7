import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux everywhere in practice). */
const TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system, ms) of this process's main thread — the thread
 * that runs the event loop — from `/proc/self/task/<pid>/stat`; undefined
 * where /proc is not available. Unlike the event loop's busy time it does not
 * count time the thread waited for a CPU on a loaded machine, and unlike
 * `process.cpuUsage()` it leaves out other threads (DuckDB's workers, libuv's
 * pool). 10 ms resolution.
 */
export function mainThreadCpuMs(): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // Fields after the command name (which may contain spaces and parentheses): state is the first.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const userTicks = Number(fields[11]);
  const systemTicks = Number(fields[12]);
  if (!Number.isFinite(userTicks) || !Number.isFinite(systemTicks)) return undefined;
  return ((userTicks + systemTicks) * 1000) / TICKS_PER_SECOND;
}
