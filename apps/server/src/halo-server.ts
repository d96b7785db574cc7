/**
 * The Halo server: composes the store, the workflow registry, the work
 * scheduler over a shared executor pool, metrics and the HTTP API, and serves
 * them on one port. The host (the `halo serve` command) provides the
 * executors' addresses, their device profile and the tools.
 */
import { type AddressInfo, isIP } from "node:net";
import { join } from "node:path";
import type { PlanningWorker } from "@halo/optimizer";
import type { DeviceProfile } from "@halo/profiles";
import { createExecutorClient, type ExecutorClient } from "@halo/protocol";
import { type ServerType, serve } from "@hono/node-server";
import { EventHub } from "./event-hub.js";
import { createApp, type RequestLimits } from "./server-app.js";
import { ServerMetrics } from "./server-metrics.js";
import type { ServerStore } from "./store/server-store.js";
import { type BatchOptions, type OnlineOptions, WorkScheduler } from "./work-scheduler.js";
import { type ToolProvider, type WorkflowPreparer, WorkflowRegistry } from "./workflow-registry.js";

/** How to run a server. */
export interface HaloServerOptions {
  readonly store: ServerStore;
  /** Executor addresses (`host:port`), one per worker. */
  readonly executors: readonly string[];
  /** The device profile the planner prices plans with. */
  readonly profile: DeviceProfile;
  readonly tools: ToolProvider;
  /** Adjusts each compiled workflow before it runs (default: none). */
  readonly prepareWorkflow?: WorkflowPreparer;
  /** Default `127.0.0.1`. */
  readonly host?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
  /** Bearer tokens; empty: no authentication (loopback only, unless `insecure`). */
  readonly tokens?: readonly string[];
  /** Allow a non-loopback host without tokens. */
  readonly insecure?: boolean;
  /** Planning strategy (default `dp`). */
  readonly strategy?: string;
  readonly online?: Partial<OnlineOptions>;
  readonly batch?: Partial<BatchOptions>;
  readonly limits?: Partial<RequestLimits>;
  /** Directory for upload spool files (default: the OS temp directory). */
  readonly spoolDirectory?: string;
  readonly log?: (message: string) => void;
}

/** A running server. */
export interface HaloServer {
  /** `http://host:port` */
  readonly url: string;
  readonly port: number;
  /** Batches and online queries taken up again from the store at start. */
  readonly resumed: { readonly batches: number; readonly queries: number };
  /** Stops taking requests, stops running work (unfinished queries stay in the store), closes everything. */
  close(): Promise<void>;
}

/** The server refuses to start (bad options); the message says why. */
export class ServerConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ServerConfigurationError";
  }
}

/** True for 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1" || host === "[::1]";
}

export async function startHaloServer(options: HaloServerOptions): Promise<HaloServer> {
  const host = options.host ?? "127.0.0.1";
  const tokens = options.tokens ?? [];
  if (!isLoopbackHost(host) && tokens.length === 0 && !options.insecure) {
    throw new ServerConfigurationError(
      `--host ${host} is reachable beyond this machine: give --token-file (bearer tokens) or pass --insecure`,
    );
  }
  if (options.executors.length === 0) throw new ServerConfigurationError("no executors to run work on");
  const log = options.log ?? (() => undefined);
  const clients: ExecutorClient[] = options.executors.map((address) => createExecutorClient(address));
  const workers: PlanningWorker[] = options.executors.map((address, index) => ({
    id: `worker-${index}`,
    profile: options.profile,
    address,
  }));
  const hub = new EventHub();
  const registry = new WorkflowRegistry(options.store, options.tools, options.prepareWorkflow);
  let scheduler: WorkScheduler | undefined;
  const metrics = new ServerMetrics({
    onlineQueued: () => scheduler?.queueFigures().onlineQueued ?? 0,
    batchQueued: () => scheduler?.queueFigures().batchQueued ?? 0,
    inFlight: () => scheduler?.queueFigures().inFlight ?? 0,
  });
  scheduler = new WorkScheduler({
    store: options.store,
    registry,
    hub,
    metrics,
    executors: clients,
    workers,
    strategy: options.strategy ?? "dp",
    online: {
      // Mini-batch admission with the online benchmark's settings: it sustains the highest rates there.
      admission: "mini-batch",
      maxInFlight: 1_024,
      replaceAfter: 2_048,
      batchPauseAt: 64,
      maxBatchSize: 64,
      windowMs: 500,
      maxQueued: 1_000,
      maxConcurrentRuns: 8,
      ...options.online,
    },
    batch: { chunkSize: 128, ...options.batch },
    planningTimeLimitMs: { online: 250, batch: 2_000 },
    log,
  });
  const startedAtMs = Date.now();
  const executorsView = async () =>
    Promise.all(
      clients.map(async (client, index) => {
        const worker = `worker-${index}`;
        const busyMs = metrics.busyMilliseconds().get(worker) ?? 0;
        const common = {
          worker,
          address: client.address,
          busy_ms: busyMs,
          utilization: Math.min(1, busyMs / Math.max(1, Date.now() - startedAtMs)),
        };
        try {
          const info = await client.info({ deadlineMs: 2_000 });
          const models = info.models.map((model) => ({ name: model.name, loaded: model.loaded }));
          metrics.setResidentModels(
            worker,
            models.filter((model) => model.loaded).map((model) => model.name),
          );
          return { ...common, alive: true, models };
        } catch {
          return { ...common, alive: false, models: [] };
        }
      }),
    );
  const ready = async () => {
    const reasons: string[] = [];
    const executors = await executorsView();
    for (const executor of executors) {
      if (!executor.alive) reasons.push(`executor ${executor.worker} (${executor.address}) does not answer`);
    }
    try {
      await options.store.listWorkflows();
    } catch (error) {
      reasons.push(`store: ${(error as Error).message}`);
    }
    return { ready: reasons.length === 0, reasons };
  };
  const app = createApp({
    store: options.store,
    registry,
    scheduler,
    hub,
    metrics,
    limits: {
      maxBodyBytes: 1024 * 1024,
      maxUploadBytes: 1024 * 1024 * 1024,
      maxBatchQueries: 1_000_000,
      maxActiveBatches: 64,
      maxWaitMs: 300_000,
      ...options.limits,
    },
    tokens,
    spoolDirectory: options.spoolDirectory ?? join(process.env["TMPDIR"] ?? "/tmp", "halo-server-uploads"),
    executors: executorsView,
    ready,
    log,
  });
  const resumed = await scheduler.start();
  const server: ServerType = await new Promise((resolve, reject) => {
    const started = serve({ fetch: app.fetch, hostname: host, port: options.port ?? 0 }, () =>
      resolve(started),
    );
    started.once("error", reject);
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    resumed: { batches: resumed.resumedBatches, queries: resumed.resumedQueries },
    async close() {
      hub.closeAll();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if ("closeAllConnections" in server) (server as { closeAllConnections(): void }).closeAllConnections();
      await scheduler.stop();
      await closed;
      await registry.close();
      for (const client of clients) client.close();
      await options.store.close();
    },
  };
}
