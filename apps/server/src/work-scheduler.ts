/**
 * Runs the server's work over one shared executor pool: online queries
 * admitted continuously (or in mini-batches) and batch jobs in chunks, each a
 * `Processor` run with a plan from the plan cache.
 *
 * Online, continuous admission (`admission: "continuous"`): each workflow has one open run
 * (`Processor.open`) planned for a size class (a power of two ≥ the
 * workflow's queries in flight); an arrival joins it at once — its calls
 * share micro-batches with the queries already running and identical calls
 * coalesce with theirs. The open run is replaced (the old one drains) when
 * the workflow's queries in flight grow past its class, and after
 * `replaceAfter` admissions (its call cache stays bounded). At most
 * `maxInFlight` online queries run at once; later arrivals wait in the queue,
 * and past `maxQueued` waiting, submissions get 429.
 *
 * Online, mini-batch admission (the default): arrivals wait per workflow until `maxBatchSize` of them are there or
 * the oldest has waited `windowMs`, then start as a mini-batch at once, next
 * to the runs already going (up to `maxConcurrentRuns`): there is no barrier
 * between mini-batches, and the executors merge the concurrent runs' calls
 * into their engine batches. A mini-batch is planned on the models the
 * executors hold now (`restrictToResidency`): planned on its own, a few
 * queries' plan would time-share a worker between models, and each switch is
 * a model load far longer than the mini-batch's work. Batch jobs: one chunk (`chunkSize` queries) at a
 * time, oldest job first; a chunk starts only while the online runs are below
 * their maximum, so online work never queues behind batch work (online
 * priority). With continuous admission a chunk starts only while fewer than
 * `batchPauseAt` online queries are in flight and none waits. Each finished query is written to the store; a restarted server
 * reruns exactly the queries without a result.
 */
import type { JsonObject, QueryContext } from "@halo/ir";
import { type ExecutionPlan, PlanningError, type PlanningWorker } from "@halo/optimizer";
import type { ExecutorClient } from "@halo/protocol";
import {
  type OpenRun,
  Processor,
  ProcessorConfigurationError,
  type QueryResultRecord,
  type ResultSink,
  type RunSummary,
  type RuntimeEvent,
} from "@halo/runtime";
import type { EventHub } from "./event-hub.js";
import { PlanCache, sizeClass } from "./plan-cache.js";
import { bindToResidency, restrictToResidency } from "./residency-binding.js";
import type { ServerMetrics } from "./server-metrics.js";
import type { BatchJob, ServerStore } from "./store/server-store.js";
import type { RegisteredWorkflow, WorkflowRegistry } from "./workflow-registry.js";

/** How online arrivals are admitted. */
export type OnlineAdmission = "continuous" | "mini-batch";

/** Online admission. */
export interface OnlineOptions {
  /** Continuous: into one open run per workflow; mini-batch: per size/window (default mini-batch). */
  readonly admission: OnlineAdmission;
  /** Continuous: online queries running at once (default 1,024). */
  readonly maxInFlight: number;
  /** Continuous: an open run is replaced after this many admissions (default 2,048). */
  readonly replaceAfter: number;
  /**
   * Continuous: no batch chunk starts while this many online queries are in
   * flight (or any wait for admission) (default 64); a chunk already running finishes.
   */
  readonly batchPauseAt: number;
  /** Mini-batch: most queries in one mini-batch (default 64). */
  readonly maxBatchSize: number;
  /** Mini-batch: longest wait of the oldest arrival before its mini-batch starts (default 500 ms). */
  readonly windowMs: number;
  /** Queries waiting for admission before submissions get 429 (default 1,000). */
  readonly maxQueued: number;
  /** Mini-batch: online runs at once (default 8). */
  readonly maxConcurrentRuns: number;
}

/** Batch jobs. */
export interface BatchOptions {
  /** Queries per chunk (default 128). */
  readonly chunkSize: number;
}

/** What the scheduler needs. */
export interface SchedulerSetup {
  readonly store: ServerStore;
  readonly registry: WorkflowRegistry;
  readonly hub: EventHub;
  readonly metrics: ServerMetrics;
  /** Shared clients, one per worker, in worker order. */
  readonly executors: readonly ExecutorClient[];
  readonly workers: readonly PlanningWorker[];
  readonly strategy: string;
  readonly online: OnlineOptions;
  readonly batch: BatchOptions;
  /** Planning time limits (ms): online mini-batches, batch chunks. */
  readonly planningTimeLimitMs: { readonly online: number; readonly batch: number };
  readonly log: (message: string) => void;
}

/** The online queue is full: retry after the given seconds. */
export class QueueFullError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super("the online queue is full; retry later");
    this.name = "QueueFullError";
  }
}

/** A query id that exists already. */
export class DuplicateQueryError extends Error {
  constructor(readonly queryId: string) {
    super(`a query with id "${queryId}" exists already`);
    this.name = "DuplicateQueryError";
  }
}

interface OnlineItem {
  readonly query: QueryContext;
  readonly workflow: string;
  readonly submittedAtMs: number;
}

/** One operator call as it ran: for the dashboard's planned-vs-actual timeline (ms since the epoch). */
export interface ActualStep {
  readonly operator: string;
  readonly worker: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly items: number;
}

/** Continuous admission: one workflow's open run. */
interface OnlineLane {
  readonly id: number;
  readonly workflow: string;
  /** The size class it was planned for. */
  readonly sizeClass: number;
  admitted: number;
  /** Its queries without a record yet, with their submission times. */
  readonly running: Map<string, number>;
  /** Queries admitted before its plan and open run were ready. */
  buffered: QueryContext[];
  run: OpenRun | undefined;
  /** No more admissions (replaced, stopping, or failed to start). */
  closed: boolean;
}

/** Smallest size class an open run is planned for. */
const MIN_LANE_CLASS = 4;
/** Recent contexts kept per workflow as planning samples. */
const PLANNING_SAMPLES = 64;

const MAX_TIMELINE_STEPS = 2_000;
const nowSeconds = () => Math.floor(Date.now() / 1000);

export class WorkScheduler {
  private readonly planCache: PlanCache;
  private readonly onlineQueue = new Map<string, OnlineItem[]>();
  private onlineQueued = 0;
  private onlineRunning = 0;
  private inFlight = 0;
  private onlineTimer: NodeJS.Timeout | undefined;
  private readonly waiters = new Map<string, ((record: QueryResultRecord) => void)[]>();
  private readonly runningQueries = new Set<string>();
  /** Active batch jobs, oldest first, with what is left to run. */
  private readonly activeBatches = new Map<string, { workflow: string; remaining: number }>();
  private readonly cancelled = new Set<string>();
  private currentChunk: { batchId: string; abort: AbortController } | undefined;
  private batchLoopWake: (() => void) | undefined;
  private batchLoopDone: Promise<void> | undefined;
  private stopped = false;
  private readonly batchPlans = new Map<string, ExecutionPlan>();
  private readonly timelines = new Map<string, ActualStep[]>();
  private readonly totals = { onlineCompleted: 0, onlineFailed: 0, batchRecords: 0 };
  /** Continuous admission: each workflow's current open run, and every lane not ended yet. */
  private readonly lanes = new Map<string, OnlineLane>();
  private readonly liveLanes = new Set<OnlineLane>();
  private readonly laneEnds = new Set<Promise<void>>();
  private laneCounter = 0;
  /** Continuous admission: online queries admitted and not finished, in all and per workflow. */
  private onlineInFlight = 0;
  private readonly workflowInFlight = new Map<string, number>();
  private readonly samples = new Map<string, QueryContext[]>();

  constructor(private readonly setup: SchedulerSetup) {
    this.planCache = new PlanCache({
      workers: setup.workers,
      strategy: setup.strategy,
      timeLimitMs: setup.planningTimeLimitMs.batch,
      capacity: 256,
      statisticsStore: {
        get: (workflow, version) => setup.store.getWorkflowStatistics(workflow, version),
        put: (workflow, version, statistics) =>
          setup.store.putWorkflowStatistics(workflow, version, statistics),
      },
      log: setup.log,
    });
  }

  /** Resumes what the store says is unfinished, then starts the batch loop. */
  async start(): Promise<{ resumedBatches: number; resumedQueries: number }> {
    const store = this.setup.store;
    let resumedBatches = 0;
    for (const batch of await store.unfinishedBatches()) {
      if (batch.status === "validating") {
        await store.setBatchStatus(batch.id, {
          status: "failed",
          atSeconds: nowSeconds(),
          errors: [
            { code: "upload-interrupted", message: "the server stopped while the file was uploading" },
          ],
        });
        await store.deleteBatchQueries(batch.id);
      } else if (batch.status === "cancelling") {
        await store.setBatchStatus(batch.id, { status: "cancelled", atSeconds: nowSeconds() });
      } else {
        this.activate(batch);
        resumedBatches += 1;
      }
    }
    const online = await store.unfinishedOnlineQueries();
    for (const query of online) {
      this.enqueueOnline({
        query: { id: query.id, context: query.context },
        workflow: query.workflow,
        submittedAtMs: Date.now(),
      });
    }
    this.batchLoopDone = this.batchLoop();
    return { resumedBatches, resumedQueries: online.length };
  }

  /** Stops taking work, aborts running runs (their unfinished queries stay pending) and waits for them. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.onlineTimer);
    this.currentChunk?.abort.abort(new Error("server stopping"));
    this.batchLoopWake?.();
    await this.batchLoopDone;
    for (const lane of this.liveLanes) this.closeLane(lane);
    await Promise.all([...this.laneEnds]);
    while (this.onlineRunning > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  // ---------------------------------------------------------------- online

  /** Admits an online query (stored first, so a restart does not lose it). */
  async submitOnline(workflow: RegisteredWorkflow, query: QueryContext): Promise<void> {
    if (this.onlineQueued >= this.setup.online.maxQueued) {
      this.setup.metrics.reject("queue-full");
      throw new QueueFullError(this.retryAfterSeconds());
    }
    const created = await this.setup.store.createOnlineQuery({
      id: query.id,
      workflow: workflow.workflow.name,
      context: query.context,
      createdAt: nowSeconds(),
    });
    if (!created) throw new DuplicateQueryError(query.id);
    this.setup.hub.publish(`query:${query.id}`, { type: "queued", data: { id: query.id } });
    this.enqueueOnline({ query, workflow: workflow.workflow.name, submittedAtMs: Date.now() });
  }

  /** Resolves with the query's record when it finishes (or undefined after `timeoutMs`). */
  waitForResult(queryId: string, timeoutMs: number): Promise<QueryResultRecord | undefined> {
    return new Promise((resolve) => {
      const list = this.waiters.get(queryId) ?? [];
      const done = (record: QueryResultRecord | undefined) => {
        clearTimeout(timer);
        resolve(record);
      };
      const timer = setTimeout(() => {
        const current = this.waiters.get(queryId);
        if (current) {
          const index = current.indexOf(done);
          if (index >= 0) current.splice(index, 1);
          if (current.length === 0) this.waiters.delete(queryId);
        }
        resolve(undefined);
      }, timeoutMs);
      list.push(done);
      this.waiters.set(queryId, list);
    });
  }

  /** True while the query runs (in an open run or a mini-batch). */
  isRunning(queryId: string): boolean {
    return this.runningQueries.has(queryId);
  }

  private enqueueOnline(item: OnlineItem): void {
    const list = this.onlineQueue.get(item.workflow) ?? [];
    list.push(item);
    this.onlineQueue.set(item.workflow, list);
    this.onlineQueued += 1;
    this.scheduleOnline();
  }

  private retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.setup.online.windowMs / 1000));
  }

  /** Admits what may start now (continuous), or starts the mini-batches that are due. */
  private scheduleOnline(): void {
    if (this.stopped) return;
    if (this.setup.online.admission === "continuous") {
      this.admitContinuous();
      return;
    }
    clearTimeout(this.onlineTimer);
    this.onlineTimer = undefined;
    const { maxBatchSize, windowMs, maxConcurrentRuns } = this.setup.online;
    let nextDueMs = Number.POSITIVE_INFINITY;
    const byAge = [...this.onlineQueue.entries()].sort(
      ([, left], [, right]) => left[0]!.submittedAtMs - right[0]!.submittedAtMs,
    );
    for (const [workflow, items] of byAge) {
      while (items.length > 0 && this.onlineRunning < maxConcurrentRuns) {
        const dueMs = items[0]!.submittedAtMs + windowMs;
        if (items.length < maxBatchSize && dueMs > Date.now()) {
          nextDueMs = Math.min(nextDueMs, dueMs);
          break;
        }
        const taken = items.splice(0, maxBatchSize);
        this.onlineQueued -= taken.length;
        void this.runOnline(workflow, taken);
      }
      if (items.length === 0) this.onlineQueue.delete(workflow);
    }
    if (Number.isFinite(nextDueMs) && this.onlineRunning < maxConcurrentRuns) {
      this.onlineTimer = setTimeout(() => this.scheduleOnline(), Math.max(0, nextDueMs - Date.now()));
    }
  }

  private async runOnline(workflowName: string, items: readonly OnlineItem[]): Promise<void> {
    this.onlineRunning += 1;
    this.inFlight += items.length;
    for (const item of items) this.runningQueries.add(item.query.id);
    const submitted = new Map(items.map((item) => [item.query.id, item.submittedAtMs]));
    const finished = new Set<string>();
    const finish = async (record: QueryResultRecord) => {
      if (finished.has(record.id)) return;
      finished.add(record.id);
      this.runningQueries.delete(record.id);
      this.inFlight -= 1;
      await this.recordOnline(workflowName, record, submitted.get(record.id) ?? Date.now());
    };
    try {
      const registered = await this.setup.registry.get(workflowName);
      const queries = items.map((item) => item.query);
      if (!registered) {
        for (const query of queries)
          await finish(failedRecord(query.id, `workflow "${workflowName}" is not registered`));
        return;
      }
      const sink: ResultSink = { append: finish, close: async () => {} };
      const channels = queries.map((query) => `query:${query.id}`);
      await this.execute("online", registered, queries, sink, undefined, (event) => {
        if (event.type === "query-started") {
          this.setup.hub.publish(`query:${event.queryId}`, { type: "started", data: { id: event.queryId } });
        } else if (event.type === "batch-dispatched" || event.type === "batch-finished") {
          const type = event.type === "batch-dispatched" ? "operator-started" : "operator-finished";
          for (const channel of channels) {
            if (this.setup.hub.subscriberCount(channel) > 0) {
              this.setup.hub.publish(channel, {
                type,
                data: { operator: event.operator, worker: event.worker, items: event.items },
              });
            }
          }
        }
      });
      // A query the run did not record (an aborted run) stays queued in the store for a restart.
    } catch (error) {
      const message = (error as Error).message;
      this.setup.log(`online mini-batch of ${workflowName} failed: ${message}`);
      for (const item of items) await finish(failedRecord(item.query.id, message));
    } finally {
      for (const item of items) {
        if (!finished.has(item.query.id)) {
          this.runningQueries.delete(item.query.id);
          this.inFlight -= 1;
        }
      }
      this.onlineRunning -= 1;
      this.scheduleOnline();
      this.batchLoopWake?.();
    }
  }

  // ------------------------------------------------------- continuous admission

  /** Moves queued arrivals (oldest workflow first) into their workflows' open runs while in flight allows. */
  private admitContinuous(): void {
    const { maxInFlight } = this.setup.online;
    if (this.onlineInFlight >= maxInFlight) return;
    const byAge = [...this.onlineQueue.entries()].sort(
      ([, left], [, right]) => left[0]!.submittedAtMs - right[0]!.submittedAtMs,
    );
    for (const [workflow, items] of byAge) {
      if (this.onlineInFlight >= maxInFlight) break;
      const taken = items.splice(0, maxInFlight - this.onlineInFlight);
      this.onlineQueued -= taken.length;
      if (items.length === 0) this.onlineQueue.delete(workflow);
      this.admitToLane(workflow, taken);
    }
  }

  /** Admits arrivals into the workflow's open run, replacing it first when traffic outgrew it or it is old. */
  private admitToLane(workflow: string, items: readonly OnlineItem[]): void {
    const recent = this.samples.get(workflow) ?? [];
    for (const item of items) recent.push(item.query);
    this.samples.set(workflow, recent.slice(-PLANNING_SAMPLES));
    const inFlight = (this.workflowInFlight.get(workflow) ?? 0) + items.length;
    this.workflowInFlight.set(workflow, inFlight);
    this.onlineInFlight += items.length;
    this.inFlight += items.length;
    let lane = this.lanes.get(workflow);
    let reason: "first" | "growth" | "age" = "first";
    if (lane && !lane.closed) {
      if (inFlight > lane.sizeClass) {
        reason = "growth";
        this.closeLane(lane);
      } else if (lane.admitted + items.length > this.setup.online.replaceAfter) {
        reason = "age";
        this.closeLane(lane);
      }
    }
    if (!lane || lane.closed) {
      this.setup.metrics.openedRun(reason);
      lane = this.openLane(workflow, Math.max(MIN_LANE_CLASS, sizeClass(inFlight)));
    }
    lane.admitted += items.length;
    const queries = items.map((item) => item.query);
    for (const item of items) {
      lane.running.set(item.query.id, item.submittedAtMs);
      this.runningQueries.add(item.query.id);
    }
    if (lane.run === undefined) {
      lane.buffered.push(...queries);
      return;
    }
    try {
      lane.run.add(queries);
    } catch (error) {
      // The run ended under us (its executors were lost, say): these queries fail with the reason.
      lane.closed = true;
      for (const query of queries)
        void this.finishLaneQuery(lane, failedRecord(query.id, errorMessageOf(error)));
    }
  }

  private openLane(workflow: string, laneClass: number): OnlineLane {
    this.laneCounter += 1;
    const lane: OnlineLane = {
      id: this.laneCounter,
      workflow,
      sizeClass: laneClass,
      admitted: 0,
      running: new Map(),
      buffered: [],
      run: undefined,
      closed: false,
    };
    this.lanes.set(workflow, lane);
    this.liveLanes.add(lane);
    const ended = this.runLane(lane).finally(() => {
      this.liveLanes.delete(lane);
      this.laneEnds.delete(ended);
      if (this.lanes.get(workflow) === lane) this.lanes.delete(workflow);
      this.batchLoopWake?.();
    });
    this.laneEnds.add(ended);
    return lane;
  }

  /** Stops a lane's admissions: it finishes what it has and ends. */
  private closeLane(lane: OnlineLane): void {
    if (lane.closed && lane.run === undefined) return;
    lane.closed = true;
    if (this.lanes.get(lane.workflow) === lane) this.lanes.delete(lane.workflow);
    lane.run?.close();
  }

  private async runLane(lane: OnlineLane): Promise<void> {
    try {
      const registered = await this.setup.registry.get(lane.workflow);
      if (!registered) throw new Error(`workflow "${lane.workflow}" is not registered`);
      // Planned for the size class: samples are recent arrivals, repeated up to the class.
      const recent = this.samples.get(lane.workflow) ?? [];
      const samples = Array.from({ length: lane.sizeClass }, (_, index) => ({
        id: `plan-sample-${index}`,
        context: recent[index % recent.length]!.context,
      }));
      const plan = await this.bindToExecutors(
        await this.planCache.planFor(registered.workflow, registered.stored.updatedAt, samples),
      );
      const processor = this.processorFor("online", registered, plan, (event) => {
        if (event.type === "query-started") {
          this.setup.hub.publish(`query:${event.queryId}`, { type: "started", data: { id: event.queryId } });
        } else if (event.type === "batch-dispatched" || event.type === "batch-finished") {
          const type = event.type === "batch-dispatched" ? "operator-started" : "operator-finished";
          for (const id of lane.running.keys()) {
            const channel = `query:${id}`;
            if (this.setup.hub.subscriberCount(channel) > 0) {
              this.setup.hub.publish(channel, {
                type,
                data: { operator: event.operator, worker: event.worker, items: event.items },
              });
            }
          }
        }
      });
      const run = processor.open({
        sink: { append: (record) => this.finishLaneQuery(lane, record), close: async () => {} },
      });
      lane.run = run;
      const buffered = lane.buffered;
      lane.buffered = [];
      if (buffered.length > 0) run.add(buffered);
      if (lane.closed || this.stopped) run.close();
      const summary = await run.finished;
      this.setup.metrics.observeRun("online", summary);
      void this.planCache.observe(registered.workflow.name, registered.stored.updatedAt, summary.observed);
    } catch (error) {
      const message = errorMessageOf(error);
      this.setup.log(`online run of ${lane.workflow} failed: ${message}`);
      lane.closed = true;
      if (this.lanes.get(lane.workflow) === lane) this.lanes.delete(lane.workflow);
      // Nothing more joins this lane: every query it holds gets a failed record.
      for (const id of [...lane.running.keys()]) await this.finishLaneQuery(lane, failedRecord(id, message));
    } finally {
      // A query the run did not record (stopping) stays queued in the store for a restart.
      for (const id of [...lane.running.keys()]) this.releaseLaneQuery(lane, id);
    }
  }

  private releaseLaneQuery(lane: OnlineLane, id: string): number | undefined {
    const submittedAtMs = lane.running.get(id);
    if (submittedAtMs === undefined) return undefined;
    lane.running.delete(id);
    this.runningQueries.delete(id);
    this.onlineInFlight -= 1;
    this.inFlight -= 1;
    this.workflowInFlight.set(lane.workflow, (this.workflowInFlight.get(lane.workflow) ?? 1) - 1);
    if (this.onlineQueue.size > 0) queueMicrotask(() => this.scheduleOnline());
    if (this.onlineInFlight < this.setup.online.batchPauseAt) this.batchLoopWake?.();
    return submittedAtMs;
  }

  private async finishLaneQuery(lane: OnlineLane, record: QueryResultRecord): Promise<void> {
    const submittedAtMs = this.releaseLaneQuery(lane, record.id);
    if (submittedAtMs === undefined) return;
    await this.recordOnline(lane.workflow, record, submittedAtMs);
  }

  /** Stores a finished online query and tells its waiters, subscribers and the metrics. */
  private async recordOnline(
    workflow: string,
    record: QueryResultRecord,
    submittedAtMs: number,
  ): Promise<void> {
    await this.setup.store.finishOnlineQuery(record.id, record, nowSeconds());
    if (record.ok) this.totals.onlineCompleted += 1;
    else this.totals.onlineFailed += 1;
    const latencySeconds = (Date.now() - submittedAtMs) / 1000;
    this.setup.metrics.observeQuery("online", workflow, record.ok, latencySeconds, record.operators);
    this.setup.hub.publish(`query:${record.id}`, { type: "result", data: record });
    this.setup.hub.publish("server", { type: "online", data: this.onlineFigures() });
    for (const waiter of this.waiters.get(record.id) ?? []) waiter(record);
    this.waiters.delete(record.id);
  }

  /** Online counters for the dashboard. */
  onlineFigures(): { queued: number; running: number; completed: number; failed: number } {
    return {
      queued: this.onlineQueued,
      running: this.runningQueries.size,
      completed: this.totals.onlineCompleted,
      failed: this.totals.onlineFailed,
    };
  }

  // ---------------------------------------------------------------- batches

  /** Starts running a batch that has all its queries stored (`in_progress`). */
  activate(batch: BatchJob): void {
    const done = batch.requestCounts.completed + batch.requestCounts.failed;
    this.activeBatches.set(batch.id, {
      workflow: batch.workflow,
      remaining: Math.max(0, batch.requestCounts.total - done),
    });
    this.batchLoopWake?.();
  }

  /** Cancels a batch: pending queries are not run; results already written stay. */
  async cancel(batch: BatchJob): Promise<void> {
    const store = this.setup.store;
    await store.setBatchStatus(batch.id, { status: "cancelling", atSeconds: nowSeconds() });
    this.cancelled.add(batch.id);
    this.publishBatch(batch.id);
    if (this.currentChunk?.batchId === batch.id) {
      this.currentChunk.abort.abort(new Error("batch cancelled"));
    } else {
      this.activeBatches.delete(batch.id);
      await store.setBatchStatus(batch.id, { status: "cancelled", atSeconds: nowSeconds() });
      this.publishBatch(batch.id);
    }
  }

  /** Queries of active batches without a result. */
  batchQueued(): number {
    let sum = 0;
    for (const batch of this.activeBatches.values()) sum += batch.remaining;
    return sum;
  }

  /** Active batch jobs. */
  activeBatchCount(): number {
    return this.activeBatches.size;
  }

  /** The plan of a batch's chunks (the first one planned since the server started). */
  batchPlan(batchId: string): ExecutionPlan | undefined {
    return this.batchPlans.get(batchId);
  }

  /** Plans a batch's next chunk without running it (the plan view of a batch not started yet). */
  async planBatchPreview(batch: BatchJob): Promise<ExecutionPlan | undefined> {
    const registered = await this.setup.registry.get(batch.workflow);
    if (!registered) return undefined;
    const queries = await this.setup.store.pendingBatchQueries(batch.id, this.setup.batch.chunkSize);
    if (queries.length === 0) return undefined;
    const plan = await this.planCache.planFor(registered.workflow, registered.stored.updatedAt, queries);
    this.batchPlans.set(batch.id, plan);
    return plan;
  }

  /** What ran for a batch, per operator call (wall clock ms). */
  batchTimeline(batchId: string): readonly ActualStep[] {
    return this.timelines.get(batchId) ?? [];
  }

  queueFigures(): { onlineQueued: number; batchQueued: number; inFlight: number } {
    return { onlineQueued: this.onlineQueued, batchQueued: this.batchQueued(), inFlight: this.inFlight };
  }

  private async batchLoop(): Promise<void> {
    while (!this.stopped) {
      const next = this.activeBatches.keys().next();
      const onlineSaturated =
        this.setup.online.admission === "continuous"
          ? this.onlineInFlight >= this.setup.online.batchPauseAt || this.onlineQueued > 0
          : this.onlineRunning >= this.setup.online.maxConcurrentRuns;
      if (next.done || onlineSaturated) {
        await new Promise<void>((resolve) => {
          this.batchLoopWake = resolve;
        });
        this.batchLoopWake = undefined;
        continue;
      }
      try {
        await this.runChunk(next.value);
      } catch (error) {
        this.setup.log(`batch ${next.value}: ${(error as Error).message}`);
        // A store failure: back off instead of spinning.
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  }

  private async runChunk(batchId: string): Promise<void> {
    const store = this.setup.store;
    const state = this.activeBatches.get(batchId)!;
    const batch = await store.getBatch(batchId);
    if (!batch) {
      this.activeBatches.delete(batchId);
      return;
    }
    const registered = await this.setup.registry.get(batch.workflow);
    const queries = await store.pendingBatchQueries(batchId, this.setup.batch.chunkSize);
    if (this.cancelled.has(batchId)) {
      this.activeBatches.delete(batchId);
      await store.setBatchStatus(batchId, { status: "cancelled", atSeconds: nowSeconds() });
      this.publishBatch(batchId);
      return;
    }
    if (queries.length === 0 || !registered) {
      if (!registered && queries.length > 0) {
        await store.recordBatchResults(
          batchId,
          queries.map((query) => failedRecord(query.id, `workflow "${batch.workflow}" is not registered`)),
        );
        return;
      }
      this.activeBatches.delete(batchId);
      await store.setBatchStatus(batchId, { status: "finalizing", atSeconds: nowSeconds() });
      this.publishBatch(batchId);
      await store.setBatchStatus(batchId, { status: "completed", atSeconds: nowSeconds() });
      this.publishBatch(batchId);
      return;
    }
    const abort = new AbortController();
    this.currentChunk = { batchId, abort };
    this.inFlight += queries.length;
    const startedAtMs = Date.now();
    const sink = new StoreBatchSink(store, batchId, async (records) => {
      state.remaining = Math.max(0, state.remaining - records.length);
      this.totals.batchRecords += records.length;
      for (const record of records) {
        this.setup.metrics.observeQuery(
          "batch",
          batch.workflow,
          record.ok,
          (Date.now() - startedAtMs) / 1000,
          record.operators,
        );
      }
      this.publishBatch(batchId);
    });
    try {
      await this.execute("batch", registered, queries, sink, abort.signal, undefined, batchId);
      await sink.close();
    } catch (error) {
      // A plan that cannot be made or run fails the chunk's queries; anything else (executors
      // unreachable, the store) is retried by the loop.
      if (!(error instanceof PlanningError || error instanceof ProcessorConfigurationError)) throw error;
      await sink.close();
      const failed = queries.map((query) => failedRecord(query.id, (error as Error).message));
      await store.recordBatchResults(batchId, failed);
      state.remaining = Math.max(0, state.remaining - failed.length);
      this.publishBatch(batchId);
    } finally {
      await sink.close().catch(() => undefined);
      this.inFlight -= queries.length;
      this.currentChunk = undefined;
    }
  }

  private publishBatch(batchId: string): void {
    void this.setup.store.getBatch(batchId).then(
      (batch) => {
        if (!batch) return;
        this.setup.hub.publish(`batch:${batchId}`, { type: "progress", data: batch });
        this.setup.hub.publish("server", { type: "batch", data: batch });
      },
      () => undefined,
    );
  }

  // ---------------------------------------------------------------- runs

  private async execute(
    kind: "online" | "batch",
    registered: RegisteredWorkflow,
    queries: readonly QueryContext[],
    sink: ResultSink,
    signal: AbortSignal | undefined,
    onEvent?: (event: RuntimeEvent) => void,
    batchId?: string,
  ): Promise<RunSummary> {
    let plan: ExecutionPlan;
    if (kind === "online") {
      // A mini-batch is planned on the models the executors hold now (see `restrictToResidency`).
      const resident = await this.residentModels();
      const models = registered.workflow.operators.flatMap((operator) =>
        operator.kind === "llm" ? [operator.model] : [],
      );
      const restriction = restrictToResidency(this.setup.workers, models, resident);
      plan = await this.planCache.planFor(
        registered.workflow,
        registered.stored.updatedAt,
        queries,
        restriction,
      );
      if (!restriction.key) plan = bindToResidency(plan, resident);
    } else {
      plan = await this.bindToExecutors(
        await this.planCache.planFor(registered.workflow, registered.stored.updatedAt, queries),
      );
    }
    if (batchId !== undefined && !this.batchPlans.has(batchId)) this.batchPlans.set(batchId, plan);
    const processor = this.processorFor(kind, registered, plan, onEvent, batchId);
    const summary = await processor.run(queries, { sink, ...(signal ? { signal } : {}) });
    this.setup.metrics.observeRun(kind, summary);
    void this.planCache.observe(registered.workflow.name, registered.stored.updatedAt, summary.observed);
    return summary;
  }

  /**
   * The plan bound to the executors by the models they hold now (see
   * `residency-binding.ts`): a run that starts beside or after another does
   * not load models back and forth. An executor that does not answer counts as holding nothing.
   */
  private async bindToExecutors(plan: ExecutionPlan): Promise<ExecutionPlan> {
    return bindToResidency(plan, await this.residentModels());
  }

  /** The models each executor holds now, by address; an executor that does not answer is left out. */
  private async residentModels(): Promise<Map<string, Set<string>>> {
    const resident = new Map<string, Set<string>>();
    await Promise.all(
      this.setup.executors.map(async (client) => {
        try {
          const info = await client.info({ deadlineMs: 2_000 });
          resident.set(
            client.address,
            new Set(info.models.filter((model) => model.loaded).map((model) => model.name)),
          );
        } catch {
          // Unreachable now: the run itself reports it.
        }
      }),
    );
    return resident;
  }

  private processorFor(
    _kind: "online" | "batch",
    registered: RegisteredWorkflow,
    plan: ExecutionPlan,
    onEvent?: (event: RuntimeEvent) => void,
    batchId?: string,
  ): Processor {
    const runStartMs = Date.now();
    const timeline = batchId === undefined ? undefined : this.timelineOf(batchId);
    return new Processor({
      workflow: registered.workflow,
      plan,
      executors: this.setup.executors,
      tools: registered.tools,
      options: {
        // The executors are shared and watched by /readyz: a slow answer on a loaded machine is not a reason to
        // fail every query of a run (an open run's executors are reached once, when it starts).
        connectTimeoutMs: 60_000,
        onEvent: (event) => {
          this.setup.metrics.observeEvent(event);
          if (timeline && event.type === "batch-finished" && timeline.length < MAX_TIMELINE_STEPS) {
            timeline.push({
              operator: event.operator,
              worker: event.worker,
              startMs: runStartMs + event.atMs - event.wallMs,
              endMs: runStartMs + event.atMs,
              items: event.items,
            });
          }
          onEvent?.(event);
        },
      },
    });
  }

  private timelineOf(batchId: string): ActualStep[] {
    let timeline = this.timelines.get(batchId);
    if (!timeline) {
      timeline = [];
      this.timelines.set(batchId, timeline);
    }
    return timeline;
  }
}

function errorMessageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The record of a query that could not run at all. */
function failedRecord(id: string, message: string): QueryResultRecord {
  return {
    id,
    ok: false,
    outputs: {} as JsonObject,
    operators: {},
    error: { operator: "(server)", message },
  };
}

/**
 * Writes a chunk's records to the store in small transactions (every 32
 * records or 100 ms): one fsync per query would bound throughput, and a record
 * lost to a crash before its flush is only rerun, never duplicated.
 */
class StoreBatchSink implements ResultSink {
  private buffer: QueryResultRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: ServerStore,
    private readonly batchId: string,
    private readonly onFlushed: (records: readonly QueryResultRecord[]) => Promise<void>,
  ) {}

  async append(record: QueryResultRecord): Promise<void> {
    this.buffer.push(record);
    if (this.buffer.length >= 32) await this.flush();
    else if (!this.timer) this.timer = setTimeout(() => void this.flush().catch(() => undefined), 100);
  }

  private flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const records = this.buffer;
    this.buffer = [];
    this.flushing = this.flushing.then(async () => {
      if (records.length === 0) return;
      await this.store.recordBatchResults(this.batchId, records);
      await this.onFlushed(records);
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    await this.flush();
  }
}
