/**
 * Progress of `halo run` from the Processor's events: on a terminal, one
 * redrawn line with a bar, queries done, rate, ETA and each worker's model and
 * state; otherwise plain lines every 10 % of the queries (or 10 s), plus a
 * line for every lost executor.
 */
import type { RuntimeEvent } from "@halo/runtime";
import type { CommandIo } from "../io.js";

interface WorkerState {
  model?: string;
  state: "idle" | "busy" | "loading" | "lost";
  items: number;
}

export class RunProgress {
  private total = 0;
  private done = 0;
  private failed = 0;
  private startedAtMs = 0;
  private readonly workers = new Map<string, WorkerState>();
  private timer: NodeJS.Timeout | undefined;
  private lastLineAtMs = 0;
  private lastReported = 0;
  private drawn = false;

  constructor(
    private readonly io: CommandIo,
    private readonly tty: boolean,
  ) {}

  observe(event: RuntimeEvent): void {
    switch (event.type) {
      case "run-started":
        this.total = event.queries;
        this.startedAtMs = performance.now();
        for (const worker of event.workers) this.workers.set(worker.id, { state: "idle", items: 0 });
        this.line(
          `halo run: ${event.queries} queries${event.skipped ? ` (${event.skipped} already done, skipped)` : ""}, ` +
            `strategy ${event.strategy} (${event.mode}), ${event.workers.length} executor(s)`,
        );
        if (this.tty) this.timer = setInterval(() => this.draw(), 250);
        break;
      case "query-finished":
        this.done += 1;
        if (!event.ok) this.failed += 1;
        if (!this.tty) this.maybeReport();
        break;
      case "batch-dispatched":
        this.update(event.worker, { model: event.model, state: "busy", items: event.items });
        break;
      case "batch-finished":
        this.update(event.worker, { model: event.model, state: "idle", items: 0 });
        break;
      case "model-load":
        this.update(event.worker, { model: event.model, state: "idle", items: 0 });
        break;
      case "executor-lost":
        this.update(event.worker, { state: "lost", items: 0 });
        this.line(
          `halo run: executor ${event.worker} (${event.address}) lost: ${event.reason}; ` +
            `${event.requeuedCalls} call(s) requeued${event.reassigned.length ? `, ${event.reassigned.map((move) => `${move.operator} → ${move.to}`).join(", ")}` : ""}`,
        );
        break;
      case "run-finished":
        this.stop();
        break;
      default:
        break;
    }
  }

  /** Stops redrawing and clears the progress line. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.drawn) this.io.stderr("\r\x1b[2K");
    this.drawn = false;
  }

  private update(worker: string, state: Partial<WorkerState>): void {
    const current = this.workers.get(worker) ?? { state: "idle", items: 0 };
    if (current.state === "lost") return;
    this.workers.set(worker, { ...current, ...state });
  }

  private line(text: string): void {
    if (this.drawn) this.io.stderr("\r\x1b[2K");
    this.drawn = false;
    this.io.stderr(`${text}\n`);
  }

  private rateAndEta(): string {
    const elapsedMs = performance.now() - this.startedAtMs;
    const rate = elapsedMs > 0 ? (this.done * 1000) / elapsedMs : 0;
    const remaining = this.total - this.done;
    const eta = rate > 0 ? `ETA ${formatSeconds(remaining / rate)}` : "ETA –";
    return `${rate.toFixed(2)} q/s, ${eta}`;
  }

  private maybeReport(): void {
    const step = Math.max(1, Math.ceil(this.total / 10));
    const now = performance.now();
    if (
      this.done === this.total ||
      this.done - this.lastReported >= step ||
      now - this.lastLineAtMs >= 10_000
    ) {
      this.lastReported = this.done;
      this.lastLineAtMs = now;
      this.line(
        `halo run: ${this.done}/${this.total} queries${this.failed ? ` (${this.failed} failed)` : ""}, ${this.rateAndEta()}`,
      );
    }
  }

  private draw(): void {
    const width = 24;
    const filled = this.total > 0 ? Math.round((this.done / this.total) * width) : 0;
    const bar = `${"█".repeat(filled)}${"░".repeat(width - filled)}`;
    const workers = [...this.workers.entries()]
      .map(([id, worker]) => {
        const model = worker.model ? shortModel(worker.model) : "-";
        const state = worker.state === "busy" ? `busy×${worker.items}` : worker.state;
        return `${id} ${model} ${state}`;
      })
      .join(" · ");
    const failed = this.failed ? ` (${this.failed} failed)` : "";
    const line = `${bar} ${this.done}/${this.total}${failed} · ${this.rateAndEta()} · ${workers}`;
    // One terminal row: a wrapped line could not be redrawn in place.
    const columns = process.stderr.columns || 120;
    this.io.stderr(`\r\x1b[2K${line.length >= columns ? `${line.slice(0, columns - 2)}…` : line}`);
    this.drawn = true;
  }
}

function shortModel(model: string): string {
  return model.includes("/") ? model.slice(model.lastIndexOf("/") + 1) : model;
}

/** Seconds as `12 s` or `3 min 05 s`. */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return "–";
  if (seconds < 9.95) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole} s`;
  return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, "0")} s`;
}
