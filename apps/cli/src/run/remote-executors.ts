/** Executors given on the command line (`--executors host:port,…`): parsed, checked, profiled. */
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { connect } from "node:net";
import type { DeviceProfile } from "@halo/profiles";
import {
  createExecutorClient,
  type ExecutorCallError,
  type ExecutorClientOptions,
  type ExecutorConnectionSecurity,
  GrpcStatus,
  InvalidTokenError,
  readTokenFile,
  tokenProblem,
} from "@halo/protocol";
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

/** Environment variable holding the executors' bearer token when `--executor-token-file` is not given. */
export const EXECUTOR_TOKEN_ENV = "HALO_EXECUTOR_TOKEN";

/** Flags of the commands that connect to running executors. */
export interface ExecutorConnectionFlags {
  /** `--tls-ca`: PEM of the authority that signed the executors' certificates (TLS when given). */
  readonly tlsCa?: string;
  /** `--executor-token-file`: the executors' bearer token. */
  readonly executorTokenFile?: string;
}

/**
 * Client options from `--tls-ca` and `--executor-token-file` (else the
 * HALO_EXECUTOR_TOKEN variable); unreadable or invalid files are invalid input naming the flag.
 */
export async function executorClientOptionsFromFlags(
  flags: ExecutorConnectionFlags,
  environment: NodeJS.ProcessEnv = process.env,
): Promise<ExecutorClientOptions> {
  let tlsCaPem: Buffer | undefined;
  if (flags.tlsCa !== undefined) {
    try {
      tlsCaPem = await readFile(flags.tlsCa);
    } catch (error) {
      throw new InvalidInputError(`--tls-ca: cannot read ${flags.tlsCa}: ${(error as Error).message}`);
    }
    try {
      new X509Certificate(tlsCaPem);
    } catch (error) {
      throw new InvalidInputError(
        `--tls-ca: ${flags.tlsCa} is not a PEM certificate: ${(error as Error).message}`,
      );
    }
  }
  let token: string | undefined;
  if (flags.executorTokenFile !== undefined) {
    try {
      token = await readTokenFile(flags.executorTokenFile);
    } catch (error) {
      if (error instanceof InvalidTokenError)
        throw new InvalidInputError(`--executor-token-file: ${error.message}`);
      throw error;
    }
  } else if (environment[EXECUTOR_TOKEN_ENV] !== undefined && environment[EXECUTOR_TOKEN_ENV] !== "") {
    token = environment[EXECUTOR_TOKEN_ENV];
    const problem = tokenProblem(token);
    if (problem) throw new InvalidInputError(`${EXECUTOR_TOKEN_ENV}: ${problem}`);
  }
  if (tlsCaPem === undefined && token === undefined) return {};
  const security: ExecutorConnectionSecurity = {
    ...(tlsCaPem !== undefined ? { tlsCaPem } : {}),
    ...(token !== undefined ? { token } : {}),
  };
  return { security };
}

/** What `checkExecutorsReachable` also checks, and how it connects. */
export interface ReachabilityOptions {
  readonly clientOptions?: ExecutorClientOptions;
  /** Models every executor must serve (listed in its Info); a missing one is invalid input naming it. */
  readonly models?: readonly string[];
}

/** Fails (invalid input naming the address) unless every executor answers within `timeoutMs`. */
export async function checkExecutorsReachable(
  addresses: readonly string[],
  timeoutMs = 5_000,
  flag = "--executors",
  options: ReachabilityOptions = {},
): Promise<void> {
  await Promise.all(
    addresses.map(async (address) => {
      // gRPC keeps retrying a refused connection until the deadline: a plain TCP connect says "refused" at once.
      const refused = await connectionRefused(address, timeoutMs);
      if (refused) throw new InvalidInputError(`${flag}: executor ${address} is not reachable: ${refused}`);
      const client = createExecutorClient(address, options.clientOptions);
      let served: string[];
      try {
        await client.waitForReady(timeoutMs);
        served = (await client.info({ deadlineMs: timeoutMs })).models.map((model) => model.name);
      } catch (error) {
        if ((error as Partial<ExecutorCallError>).code === GrpcStatus.UNAUTHENTICATED) {
          throw new InvalidInputError(
            `${flag}: executor ${address} refused this client: ${(error as ExecutorCallError).details} ` +
              `(give its token with --executor-token-file or ${EXECUTOR_TOKEN_ENV})`,
          );
        }
        // A TLS executor and a plaintext client (or the reverse, or an untrusted certificate)
        // look like an unreachable one to gRPC: say what to check.
        const hint = options.clientOptions?.security?.tlsCaPem
          ? " (connecting with TLS: its certificate must name this address and chain to --tls-ca)"
          : " (if it serves TLS, give --tls-ca)";
        throw new InvalidInputError(
          `${flag}: executor ${address} is not reachable: ${(error as Error).message}${hint}`,
        );
      } finally {
        client.close();
      }
      const missing = (options.models ?? []).filter((model) => !served.includes(model));
      if (missing.length > 0) {
        const names = missing.map((model) => `"${model}"`).join(", ");
        throw new InvalidInputError(
          `${flag}: executor ${address} does not serve model ${names} (it serves ${served.map((model) => `"${model}"`).join(", ") || "none"}); ` +
            `start it with --allow-models ${missing.join(",")} or list them in its --models map`,
        );
      }
    }),
  );
}

/** A quick profile of running executors (no `--profile` given): a few seconds per model. */
export async function measureExecutorProfile(
  addresses: readonly string[],
  models: readonly string[],
  onProgress: (message: string) => void,
  clientOptions: ExecutorClientOptions = {},
): Promise<DeviceProfile> {
  onProgress(`no --profile: measuring ${models.join(", ")} on ${addresses[0]} (quick)`);
  const clients = addresses.map((address) => createExecutorClient(address, clientOptions));
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
