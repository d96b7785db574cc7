/** Executors given on the command line (`--executors host:port,…`): parsed, checked, profiled. */
import { connect } from "node:net";
import type { DeviceProfile } from "@halo/profiles";
import { createExecutorClient } from "@halo/protocol";
import { measureDeviceProfile } from "@halo/runtime";
import { CliError, InvalidInputError } from "../cli-error.js";

const ADDRESS = /^[^\s:,]+:\d{1,5}$|^\[[0-9a-fA-F:.]+\]:\d{1,5}$/;

/** Splits `host:port,host:port`; a malformed or repeated entry is invalid input. */
export function parseExecutorList(value: string, flag = "--executors"): string[] {
  const addresses = value
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (addresses.length === 0) throw new InvalidInputError(`${flag}: expected host:port[,host:port…]`);
  for (const address of addresses) {
    if (!ADDRESS.test(address)) throw new InvalidInputError(`${flag}: "${address}" is not host:port`);
  }
  const seen = new Set<string>();
  for (const address of addresses) {
    if (seen.has(address)) throw new InvalidInputError(`${flag}: ${address} is listed twice`);
    seen.add(address);
  }
  return addresses;
}

/** Fails (invalid input naming the address) unless every executor answers within `timeoutMs`. */
export async function checkExecutorsReachable(
  addresses: readonly string[],
  timeoutMs = 5_000,
  flag = "--executors",
): Promise<void> {
  await Promise.all(
    addresses.map(async (address) => {
      // gRPC keeps retrying a refused connection until the deadline: a plain TCP connect says "refused" at once.
      const refused = await connectionRefused(address, timeoutMs);
      if (refused) throw new InvalidInputError(`${flag}: executor ${address} is not reachable: ${refused}`);
      const client = createExecutorClient(address);
      try {
        await client.waitForReady(timeoutMs);
        await client.info({ deadlineMs: timeoutMs });
      } catch (error) {
        throw new InvalidInputError(
          `${flag}: executor ${address} is not reachable: ${(error as Error).message}`,
        );
      } finally {
        client.close();
      }
    }),
  );
}

/** A quick profile of running executors (no `--profile` given): a few seconds per model. */
export async function measureExecutorProfile(
  addresses: readonly string[],
  models: readonly string[],
  onProgress: (message: string) => void,
): Promise<DeviceProfile> {
  onProgress(`no --profile: measuring ${models.join(", ")} on ${addresses[0]} (quick)`);
  const clients = addresses.map((address) => createExecutorClient(address));
  try {
    return (await measureDeviceProfile(clients, { models, quick: true, onProgress })).profile;
  } catch (error) {
    throw new CliError(`cannot measure a profile of the executors: ${(error as Error).message}`);
  } finally {
    for (const client of clients) client.close();
  }
}

/** "connection refused (…)" when a TCP connection to `host:port` is refused, else undefined (it connected, or timed out). */
function connectionRefused(address: string, timeoutMs: number): Promise<string | undefined> {
  const colon = address.lastIndexOf(":");
  const host = address.slice(0, colon).replace(/^\[|\]$/g, "");
  const port = Number(address.slice(colon + 1));
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.once("connect", () => done(undefined));
    socket.once("error", (error: NodeJS.ErrnoException) =>
      done(error.code === "ECONNREFUSED" ? `connection refused (${error.message})` : undefined),
    );
  });
}
