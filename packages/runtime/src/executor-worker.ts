import type { ExecutorClient, LoadModelResponse } from "@halo/protocol";

/** Counters of one worker over a run. */
export interface WorkerFigures {
  batches: number;
  items: number;
  /** Wall time with a Generate call or a model load running. */
  busyMs: number;
  modelLoads: number;
  loadMs: number;
}

/**
 * A plan worker bound to an executor sidecar: its limits (from `Info`), the
 * models it holds, the prefixes it caches, whether it is alive and busy.
 */
export class ExecutorWorker {
  alive = true;
  /** Batched mode: a Generate call, model load or KV migration is running. */
  busy = false;
  /** Per-query mode: Generate calls in flight. */
  inFlight = 0;
  /** When the executor last sent anything on a call (performance.now() ms): a streaming executor is alive. */
  lastHeardMs = performance.now();
  /** Generate items in flight (reported as requeued when the worker is lost). */
  runningItems = 0;
  /** Model loads and Generate calls in flight, in either mode (what the liveness monitor watches). */
  activeCalls = 0;
  /** The model the worker last loaded or ran. */
  currentModel: string | undefined;
  readonly loadedModels = new Set<string>();
  /** Prefix KV keys the executor holds (generated with, or imported). */
  readonly residentPrefixes = new Set<string>();
  maxSequences = 16;
  maxBatchTokens = Number.POSITIVE_INFINITY;
  /** No new work before this time (ms since the run started), after a transient failure. */
  backoffUntilMs = 0;
  readonly figures: WorkerFigures = { batches: 0, items: 0, busyMs: 0, modelLoads: 0, loadMs: 0 };
  /** Aborted when the worker is declared lost: cancels every call still in flight to it. */
  private readonly lost = new AbortController();

  constructor(
    readonly id: string,
    readonly client: ExecutorClient,
  ) {}

  get address(): string {
    return this.client.address;
  }

  /** Whether a call (Generate, model load, KV migration) to the executor is in flight. */
  get working(): boolean {
    return this.busy || this.inFlight > 0 || this.activeCalls > 0;
  }

  /** The signal of a call to this executor: the run's signal, or the worker being declared lost. */
  callSignal(runSignal: AbortSignal): AbortSignal {
    return AbortSignal.any([runSignal, this.lost.signal]);
  }

  /** Cancels the calls in flight (the worker was declared lost; their work is requeued elsewhere). */
  cancelCalls(reason: string): void {
    this.lost.abort(new Error(reason));
  }

  /** Connects and reads the executor's limits and loaded models; throws when it is unreachable. */
  async initialize(timeoutMs: number): Promise<void> {
    await this.client.waitForReady(timeoutMs);
    const info = await this.client.info({ deadlineMs: timeoutMs });
    if (info.maxSequences > 0) this.maxSequences = info.maxSequences;
    if (info.maxBatchTokens > 0) this.maxBatchTokens = info.maxBatchTokens;
    for (const model of info.models) if (model.loaded) this.loadedModels.add(model.name);
    if (this.loadedModels.size === 1) this.currentModel = [...this.loadedModels][0];
  }

  /** True when the executor answers its health check with SERVING within `timeoutMs`. */
  async probeHealth(timeoutMs: number): Promise<boolean> {
    try {
      return (await this.client.health("", { deadlineMs: timeoutMs })) === "serving";
    } catch {
      return false;
    }
  }

  /** Loads a model (a no-op in the executor when already loaded) and records what it unloaded. */
  async loadModel(model: string, runSignal: AbortSignal): Promise<LoadModelResponse> {
    this.activeCalls += 1;
    let response: LoadModelResponse;
    try {
      response = await this.client.loadModel(model, { signal: this.callSignal(runSignal) });
    } finally {
      this.activeCalls -= 1;
    }
    for (const unloaded of response.unloaded) this.loadedModels.delete(unloaded);
    this.loadedModels.add(model);
    this.currentModel = model;
    if (!response.alreadyLoaded) {
      this.figures.modelLoads += 1;
      this.figures.loadMs += response.loadMs;
      // Prefix KV lives as long as its model; unloading may have dropped some, so forget them all.
      if (response.unloaded.length > 0) this.residentPrefixes.clear();
    }
    return response;
  }
}
