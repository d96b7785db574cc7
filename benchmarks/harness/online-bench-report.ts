/**
 * Reports of `halo bench --online`: `online.md` (a table per workload),
 * `online.svg` (p95 latency against the arrival rate, per workload and
 * system, with the SLO) and the block between the online markers of the
 * benchmarks README, all regenerated from the `online-*.json` result files.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import type { OnlineBenchResult } from "./online-bench.js";

export const ONLINE_README_START = "<!-- online-results:start -->";
export const ONLINE_README_END = "<!-- online-results:end -->";

const COLORS: Readonly<Record<string, string>> = {
  naive: "#9e9e9e",
  halo: "#2a6fdb",
  "halo-minibatch": "#e08a1e",
};

async function readOnlineResults(directory: string): Promise<OnlineBenchResult[]> {
  const names = (await readdir(directory)).filter((name) => /^online-w\d+\.json$/.test(name)).sort();
  const results: OnlineBenchResult[] = [];
  for (const name of names) {
    try {
      const parsed = JSON.parse(await readFile(join(directory, name), "utf8")) as OnlineBenchResult;
      if (parsed.kind === "online") results.push(parsed);
    } catch {
      // Not a result file: skipped.
    }
  }
  return results;
}

const seconds = (ms: number) => (Number.isFinite(ms) ? (ms / 1000).toFixed(1) : "∞");

/** The markdown tables. */
export function renderOnlineReport(results: readonly OnlineBenchResult[]): string {
  const lines: string[] = [];
  lines.push(
    "| workload | SLO (p95) | naive sustainable (best setting) | halo sustainable | halo ÷ naive | halo-minibatch sustainable | halo-minibatch ÷ naive |",
    "|---|---|---|---|---|---|---|",
  );
  for (const result of results) {
    const rate = (name: string) => result.systems.find((system) => system.system === name)?.sustainableRate;
    const ratio = (name: string) => {
      const value = result.ratios?.[name] ?? (name === "halo" ? result.sustainableRatio : undefined);
      return value === undefined ? "—" : `${value.toFixed(2)}×`;
    };
    const naiveBest = result.naiveBest ?? "naive";
    const best = result.systems.find((system) => system.system === naiveBest);
    lines.push(
      `| ${result.workload.id.toUpperCase()} ${result.workload.name} | ${seconds(result.sloMs)} s | ${best?.sustainableRate ?? "—"}/s (${best?.setting ?? naiveBest}) | ${rate("halo") ?? "—"}/s | ${ratio("halo")} | ${rate("halo-minibatch") === undefined ? "—" : `${rate("halo-minibatch")}/s`} | ${ratio("halo-minibatch")} |`,
    );
  }
  for (const result of results) {
    lines.push(
      "",
      `**${result.workload.id.toUpperCase()} ${result.workload.name}** (SLO p95 ≤ ${seconds(result.sloMs)} s = ${result.settings.sloMultiplier}× naive's unloaded latency; device time)`,
      "",
    );
    lines.push(
      "| system | rate (/s) | p50 (s) | p95 (s) | p99 (s) | completed/s | submitted | failed+refused | model loads | within SLO | harness CPU |",
      "|---|---|---|---|---|---|---|---|---|---|---|",
    );
    for (const system of result.systems) {
      const rows = [...system.rates, ...(system.ramp ? [system.ramp] : [])];
      for (const row of rows) {
        lines.push(
          `| ${system.system} | ${row.kind === "ramp" ? `ramp (mean ${row.rate})` : row.rate} | ${seconds(row.p50Ms)} | ${seconds(row.p95Ms)} | ${seconds(row.p99Ms)} | ${row.completedPerSecond.toFixed(2)} | ${row.submitted} | ${row.failed + row.refused} | ${row.modelLoads ?? "—"} | ${row.withinSlo ? "yes" : "no"} | ${row.harnessCpuShare === undefined ? "—" : `${Math.round(row.harnessCpuShare * 100)} %`} |`,
        );
      }
    }
    lines.push(
      "",
      `Command: \`${result.commandLine}\`; machine: ${result.machine.cores} cores, load ${result.machine.loadAverage.join(" ")}. ` +
        "Harness CPU: the main thread's CPU time ÷ wall time over the step (the harness, and for halo the in-process server).",
    );
  }
  return `${lines.join("\n")}\n`;
}

/** p95 latency (log scale) against the rate, one panel per workload. */
export function renderOnlineChart(results: readonly OnlineBenchResult[]): string {
  const panelWidth = 300;
  const panelHeight = 200;
  const margin = 40;
  const width = Math.max(1, results.length) * (panelWidth + margin) + margin;
  const height = panelHeight + 2 * margin + 20;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
  ];
  results.forEach((result, index) => {
    const x0 = margin + index * (panelWidth + margin);
    const y0 = margin;
    const rates = result.systems.flatMap((system) => system.rates.map((row) => row.rate));
    const finite = result.systems
      .flatMap((system) => system.rates.map((row) => row.p95Ms))
      .filter(Number.isFinite);
    const maxRate = Math.max(...rates, 1);
    const minLatency = Math.max(1, Math.min(...finite, result.sloMs) / 2);
    const maxLatency = Math.max(...finite, result.sloMs) * 2;
    const xOf = (rate: number) => x0 + (rate / maxRate) * panelWidth;
    const yOf = (ms: number) => {
      const clamped = Number.isFinite(ms) ? Math.min(ms, maxLatency) : maxLatency;
      return (
        y0 +
        panelHeight -
        ((Math.log(clamped) - Math.log(minLatency)) / (Math.log(maxLatency) - Math.log(minLatency))) *
          panelHeight
      );
    };
    parts.push(
      `<rect x="${x0}" y="${y0}" width="${panelWidth}" height="${panelHeight}" fill="none" stroke="#ccc"/>`,
    );
    parts.push(
      `<text x="${x0}" y="${y0 - 8}" font-weight="bold">${result.workload.id.toUpperCase()} ${result.workload.name}</text>`,
    );
    parts.push(
      `<line x1="${x0}" x2="${x0 + panelWidth}" y1="${yOf(result.sloMs)}" y2="${yOf(result.sloMs)}" stroke="#d33" stroke-dasharray="4 3"/>`,
    );
    parts.push(
      `<text x="${x0 + 4}" y="${yOf(result.sloMs) - 4}" fill="#d33">SLO ${seconds(result.sloMs)} s</text>`,
    );
    for (const system of result.systems) {
      const color = COLORS[system.system] ?? COLORS[system.family ?? ""] ?? "#333";
      const dashed = system.family === "naive" && system.system !== "naive" ? ' stroke-dasharray="3 2"' : "";
      const points = system.rates.map((row) => `${xOf(row.rate).toFixed(1)},${yOf(row.p95Ms).toFixed(1)}`);
      parts.push(
        `<polyline points="${points.join(" ")}" fill="none" stroke="${color}" stroke-width="2"${dashed}/>`,
      );
      for (const row of system.rates)
        parts.push(
          `<circle cx="${xOf(row.rate).toFixed(1)}" cy="${yOf(row.p95Ms).toFixed(1)}" r="3" fill="${color}"/>`,
        );
    }
    parts.push(
      `<text x="${x0 + panelWidth / 2 - 60}" y="${y0 + panelHeight + 16}">arrival rate (queries/s), max ${maxRate}</text>`,
    );
    parts.push(`<text x="${x0 - 34}" y="${y0 + 10}">p95</text>`);
  });
  const legendY = height - 8;
  Object.entries(COLORS).forEach(([name, color], index) => {
    parts.push(
      `<rect x="${margin + index * 90}" y="${legendY - 9}" width="10" height="10" fill="${color}"/><text x="${margin + 14 + index * 90}" y="${legendY}">${name}</text>`,
    );
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

/** Writes online.md, online.svg and the README block; returns the files written. */
export async function writeOnlineReport(directory: string, readmePath?: string): Promise<string[]> {
  const results = await readOnlineResults(directory);
  if (results.length === 0) return [];
  const markdown = renderOnlineReport(results);
  const written = [join(directory, "online.md"), join(directory, "online.svg")];
  await writeFile(
    written[0]!,
    `# Online benchmark\n\n![p95 latency against arrival rate](online.svg)\n\n${markdown}`,
  );
  await writeFile(written[1]!, renderOnlineChart(results));
  if (readmePath !== undefined) {
    let readme: string;
    try {
      readme = await readFile(readmePath, "utf8");
    } catch {
      return written;
    }
    const chart = relative(dirname(readmePath), join(directory, "online.svg")).split(sep).join("/");
    const block = `${ONLINE_README_START}\n\n![p95 latency against arrival rate](${chart})\n\n${markdown}\n${ONLINE_README_END}`;
    const start = readme.indexOf(ONLINE_README_START);
    const end = readme.indexOf(ONLINE_README_END);
    const next =
      start >= 0 && end > start
        ? `${readme.slice(0, start)}${block}${readme.slice(end + ONLINE_README_END.length)}`
        : `${readme.trimEnd()}\n\n## Online serving (\`halo bench --online\`)\n\n${block}\n`;
    await writeFile(readmePath, next);
    written.push(readmePath);
  }
  return written;
}
