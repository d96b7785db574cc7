/**
 * Registered workflows: stored as the source text the user sent, compiled
 * with `@halo/ir` (the same loader and problem list as `halo validate`), with
 * the tools each one needs opened once by the host (the CLI) and kept.
 */
import { type CompiledWorkflow, loadWorkflowText, type WorkflowProblem } from "@halo/ir";
import type { RuntimeTools } from "@halo/runtime";
import type { ServerStore, StoredWorkflow } from "./store/server-store.js";

/**
 * Opens the tools a workflow needs (SQL, HTTP); throws an Error whose message
 * says what is missing (e.g. the workflow runs SQL but the server has no `--db`).
 */
export type ToolProvider = (workflow: CompiledWorkflow) => Promise<RuntimeTools>;

/** A registered workflow, compiled, with its tools. */
export interface RegisteredWorkflow {
  readonly stored: StoredWorkflow;
  readonly workflow: CompiledWorkflow;
  readonly warnings: readonly WorkflowProblem[];
  readonly tools: RuntimeTools;
}

/** The outcome of registering a workflow. */
export type RegistrationResult =
  | { readonly ok: true; readonly registered: RegisteredWorkflow; readonly created: boolean }
  | { readonly ok: false; readonly problems: readonly WorkflowProblem[] };

/**
 * Adjusts a compiled workflow before it runs (e.g. a benchmark scaling HTTP
 * latencies to a simulated clock); the identity by default.
 */
export type WorkflowPreparer = (workflow: CompiledWorkflow) => CompiledWorkflow;

export class WorkflowRegistry {
  private readonly compiled = new Map<string, RegisteredWorkflow>();

  constructor(
    private readonly store: ServerStore,
    private readonly toolsFor: ToolProvider,
    private readonly prepare: WorkflowPreparer = (workflow) => workflow,
  ) {}

  /** Compiles and stores a workflow (a new version replaces the old under its name). */
  async register(source: string, format: "yaml" | "json", nowSeconds: number): Promise<RegistrationResult> {
    const file = format === "json" ? "workflow.json" : "workflow.yaml";
    const result = loadWorkflowText(source, { file });
    if (!result.ok) return { ok: false, problems: result.problems };
    const workflow = this.prepare(result.workflow);
    let tools: RuntimeTools;
    try {
      tools = await this.toolsFor(workflow);
    } catch (error) {
      return {
        ok: false,
        problems: [
          {
            code: "tools-unavailable",
            message: (error as Error).message,
            source: { file, path: "(document)" },
          },
        ],
      };
    }
    const name = workflow.name;
    const existing = await this.store.getWorkflow(name);
    const stored: StoredWorkflow = {
      name,
      source,
      format,
      createdAt: existing?.createdAt ?? nowSeconds,
      updatedAt: nowSeconds,
    };
    await this.store.putWorkflow(stored);
    const previous = this.compiled.get(name);
    const registered = { stored, workflow, warnings: result.warnings, tools };
    this.compiled.set(name, registered);
    if (previous) await closeTools(previous.tools);
    return { ok: true, registered, created: existing === undefined };
  }

  /** The workflow under `name`, compiled from the store on first use (after a restart). */
  async get(name: string): Promise<RegisteredWorkflow | undefined> {
    const cached = this.compiled.get(name);
    if (cached) return cached;
    const stored = await this.store.getWorkflow(name);
    if (!stored) return undefined;
    const result = loadWorkflowText(stored.source, { file: `workflow ${name}` });
    if (!result.ok) return undefined;
    const workflow = this.prepare(result.workflow);
    const tools = await this.toolsFor(workflow);
    const registered = { stored, workflow, warnings: result.warnings, tools };
    this.compiled.set(name, registered);
    return registered;
  }

  async list(): Promise<StoredWorkflow[]> {
    return this.store.listWorkflows();
  }

  /** Closes every workflow's tools. */
  async close(): Promise<void> {
    for (const registered of this.compiled.values()) await closeTools(registered.tools);
    this.compiled.clear();
  }
}

async function closeTools(tools: RuntimeTools): Promise<void> {
  await Promise.allSettled([tools.sql?.close(), tools.http?.close()]);
}
