/**
 * Liveness of executors with calls in flight. A frozen executor (SIGSTOP, a
 * hung host) keeps its TCP connection open, so its calls would hang until
 * their deadlines; the monitor probes each working executor's gRPC health
 * service and declares it lost when a probe goes unanswered, so that its calls
 * are cancelled and requeued elsewhere exactly as for a killed executor. An
 * executor that still streams events on a call counts as answering.
 */
import { GrpcStatus } from "@halo/protocol";
import type { ExecutorWorker } from "./executor-worker.js";
import { grpcStatusOf } from "./retry-policy.js";

/** Probe failures that mean no answer came (any other status is an answer from a live process). */
const NO_ANSWER: ReadonlySet<number> = new Set([GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.UNAVAILABLE]);

/** Options of a LivenessMonitor. */
export interface LivenessMonitorOptions {
  readonly workers: readonly ExecutorWorker[];
  /**
   * Longest time an executor may go without answering while calls are in
   * flight before it is declared lost: probes go out every quarter of it, each
   * with the remaining three quarters as its deadline.
   */
  readonly executorTimeoutMs: number;
  /** Called once per worker that stopped answering (the monitor no longer watches it). */
  readonly onUnresponsive: (worker: ExecutorWorker, reason: string) => void;
}

export class LivenessMonitor {
  private readonly probing = new Set<ExecutorWorker>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: LivenessMonitorOptions) {}

  /** The interval between probes of a working executor. */
  get intervalMs(): number {
    return Math.max(1, Math.floor(this.options.executorTimeoutMs / 4));
  }

  /** The deadline of one probe. */
  get probeTimeoutMs(): number {
    return Math.max(1, this.options.executorTimeoutMs - this.intervalMs);
  }

  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    // The run's own work keeps the process alive; the monitor alone must not.
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    for (const worker of this.options.workers) {
      if (!worker.alive || !worker.working || this.probing.has(worker)) continue;
      this.probe(worker);
    }
  }

  private probe(worker: ExecutorWorker): void {
    this.probing.add(worker);
    const sentAtMs = performance.now();
    worker.client
      .health("", { deadlineMs: this.probeTimeoutMs })
      .then(
        // Any answer (even NOT_SERVING while it drains) shows the process is alive.
        () => undefined,
        (error: unknown) => {
          if (this.stopped || !worker.alive || !NO_ANSWER.has(grpcStatusOf(error) ?? -1)) return;
          // Events still arriving on a call mean a live executor whose event loop is merely busy.
          if (performance.now() - worker.lastHeardMs < this.options.executorTimeoutMs) return;
          const waitedMs = Math.round(performance.now() - sentAtMs);
          const detail = error instanceof Error ? error.message : String(error);
          this.options.onUnresponsive(
            worker,
            `executor ${worker.address} stopped answering: no health answer within ${waitedMs} ms while calls were in flight (${detail})`,
          );
        },
      )
      .finally(() => this.probing.delete(worker));
  }
}
