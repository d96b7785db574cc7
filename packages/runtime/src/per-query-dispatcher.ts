/**
 * Per-query execution (the `naive` baseline and the output-equivalence
 * reference): every LLM instance is its own Generate call with one item,
 * sent the moment it is ready — no client-side batching across queries and no
 * coalescing. The executor's own adaptive batching still merges concurrent
 * calls, as a serving engine's continuous batching would, and the static
 * prefix is sent as a shared prefix keyed by its content hash, as a serving
 * engine's automatic prefix cache would reuse it. Models stay where the plan
 * placed them (loaded before the first query); a call goes to the planned
 * worker of its operator with the fewest calls in flight.
 */
import type { ExecutorWorker } from "./executor-worker.js";
import { generateItemOf, type LlmCall } from "./llm-call.js";
import { DispatcherBase, errorMessage, type LlmHost } from "./llm-dispatcher.js";

export class PerQueryDispatcher extends DispatcherBase {
  /** Model loads in progress or done, per worker and model. */
  private readonly loads = new Map<string, Promise<void>>();

  constructor(host: LlmHost) {
    super(host);
  }

  /** Every worker loads the models of the operators planned on it. */
  async start(): Promise<void> {
    await Promise.all(
      this.liveWorkers().map(async (worker) => {
        const models = [...new Set(this.host.schedule.stepsOf(worker.id).map((step) => step.model))];
        for (const model of models) {
          try {
            await this.ensureModel(worker, model, "per-query-placement");
          } catch {
            // A worker that cannot load is dealt with when its first call fails.
            return;
          }
        }
      }),
    );
  }

  submit(call: LlmCall): void {
    if (this.stopped) return;
    const worker = this.pick(call.operator.id);
    if (!worker) {
      this.host.failCall(call, "no live executor serves this operator");
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

  private pick(operator: string): ExecutorWorker | undefined {
    const planned = this.host.schedule.workersOf(operator);
    const candidates = this.liveWorkers().filter((worker) => planned.has(worker.id));
    const pool = candidates.length > 0 ? candidates : this.liveWorkers();
    let best: ExecutorWorker | undefined;
    for (const worker of pool) if (!best || worker.inFlight < best.inFlight) best = worker;
    return best;
  }

  private ensureModel(
    worker: ExecutorWorker,
    model: string,
    reason: "per-query-placement" | "failover",
  ): Promise<void> {
    const key = `${worker.id}\u0000${model}`;
    let load = this.loads.get(key);
    if (!load) {
      load = this.loadModel(worker, model, reason);
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
