/**
 * A hand-written SVG bar chart of a run set: per workload, each run's speedup
 * over naive's best setting (that makespan ÷ the run's), a dashed line at 1×.
 * Swept systems (`naive`, `langgraph`) get one bar per queries-in-flight
 * setting, shaded light (few in flight) to dark (all); their best setting is
 * outlined and starred.
 */
import type { BenchRunSet, SystemResult, WorkloadBenchResult } from "./bench-result.js";
import { reportOrder } from "./bench-systems.js";

const COLORS: Readonly<Record<string, string>> = {
  naive: "#9e9e9e",
  langgraph: "#3a9b5c",
  opwise: "#f2a541",
  halo: "#2a6fdb",
  "halo-no-sharing": "#7fb3f5",
  "halo-no-coalescing": "#5fbf8f",
  "halo-no-migration": "#b38fd9",
  "halo-no-pipelining": "#e07a7a",
  "halo-no-preload": "#c9a227",
  "halo-no-split": "#4fb3bf",
};

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Shades of a swept system's color, lightest for the fewest queries in flight. */
const SWEEP_SHADES: Readonly<Record<string, readonly string[]>> = {
  naive: ["#d9d9d9", "#b8b8b8", "#8f8f8f", "#5e5e5e"],
  langgraph: ["#b7e2c4", "#7cc494", "#3a9b5c", "#1f6b3a"],
};

/** One bar: a run, its legend key and its color. */
interface Bar {
  readonly key: string;
  readonly color: string;
}

/** The label of a run: `naive 64`, `halo`. */
function barKey(system: SystemResult): string {
  return system.sweep ? `${system.system} ${system.sweep.setting}` : system.system;
}

function bestNaiveMs(result: WorkloadBenchResult): number | undefined {
  const runs = result.systems.filter((system) => system.system === "naive");
  return (runs.find((system) => system.sweep?.best) ?? runs[0])?.deviceMakespanMs;
}

function speedupOf(result: WorkloadBenchResult, system: SystemResult): number | undefined {
  const naive = bestNaiveMs(result);
  if (naive === undefined || system.deviceMakespanMs <= 0) return undefined;
  return naive / system.deviceMakespanMs;
}

/** The bars of the set, in report order, swept settings in ascending order. */
function barsOf(set: BenchRunSet): Bar[] {
  const bars: Bar[] = [];
  const names = reportOrder(set.results.flatMap((result) => result.systems.map((system) => system.system)));
  for (const name of names) {
    const settings = new Map<string, number>();
    for (const result of set.results)
      for (const system of result.systems)
        if (system.system === name) settings.set(barKey(system), system.sweep?.queriesInFlight ?? 0);
    const ordered = [...settings.entries()].sort(([, left], [, right]) => left - right).map(([key]) => key);
    const shades = SWEEP_SHADES[name];
    ordered.forEach((key, index) => {
      const color =
        shades && ordered.length > 1
          ? shades[
              Math.min(shades.length - 1, Math.round((index * (shades.length - 1)) / (ordered.length - 1)))
            ]!
          : (COLORS[name] ?? "#444");
      bars.push({ key, color });
    });
  }
  return bars;
}

/** The chart as an SVG document. */
export function benchChartSvg(set: BenchRunSet): string {
  const bars = barsOf(set);
  const values = set.results.flatMap((result) =>
    result.systems
      .map((system) => speedupOf(result, system))
      .filter((value): value is number => value !== undefined),
  );
  const top = Math.max(1, Math.ceil(Math.max(1, ...values)));
  const barWidth = 14;
  const groupGap = 28;
  const groupWidth = Math.max(1, bars.length) * barWidth + groupGap;
  const left = 56;
  const plotTop = 40;
  const plotHeight = 260;
  const width = Math.max(560, left + set.results.length * groupWidth + 24);
  const legendTop = plotTop + plotHeight + 44;
  const legendColumns = 5;
  const height = legendTop + Math.ceil(bars.length / legendColumns) * 18 + 30;
  const y = (value: number) => plotTop + plotHeight - (value / top) * plotHeight;
  const step = top <= 5 ? 1 : top <= 10 ? 2 : Math.ceil(top / 5);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="20" font-size="13" font-weight="bold">${escapeXml(`halo bench ${set.key}: speedup over naive's best setting (its makespan ÷ the run's)`)}</text>`,
  ];
  for (let tick = 0; tick <= top; tick += step) {
    parts.push(
      `<line x1="${left}" x2="${width - 12}" y1="${y(tick)}" y2="${y(tick)}" stroke="#e3e3e3"/>`,
      `<text x="${left - 6}" y="${y(tick) + 4}" text-anchor="end">${tick}×</text>`,
    );
  }
  parts.push(
    `<line x1="${left}" x2="${width - 12}" y1="${y(1)}" y2="${y(1)}" stroke="#555" stroke-dasharray="4 3"/>`,
  );
  set.results.forEach((result, group) => {
    const groupLeft = left + group * groupWidth + groupGap / 2;
    for (const system of result.systems) {
      const value = speedupOf(result, system);
      const index = bars.findIndex((bar) => bar.key === barKey(system));
      if (value === undefined || index < 0) continue;
      const x = groupLeft + index * barWidth;
      const best = system.sweep?.best === true;
      const label = `${result.workload.id} ${barKey(system)}${best ? " (best)" : ""}: ${value.toFixed(2)}×`;
      parts.push(
        `<rect x="${x}" y="${y(value).toFixed(1)}" width="${barWidth - 2}" height="${(plotTop + plotHeight - y(value)).toFixed(1)}" fill="${bars[index]!.color}"${best ? ' stroke="#000" stroke-width="1.5"' : ""}><title>${escapeXml(label)}</title></rect>`,
      );
      if (system.system === "halo" || best) {
        parts.push(
          `<text x="${x + (barWidth - 2) / 2}" y="${(y(value) - 3).toFixed(1)}" text-anchor="middle" font-size="9">${best ? "★" : value.toFixed(1)}</text>`,
        );
      }
    }
    parts.push(
      `<text x="${groupLeft + (bars.length * barWidth) / 2}" y="${plotTop + plotHeight + 16}" text-anchor="middle">${escapeXml(result.workload.id)}</text>`,
      `<text x="${groupLeft + (bars.length * barWidth) / 2}" y="${plotTop + plotHeight + 29}" text-anchor="middle" font-size="9" fill="#666">${escapeXml(result.workload.name)}</text>`,
    );
  });
  bars.forEach((bar, index) => {
    const x = left + (index % legendColumns) * 130;
    const legendY = legendTop + Math.floor(index / legendColumns) * 18;
    parts.push(
      `<rect x="${x}" y="${legendY - 9}" width="10" height="10" fill="${bar.color}"/>`,
      `<text x="${x + 14}" y="${legendY}">${escapeXml(bar.key)}</text>`,
    );
  });
  parts.push(
    `<text x="${left}" y="${height - 8}" font-size="10" fill="#555">${escapeXml("naive and langgraph: one bar per queries-in-flight setting; ★ and outline: the best setting")}</text>`,
  );
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
