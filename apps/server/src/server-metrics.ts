/**
 * The server's Prometheus metrics (prom-client, own registry, `halo_`
 * prefix), fed from the Processor's runtime events and the scheduler. Queue
 * depth and in-flight gauges are read from the scheduler at scrape time.
 */
import type { RunSummary, RuntimeEvent } from "@halo/runtime";
import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** Where queue gauges read from at scrape time. */
export interface QueueFigures {
  onlineQueued(): number;
  batchQueued(): number;
  inFlight(): number;
}

const LATENCY_BUCKETS_SECONDS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly queryLatency: Histogram<"kind" | "workflow" | "outcome">;
  private readonly operatorLatency: Histogram<"workflow" | "operator">;
  private readonly tokens: Counter<"kind">;
  private readonly coalesced: Counter<"kind">;
  private readonly modelLoads: Counter<"worker" | "model" | "reason">;
  private readonly migrations: Counter<"outcome">;
  private readonly busySeconds: Counter<"worker">;
  private readonly residentModels: Gauge<"worker" | "model">;
  private readonly planMakespan: Histogram<"kind">;
  private readonly planRatio: Histogram;
  private readonly rejected: Counter<"reason">;
  private readonly runs: Counter<"kind">;
  private readonly openRuns: Counter<"reason">;
  private readonly busyByWorker = new Map<string, number>();
  private readonly lastScrape = new Map<string, { atMs: number; busyMs: number }>();

  constructor(queues: QueueFigures) {
    const registers = [this.registry];
    new Gauge({
      name: "halo_queue_depth",
      help: "Queries waiting to be admitted (online) or without a result yet (batch jobs)",
      labelNames: ["kind"],
      registers,
      collect() {
        this.set({ kind: "online" }, queues.onlineQueued());
        this.set({ kind: "batch" }, queues.batchQueued());
      },
    });
    new Gauge({
      name: "halo_queries_in_flight",
      help: "Queries admitted into a running mini-batch or batch chunk",
      registers,
      collect() {
        this.set(queues.inFlight());
      },
    });
    this.queryLatency = new Histogram({
      name: "halo_query_latency_seconds",
      help: "From submission (online) or admission (batch) to the query's result",
      labelNames: ["kind", "workflow", "outcome"],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });
    this.operatorLatency = new Histogram({
      name: "halo_operator_latency_seconds",
      help: "Per query and operator, from the operator's start to its end",
      labelNames: ["workflow", "operator"],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });
    this.tokens = new Counter({
      name: "halo_tokens_total",
      help: "Prompt tokens prefilled and served from cache, and tokens generated",
      labelNames: ["kind"],
      registers,
    });
    this.coalesced = new Counter({
      name: "halo_coalesced_calls_total",
      help: "Operator instances served by an identical call (in flight or finished) instead of their own",
      labelNames: ["kind"],
      registers,
    });
    this.modelLoads = new Counter({
      name: "halo_model_loads_total",
      help: "Models loaded on executors",
      labelNames: ["worker", "model", "reason"],
      registers,
    });
    this.migrations = new Counter({
      name: "halo_kv_migrations_total",
      help: "KV cache migrations between executors",
      labelNames: ["outcome"],
      registers,
    });
    this.busySeconds = new Counter({
      name: "halo_executor_busy_seconds_total",
      help: "Wall time an executor ran a Generate call or a model load",
      labelNames: ["worker"],
      registers,
    });
    this.residentModels = new Gauge({
      name: "halo_executor_resident_models",
      help: "1 for each model loaded on an executor",
      labelNames: ["worker", "model"],
      registers,
    });
    const busyByWorker = this.busyByWorker;
    const lastScrape = this.lastScrape;
    new Gauge({
      name: "halo_executor_utilization",
      help: "Busy share of each executor since the previous scrape (0..1)",
      labelNames: ["worker"],
      registers,
      collect() {
        const nowMs = performance.now();
        for (const [worker, busyMs] of busyByWorker) {
          const last = lastScrape.get(worker);
          if (last && nowMs > last.atMs) {
            this.set({ worker }, Math.min(1, (busyMs - last.busyMs) / (nowMs - last.atMs)));
          }
          lastScrape.set(worker, { atMs: nowMs, busyMs });
        }
      },
    });
    this.planMakespan = new Histogram({
      name: "halo_plan_makespan_seconds",
      help: "Makespan of each run (mini-batch or batch chunk): the plan's estimate and the actual",
      labelNames: ["kind"],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });
    this.planRatio = new Histogram({
      name: "halo_plan_actual_over_estimate",
      help: "Actual makespan divided by the plan's estimate, per run",
      buckets: [0.25, 0.5, 0.75, 0.9, 1, 1.1, 1.25, 1.5, 2, 3, 5, 10],
      registers,
    });
    this.rejected = new Counter({
      name: "halo_rejected_requests_total",
      help: "Requests refused: queue full (429), body too large (413), unauthorized (401)",
      labelNames: ["reason"],
      registers,
    });
    this.openRuns = new Counter({
      name: "halo_online_open_runs_total",
      help: "Open runs started by continuous online admission: first, replacing one outgrown by traffic, or one that admitted its maximum",
      labelNames: ["reason"],
      registers,
    });
    this.runs = new Counter({
      name: "halo_runs_total",
      help: "Processor runs started: online mini-batches and batch-job chunks",
      labelNames: ["kind"],
      registers,
    });
  }

  /** Feeds one runtime event of a run. */
  observeEvent(event: RuntimeEvent): void {
    switch (event.type) {
      case "batch-finished":
        this.tokens.inc({ kind: "prefilled" }, Math.max(0, event.promptTokens - event.cachedTokens));
        this.tokens.inc({ kind: "cached" }, event.cachedTokens);
        this.tokens.inc({ kind: "generated" }, event.generatedTokens);
        this.addBusy(event.worker, event.wallMs);
        break;
      case "model-load":
        if (!event.alreadyLoaded) {
          this.modelLoads.inc({ worker: event.worker, model: event.model, reason: event.reason });
          this.addBusy(event.worker, event.loadMs);
        }
        for (const model of event.unloaded) this.residentModels.remove({ worker: event.worker, model });
        this.residentModels.set({ worker: event.worker, model: event.model }, 1);
        break;
      case "kv-migration":
        this.migrations.inc({ outcome: event.ok ? "ok" : "fallback" });
        break;
      default:
        break;
    }
  }

  /** Records the models an executor reports loaded (at start and on refresh). */
  setResidentModels(worker: string, models: readonly string[]): void {
    this.residentModels.remove({ worker });
    for (const model of models) this.residentModels.set({ worker, model }, 1);
    if (!this.busyByWorker.has(worker)) this.busyByWorker.set(worker, 0);
  }

  observeRun(kind: "online" | "batch", summary: RunSummary): void {
    this.runs.inc({ kind });
    this.coalesced.inc({ kind: "llm" }, summary.llm.coalesced + summary.llm.cached);
    this.coalesced.inc({ kind: "tool" }, summary.tools.coalesced + summary.tools.cached);
    const estimatedSeconds = (summary.plan.pipelinedMakespanMs ?? summary.plan.estimatedMakespanMs) / 1000;
    const actualSeconds = summary.makespanMs / 1000;
    this.planMakespan.observe({ kind: "estimated" }, estimatedSeconds);
    this.planMakespan.observe({ kind: "actual" }, actualSeconds);
    if (estimatedSeconds > 0) this.planRatio.observe(actualSeconds / estimatedSeconds);
  }

  observeQuery(
    kind: "online" | "batch",
    workflow: string,
    ok: boolean,
    latencySeconds: number,
    operators: Readonly<Record<string, { readonly startMs: number; readonly endMs: number }>>,
  ): void {
    this.queryLatency.observe({ kind, workflow, outcome: ok ? "ok" : "failed" }, latencySeconds);
    for (const [operator, timing] of Object.entries(operators)) {
      this.operatorLatency.observe({ workflow, operator }, Math.max(0, timing.endMs - timing.startMs) / 1000);
    }
  }

  openedRun(reason: "first" | "growth" | "age"): void {
    this.openRuns.inc({ reason });
  }

  reject(reason: "queue-full" | "body-too-large" | "unauthorized"): void {
    this.rejected.inc({ reason });
  }

  /** Busy milliseconds per worker so far (the dashboard's utilization). */
  busyMilliseconds(): ReadonlyMap<string, number> {
    return this.busyByWorker;
  }

  private addBusy(worker: string, ms: number): void {
    this.busySeconds.inc({ worker }, ms / 1000);
    this.busyByWorker.set(worker, (this.busyByWorker.get(worker) ?? 0) + ms);
  }
}
