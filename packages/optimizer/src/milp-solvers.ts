import GLPK from "glpk.js/node";
import type { Highs } from "highs";
import * as highsModule from "highs";

/**
 * A small solver-neutral MILP model and the two backends that solve it:
 * glpk.js (its JSON model) and HiGHS (CPLEX LP text). Variables are
 * continuous with bounds unless listed as binary.
 */
export interface LinearTerm {
  readonly variable: string;
  readonly coefficient: number;
}

/** `lower ≤ Σ terms ≤ upper` (either side may be absent). */
export interface LinearConstraint {
  readonly name: string;
  readonly terms: readonly LinearTerm[];
  readonly lower?: number;
  readonly upper?: number;
}

export interface MilpModel {
  /** Minimized. */
  readonly objective: readonly LinearTerm[];
  readonly constraints: readonly LinearConstraint[];
  /** Bounds of continuous variables (default [0, +∞)). */
  readonly bounds: ReadonlyMap<string, { readonly lower: number; readonly upper: number }>;
  readonly binaries: readonly string[];
}

/** What a solver run returned. */
export interface MilpSolution {
  readonly status: "optimal" | "feasible" | "no-solution";
  readonly objective?: number;
  /** Best proven bound on the objective, when the solver reports one. */
  readonly bestBound?: number;
  readonly values: ReadonlyMap<string, number>;
  readonly solveMs: number;
  /** The solver proved the model infeasible. */
  readonly infeasible?: boolean;
}

export interface MilpSolveOptions {
  readonly timeLimitMs: number;
  /** Relative gap at which to stop (0 = prove optimality). */
  readonly relativeGap: number;
  /** A (partial) start: values of some variables (HiGHS completes it; glpk.js ignores it). */
  readonly start?: ReadonlyMap<string, number>;
}

type GlpkInstance = Awaited<ReturnType<typeof GLPK>>;
type HighsInstance = Highs;
// The package's types describe its CommonJS build; under ESM the loader is the module's default export.
const loadHighs = (highsModule as unknown as { default: () => Promise<Highs> }).default;
let glpkInstance: Promise<GlpkInstance> | undefined;
let highsInstance: Promise<HighsInstance> | undefined;

/** Solves with glpk.js (branch and cut; reports optimal or feasible at the time limit, no bound). */
export async function solveWithGlpk(model: MilpModel, options: MilpSolveOptions): Promise<MilpSolution> {
  glpkInstance ??= GLPK();
  const glpk = await glpkInstance;
  const started = performance.now();
  const bound = (lower: number | undefined, upper: number | undefined) => {
    if (lower !== undefined && upper !== undefined) {
      return { type: lower === upper ? glpk.GLP_FX : glpk.GLP_DB, lb: lower, ub: upper };
    }
    if (lower !== undefined) return { type: glpk.GLP_LO, lb: lower, ub: 0 };
    if (upper !== undefined) return { type: glpk.GLP_UP, lb: 0, ub: upper };
    return { type: glpk.GLP_FR, lb: 0, ub: 0 };
  };
  const result = glpk.solve(
    {
      name: "halo",
      objective: {
        direction: glpk.GLP_MIN,
        name: "makespan",
        vars: model.objective.map((term) => ({ name: term.variable, coef: term.coefficient })),
      },
      subjectTo: model.constraints.map((constraint) => ({
        name: constraint.name,
        vars: mergeTerms(constraint.terms).map((term) => ({ name: term.variable, coef: term.coefficient })),
        bnds: bound(constraint.lower, constraint.upper),
      })),
      bounds: [...model.bounds.entries()].map(([name, { lower, upper }]) => ({
        name,
        ...bound(lower, Number.isFinite(upper) ? upper : undefined),
      })),
      binaries: [...model.binaries],
    },
    {
      msglev: glpk.GLP_MSG_OFF,
      tmlim: Math.max(1, Math.ceil(options.timeLimitMs / 1000)),
      mipgap: options.relativeGap,
      presol: true,
    },
  );
  const solveMs = performance.now() - started;
  const { status, z, vars } = result.result;
  if (status === glpk.GLP_OPT || status === glpk.GLP_FEAS) {
    return {
      status: status === glpk.GLP_OPT ? "optimal" : "feasible",
      objective: z,
      values: new Map(Object.entries(vars)),
      solveMs,
    };
  }
  return {
    status: "no-solution",
    values: new Map(),
    solveMs,
    ...(status === glpk.GLP_NOFEAS ? { infeasible: true } : {}),
  };
}

/** Solves with HiGHS from CPLEX LP text; reports the MIP dual bound. */
export async function solveWithHighs(model: MilpModel, options: MilpSolveOptions): Promise<MilpSolution> {
  highsInstance ??= loadHighs();
  const highs = await highsInstance;
  const started = performance.now();
  const solver = highs.createModel({ format: "lp", data: toLpText(model) });
  try {
    solver.options.set({
      time_limit: options.timeLimitMs / 1000,
      mip_rel_gap: options.relativeGap,
      output_flag: false,
    });
    if (options.start && options.start.size > 0) {
      const indices: number[] = [];
      const values: number[] = [];
      const known = new Set(variableNames(model));
      for (const [name, value] of options.start) {
        if (!known.has(name)) continue;
        indices.push(solver.getColByName(name));
        values.push(value);
      }
      try {
        solver.setSolution({ indices, values });
      } catch {
        // A start HiGHS rejects only costs the head start.
      }
    }
    solver.run();
    const solveMs = performance.now() - started;
    const status = solver.getModelStatus();
    const codes = highs.constants.modelStatus;
    const primalStatus = Number(solver.info.get("primal_solution_status"));
    const dualBound = Number(solver.info.get("mip_dual_bound"));
    // primal_solution_status 2 = feasible point available.
    if (status !== codes.optimal && primalStatus !== 2)
      return {
        status: "no-solution",
        values: new Map(),
        solveMs,
        ...(Number.isFinite(dualBound) ? { bestBound: dualBound } : {}),
        ...(status === codes.infeasible ? { infeasible: true } : {}),
      };
    const columns = solver.getSolution().colValue;
    const values = new Map<string, number>();
    for (const name of variableNames(model)) {
      const column = solver.getColByName(name);
      values.set(name, columns[column] ?? 0);
    }
    return {
      status: status === codes.optimal ? "optimal" : "feasible",
      objective: solver.getObjectiveValue(),
      ...(Number.isFinite(dualBound) ? { bestBound: dualBound } : {}),
      values,
      solveMs,
    };
  } finally {
    solver.dispose();
  }
}

/** Terms with one entry per variable (glpk rejects a row that names a variable twice). */
export function mergeTerms(terms: readonly LinearTerm[]): LinearTerm[] {
  const sums = new Map<string, number>();
  for (const term of terms) sums.set(term.variable, (sums.get(term.variable) ?? 0) + term.coefficient);
  return [...sums].map(([variable, coefficient]) => ({ variable, coefficient }));
}

function variableNames(model: MilpModel): string[] {
  const names = new Set<string>();
  for (const term of model.objective) names.add(term.variable);
  for (const constraint of model.constraints) for (const term of constraint.terms) names.add(term.variable);
  return [...names];
}

/** Writes the model as CPLEX LP text (what HiGHS and glpk read). */
export function toLpText(model: MilpModel): string {
  const expression = (given: readonly LinearTerm[], terms = mergeTerms(given)) =>
    terms.length === 0
      ? "0 dummy"
      : terms
          .map((term, position) => {
            const sign = term.coefficient < 0 ? "-" : position === 0 ? "" : "+";
            return `${sign} ${formatNumber(Math.abs(term.coefficient))} ${term.variable}`.trim();
          })
          .join(" ");
  const lines = ["Minimize", ` obj: ${expression(model.objective)}`, "Subject To"];
  for (const constraint of model.constraints) {
    const body = expression(constraint.terms);
    if (
      constraint.lower !== undefined &&
      constraint.upper !== undefined &&
      constraint.lower === constraint.upper
    ) {
      lines.push(` ${constraint.name}: ${body} = ${formatNumber(constraint.lower)}`);
      continue;
    }
    if (constraint.lower !== undefined)
      lines.push(` ${constraint.name}_lo: ${body} >= ${formatNumber(constraint.lower)}`);
    if (constraint.upper !== undefined)
      lines.push(` ${constraint.name}_up: ${body} <= ${formatNumber(constraint.upper)}`);
  }
  lines.push("Bounds");
  for (const [name, { lower, upper }] of model.bounds) {
    lines.push(
      Number.isFinite(upper)
        ? ` ${formatNumber(lower)} <= ${name} <= ${formatNumber(upper)}`
        : ` ${name} >= ${formatNumber(lower)}`,
    );
  }
  if (model.binaries.length > 0) {
    lines.push("Binary");
    for (let start = 0; start < model.binaries.length; start += 10) {
      lines.push(` ${model.binaries.slice(start, start + 10).join(" ")}`);
    }
  }
  lines.push("End", "");
  return lines.join("\n");
}

function formatNumber(value: number): string {
  return String(value);
}
