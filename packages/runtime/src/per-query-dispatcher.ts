/**
 * Per-query execution (the `naive` baseline and the output-equivalence
 * reference): every LLM instance is its own Generate call with one item,
 * sent the moment it is ready — no client-side batching across queries and no
 * coalescing. The executor's own adaptive batching still merges concurrent
 * calls, as a serving engine's continuous batching would, and the static
 * prefix is sent as a shared prefix keyed by its content hash, as a serving
 * engine's automatic prefix cache would reuse it. Models stay where the plan
 * placed them (loaded as the run starts; calls wait for the load); a call goes to the planned
 * worker of its operator with the fewest calls in flight.
 */
import type { ExecutorWorker } from "./executor-worker.js";
import { generateItemOf, type LlmCall } from "./llm-call.js";
import { DispatcherBase, errorMessage, type LlmHost } from "./llm-dispatcher.js";

export class PerQueryDispatcher extends DispatcherBase {
  /** Model loads in progress or done, per worker and model. */
  private readonly loads = new Map<string, Promise<void>>();
  /** Worker and model pairs whose load failed for good, and the last such failure per model. */
  private readonly unservable = new Set<string>();
  private readonly loadFailures = new Map<string, string>();

  constructor(host: LlmHost) {
    super(host);
  }

  /**
   * Every worker loads the models of the operators planned on it, one after
   * the other. The loads are registered at once, so calls submitted meanwhile
   * wait for them instead of starting loads of their own.
   */
  async start(): Promise<void> {
    await Promise.all(
      this.liveWorkers().map(async (worker) => {
        const models = [...new Set(this.host.schedule.stepsOf(worker.id).map((step) => step.model))];
        let previous: Promise<void> = Promise.resolve();
        for (const model of models)
          previous = this.ensureModel(worker, model, "per-query-placement", previous);
        // A worker that cannot load is dealt with when its first call fails.
        await previous.catch(() => undefined);
      }),
    );
  }

  submit(call: LlmCall): void {
    if (this.stopped) return;
    const worker = this.pick(call.operator.id, call.request.model);
    if (!worker) {
      this.host.failCall(
        call,
        this.loadFailures.get(call.request.model) ?? "no live executor serves this operator",
      );
      return;
    }
    worker.inFlight += 1;
    this.send(worker, call)
      .catch((error: unknown) => this.host.failCall(call, errorMessage(error)))
      .finally(() => {
        worker.inFlight -= 1;
      });
  }

  /** Nothing waits in the dispatcher: calls go out as they arrive. */
  pump(): void {}

  private pick(operator: string, model: string): ExecutorWorker | undefined {
    const planned = this.host.schedule.workersOf(operator);
    const able = this.liveWorkers().filter((worker) => !this.unservable.has(`${worker.id}\u0000${model}`));
    const candidates = able.filter((worker) => planned.has(worker.id));
    const pool = candidates.length > 0 ? candidates : able;
    let best: ExecutorWorker | undefined;
    for (const worker of pool) if (!best || worker.inFlight < best.inFlight) best = worker;
    return best;
  }

  /** Loads `model` on `worker` once (after `after`, a load it queues behind); later callers share the load. */
  private ensureModel(
    worker: ExecutorWorker,
    model: string,
    reason: "per-query-placement" | "failover",
    after: Promise<void> = Promise.resolve(),
  ): Promise<void> {
    const key = `${worker.id}\u0000${model}`;
    let load = this.loads.get(key);
    if (!load) {
      load = after.then(() => this.loadModel(worker, model, reason));
      this.loads.set(key, load);
      load.catch(() => this.loads.delete(key));
    }
    return load;
  }

  private async send(worker: ExecutorWorker, call: LlmCall): Promise<void> {
    const { request } = call;
    try {
      await this.ensureModel(worker, request.model, "failover");
    } catch (error) {
      if ((await this.classifyFailure(worker, error)) === "fail") {
        // This executor cannot serve the model: the call goes to another one, or fails if none can.
        this.unservable.add(`${worker.id}\u0000${request.model}`);
        this.loadFailures.set(
          request.model,
          `executor ${worker.address} cannot load ${request.model}: ${errorMessage(error)}`,
        );
        this.resend([call], 0);
        return;
      }
      await this.settleFailure(worker, [call], error, (calls, delayMs) => this.resend(calls, delayMs));
      return;
    }
    const sharePrefix = request.prefix.length > 0;
    const { unfinished, error } = await this.generate(
      worker,
      [call],
      {
        model: request.model,
        ...(sharePrefix ? { sharedPrefix: { key: request.prefixKey, text: request.prefix } } : {}),
        items: [generateItemOf(call, sharePrefix)],
      },
      call.operator.id,
      false,
    );
    if (error === undefined) return;
    await this.settleFailure(worker, unfinished, error, (calls, delayMs) => this.resend(calls, delayMs));
  }

  private resend(calls: readonly LlmCall[], delayMs: number): void {
    const again = () => {
      for (const call of calls) this.submit(call);
    };
    if (delayMs > 0) setTimeout(again, delayMs);
    else again();
  }
}
