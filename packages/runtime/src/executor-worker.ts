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

  constructor(
    readonly id: string,
    readonly client: ExecutorClient,
  ) {}

  get address(): string {
    return this.client.address;
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
  async loadModel(model: string, signal?: AbortSignal): Promise<LoadModelResponse> {
    const response = await this.client.loadModel(model, signal ? { signal } : {});
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
