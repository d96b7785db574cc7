/**
 * A real PostgreSQL server for tests: the one `HALO_TEST_POSTGRES_URL` names, or a throwaway
 * cluster (initdb into a temporary directory, started on a free loopback port, removed on
 * stop). It never skips: without a server or server binaries it fails and says how to get one.
 */
import { execFile, execFileSync } from "node:child_process";
import { accessSync, constants, existsSync, readdirSync, readFileSync } from "node:fs";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import pg from "pg";
import { describePostgresUrl } from "../postgres-sql-tool.js";

/** A running PostgreSQL server for a test run. */
export interface TestPostgres {
  /** URL of a database the tests may create tables in. */
  readonly url: string;
  /** `environment` when `HALO_TEST_POSTGRES_URL` gave the server, `cluster` when one was started here. */
  readonly source: "environment" | "cluster";
  /** Stops and removes a started cluster (nothing for an environment server). */
  stop(): Promise<void>;
  /**
   * Shuts the server down as `pg_ctl stop -m fast` does (every backend terminated), keeping the
   * cluster so `startServer()` brings it back on the same port. Fault tests only; rejects for
   * an environment server, which these tests may not stop.
   */
  stopServer(): Promise<void>;
  /** Starts a cluster stopped by `stopServer()` again, on the same port; resolves once it accepts connections. */
  startServer(): Promise<void>;
}

/** Where to look for a server or its binaries; defaults to `process.env`. */
export interface StartTestPostgresOptions {
  readonly environment?: Readonly<Record<string, string | undefined>>;
  /** Directories searched for initdb and pg_ctl after PATH (default: Debian's `/usr/lib/postgresql/<version>/bin`). */
  readonly fallbackBinDirectories?: readonly string[];
  /**
   * Always start a throwaway cluster of this caller's own, even when HALO_TEST_POSTGRES_URL is
   * set: for fault tests that stop and start the server (which would break every other test
   * sharing it).
   */
  readonly ownCluster?: boolean;
}

const INSTALL_HINT =
  "Install the PostgreSQL server with `scripts/ci/install-postgres.sh` (Debian/Ubuntu, as root: it runs apt-get), " +
  "or point HALO_TEST_POSTGRES_URL at a server the tests may create tables in " +
  "(postgres://user:password@host:port/database), or set HALO_POSTGRES_BIN_DIR to a directory with initdb and pg_ctl.";
const DEBIAN_SERVER_ROOT = "/usr/lib/postgresql";
const DATABASE = "halo_test";
const SUPERUSER = "halo";
const CONNECT_TIMEOUT_MS = 5_000;
const COMMAND_TIMEOUT_MS = 120_000;

/** Starts (or finds) the PostgreSQL server the tests use; throws an actionable error when there is none. */
export async function startTestPostgres(options: StartTestPostgresOptions = {}): Promise<TestPostgres> {
  const environment = options.environment ?? process.env;
  const givenUrl = environment["HALO_TEST_POSTGRES_URL"];
  if (options.ownCluster !== true && givenUrl !== undefined && givenUrl.trim().length > 0) {
    await checkReachable(givenUrl, "HALO_TEST_POSTGRES_URL");
    const refuse = (): Promise<void> =>
      Promise.reject(
        new Error(
          "The PostgreSQL server of HALO_TEST_POSTGRES_URL is shared: tests may not stop or start it " +
            "(start one with startTestPostgres({ ownCluster: true }))",
        ),
      );
    return {
      url: givenUrl,
      source: "environment",
      stop: async () => {},
      stopServer: refuse,
      startServer: refuse,
    };
  }
  const binDirectory = findServerBinaries(
    environment,
    options.fallbackBinDirectories ?? debianServerDirectories(),
  );
  return startCluster(binDirectory);
}

/**
 * A fresh schema for one test file, so files running in parallel never see each other's
 * tables: returns a URL whose connections use it as `search_path`, and a `drop()`.
 */
export async function createTestSchema(
  url: string,
): Promise<{ readonly url: string; drop(): Promise<void> }> {
  const schema = `test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  await withClient(url, (client) => client.query(`CREATE SCHEMA ${schema}`));
  const scoped = new URL(url);
  scoped.searchParams.set("options", `-c search_path=${schema}`);
  return {
    url: scoped.toString(),
    drop: () =>
      withClient(url, (client) => client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)).then(() => {}),
  };
}

/** Runs `work` on a short-lived connection to `url`. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  client.on("error", () => {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function checkReachable(url: string, source: string): Promise<void> {
  try {
    await withClient(url, (client) => client.query("SELECT 1"));
  } catch (error) {
    throw new Error(
      `PostgreSQL from ${source} (${describePostgresUrl(url)}) is not reachable: ${errorText(error)}. ${INSTALL_HINT}`,
    );
  }
}

/** The directory holding `initdb` and `pg_ctl`: HALO_POSTGRES_BIN_DIR, PATH, or Debian's versioned directory. */
function findServerBinaries(
  environment: Readonly<Record<string, string | undefined>>,
  fallbackDirectories: readonly string[],
): string {
  const explicit = environment["HALO_POSTGRES_BIN_DIR"];
  const candidates = [
    ...(explicit ? [explicit] : []),
    ...(environment["PATH"] ?? "").split(delimiter).filter((directory) => directory.length > 0),
    ...fallbackDirectories,
  ];
  const found = candidates.find(
    (directory) => isExecutable(join(directory, "initdb")) && isExecutable(join(directory, "pg_ctl")),
  );
  if (found === undefined) {
    throw new Error(
      "The SQL tool tests need a real PostgreSQL server, and none is available: HALO_TEST_POSTGRES_URL is not set " +
        `and no directory with initdb and pg_ctl was found (looked in ${explicit ? "HALO_POSTGRES_BIN_DIR, " : ""}` +
        `PATH and ${fallbackDirectories.length > 0 ? fallbackDirectories.join(", ") : `${DEBIAN_SERVER_ROOT}/*/bin`}). ` +
        INSTALL_HINT,
    );
  }
  return found;
}

/** `/usr/lib/postgresql/<version>/bin`, newest version first. */
function debianServerDirectories(): string[] {
  try {
    return readdirSync(DEBIAN_SERVER_ROOT)
      .filter((version) => /^\d+$/.test(version))
      .sort((left, right) => Number(right) - Number(left))
      .map((version) => join(DEBIAN_SERVER_ROOT, version, "bin"));
  } catch {
    return [];
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** initdb + pg_ctl start in a temporary directory, as a non-root user when running as root. */
async function startCluster(binDirectory: string): Promise<TestPostgres> {
  const runAs = serverUser();
  const directory = await mkdtemp(join(tmpdir(), "halo-postgres-"));
  if (runAs !== undefined) await chown(directory, runAs.uid, runAs.gid);
  const dataDirectory = join(directory, "data");
  const logFile = join(directory, "server.log");
  const run = (program: string, args: readonly string[]): Promise<void> =>
    runCommand(join(binDirectory, program), args, runAs?.name);

  const removeDirectory = (): Promise<void> => rm(directory, { recursive: true, force: true });
  try {
    await run("initdb", [
      "-D",
      dataDirectory,
      "-U",
      SUPERUSER,
      "--auth=trust",
      "--encoding=UTF8",
      "--locale=C",
      "--no-sync",
    ]);
  } catch (error) {
    await removeDirectory();
    throw new Error(
      `Could not create a throwaway PostgreSQL cluster with ${binDirectory}/initdb: ${errorText(error)}`,
    );
  }

  const serverOptions = (port: number): string =>
    [
      `-c port=${port}`,
      "-c listen_addresses=127.0.0.1",
      `-c unix_socket_directories='${directory}'`,
      "-c fsync=off",
      "-c synchronous_commit=off",
      "-c full_page_writes=off",
      "-c max_connections=100",
      "-c shared_buffers=32MB",
    ].join(" ");
  const startServer = (port: number): Promise<void> =>
    run("pg_ctl", ["-D", dataDirectory, "-l", logFile, "-w", "-t", "60", "-o", serverOptions(port), "start"]);

  let port = 0;
  let lastError: unknown;
  // A free port can be taken between probing and binding; a few attempts make that race harmless.
  for (let attempt = 0; attempt < 3 && port === 0; attempt += 1) {
    const candidate = await freeLoopbackPort();
    try {
      await startServer(candidate);
      port = candidate;
    } catch (error) {
      lastError = error;
    }
  }
  if (port === 0) {
    const log = readTail(logFile);
    await removeDirectory();
    throw new Error(`Could not start the throwaway PostgreSQL cluster: ${errorText(lastError)}\n${log}`);
  }

  const stopServer = (): Promise<void> => run("pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "stop"]);
  // If the test process dies without teardown, do not leave a server running.
  const stopOnExit = (): void => {
    try {
      const command = [join(binDirectory, "pg_ctl"), "-D", dataDirectory, "-m", "immediate", "stop"];
      if (runAs === undefined) execFileSync(command[0]!, command.slice(1), { stdio: "ignore" });
      else execFileSync("runuser", ["-u", runAs.name, "--", ...command], { stdio: "ignore" });
    } catch {
      // Already stopped.
    }
  };
  process.once("exit", stopOnExit);

  const adminUrl = `postgres://${SUPERUSER}@127.0.0.1:${port}/postgres`;
  try {
    await withClient(adminUrl, (client) => client.query(`CREATE DATABASE ${DATABASE}`));
  } catch (error) {
    await stopServer().catch(() => undefined);
    process.removeListener("exit", stopOnExit);
    await removeDirectory();
    throw new Error(
      `The throwaway PostgreSQL cluster started but CREATE DATABASE failed: ${errorText(error)}`,
    );
  }
  return {
    url: `postgres://${SUPERUSER}@127.0.0.1:${port}/${DATABASE}`,
    source: "cluster",
    stop: async () => {
      try {
        // Already stopped by stopServer() is fine: the directory still goes.
        await stopServer().catch((error: unknown) => {
          if (!existsSync(join(dataDirectory, "postmaster.pid"))) return;
          throw error;
        });
      } finally {
        process.removeListener("exit", stopOnExit);
        await removeDirectory();
      }
    },
    stopServer,
    startServer: async () => {
      try {
        await startServer(port);
      } catch (error) {
        throw new Error(
          `Could not start the throwaway PostgreSQL cluster again on port ${port}: ${errorText(error)}\n${readTail(logFile)}`,
        );
      }
    },
  };
}

/** PostgreSQL refuses to run as root: as root, run it as `postgres` (made by the Debian package) or `nobody`. */
function serverUser(): { readonly name: string; readonly uid: number; readonly gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = readFileSync("/etc/passwd", "utf8").split("\n");
  for (const name of ["postgres", "nobody"]) {
    const fields = passwd.find((line) => line.startsWith(`${name}:`))?.split(":");
    if (fields !== undefined) return { name, uid: Number(fields[2]), gid: Number(fields[3]) };
  }
  throw new Error(
    `Running as root and there is no 'postgres' or 'nobody' user to run PostgreSQL as. ${INSTALL_HINT}`,
  );
}

/** Runs a program (as `user` via runuser when given); rejects with its exit code and output tail. */
function runCommand(program: string, args: readonly string[], user: string | undefined): Promise<void> {
  const [file, fileArgs] =
    user === undefined ? [program, args] : ["runuser", ["-u", user, "--", program, ...args]];
  return new Promise((resolve, reject) => {
    execFile(file, fileArgs, { timeout: COMMAND_TIMEOUT_MS, cwd: tmpdir() }, (error, stdout, stderr) => {
      if (error === null) resolve();
      else
        reject(
          new Error(
            `${program} ${args.at(-1) ?? ""} failed: ${error.message}\n${`${stdout}\n${stderr}`.trim().slice(-2000)}`,
          ),
        );
    });
  });
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function readTail(path: string): string {
  try {
    return readFileSync(path, "utf8").slice(-2000);
  } catch {
    return "(no server log)";
  }
}

function errorText(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0)
    return error.errors.map(errorText).join("; ");
  if (error instanceof Error) return error.message || (error as { code?: string }).code || error.name;
  return String(error);
}
