/**
 * A hand-written SVG bar chart of a run set: per workload, each system's
 * speedup over naive (naive's makespan ÷ the system's), a dashed line at 1×.
 */
import type { BenchRunSet, WorkloadBenchResult } from "./bench-result.js";
import { BENCH_SYSTEM_NAMES } from "./bench-systems.js";

const COLORS: Readonly<Record<string, string>> = {
  naive: "#9e9e9e",
  opwise: "#f2a541",
  halo: "#2a6fdb",
  "halo-no-sharing": "#7fb3f5",
  "halo-no-coalescing": "#5fbf8f",
  "halo-no-migration": "#b38fd9",
  "halo-no-pipelining": "#e07a7a",
};

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function speedup(result: WorkloadBenchResult, name: string): number | undefined {
  const naive = result.systems.find((system) => system.system === "naive")?.deviceMakespanMs;
  const system = result.systems.find((candidate) => candidate.system === name);
  if (naive === undefined || !system || system.deviceMakespanMs <= 0) return undefined;
  return naive / system.deviceMakespanMs;
}

/** The chart as an SVG document. */
export function benchChartSvg(set: BenchRunSet): string {
  const present = new Set(set.results.flatMap((result) => result.systems.map((system) => system.system)));
  const systems = BENCH_SYSTEM_NAMES.filter((name) => present.has(name));
  const values = set.results.flatMap((result) =>
    systems.map((name) => speedup(result, name)).filter((value): value is number => value !== undefined),
  );
  const top = Math.max(1, Math.ceil(Math.max(1, ...values)));
  const barWidth = 14;
  const groupGap = 28;
  const groupWidth = Math.max(1, systems.length) * barWidth + groupGap;
  const left = 56;
  const plotTop = 40;
  const plotHeight = 260;
  const width = Math.max(480, left + set.results.length * groupWidth + 24);
  const legendTop = plotTop + plotHeight + 44;
  const height = legendTop + Math.ceil(systems.length / 4) * 18 + 12;
  const y = (value: number) => plotTop + plotHeight - (value / top) * plotHeight;
  const step = top <= 5 ? 1 : top <= 10 ? 2 : Math.ceil(top / 5);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="20" font-size="13" font-weight="bold">${escapeXml(`halo bench ${set.key}: speedup over naive (naive makespan ÷ system makespan)`)}</text>`,
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
    systems.forEach((name, index) => {
      const value = speedup(result, name);
      if (value === undefined) return;
      const x = groupLeft + index * barWidth;
      parts.push(
        `<rect x="${x}" y="${y(value).toFixed(1)}" width="${barWidth - 2}" height="${(plotTop + plotHeight - y(value)).toFixed(1)}" fill="${COLORS[name] ?? "#444"}"><title>${escapeXml(`${result.workload.id} ${name}: ${value.toFixed(2)}×`)}</title></rect>`,
      );
      if (name === "halo") {
        parts.push(
          `<text x="${x + (barWidth - 2) / 2}" y="${(y(value) - 3).toFixed(1)}" text-anchor="middle" font-size="9">${value.toFixed(1)}</text>`,
        );
      }
    });
    parts.push(
      `<text x="${groupLeft + (systems.length * barWidth) / 2}" y="${plotTop + plotHeight + 16}" text-anchor="middle">${escapeXml(result.workload.id)}</text>`,
      `<text x="${groupLeft + (systems.length * barWidth) / 2}" y="${plotTop + plotHeight + 29}" text-anchor="middle" font-size="9" fill="#666">${escapeXml(result.workload.name)}</text>`,
    );
  });
  systems.forEach((name, index) => {
    const x = left + (index % 4) * 150;
    const legendY = legendTop + Math.floor(index / 4) * 18;
    parts.push(
      `<rect x="${x}" y="${legendY - 9}" width="10" height="10" fill="${COLORS[name] ?? "#444"}"/>`,
      `<text x="${x + 14}" y="${legendY}">${escapeXml(name)}</text>`,
    );
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
