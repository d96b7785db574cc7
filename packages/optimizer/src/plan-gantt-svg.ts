import type { ExecutionPlan } from "./execution-plan.js";
import { formatDuration } from "./plan-text.js";

const ROW_HEIGHT_PX = 28;
const LABEL_WIDTH_PX = 150;
const CHART_WIDTH_PX = 900;
const TOP_PX = 48;
const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"];

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** The label cut to fit a bar (about 6.5 px per character at 11 px), or undefined when even 3 characters do not. */
function fitLabel(text: string, widthPx: number): string | undefined {
  const fits = Math.floor((widthPx - 6) / 6.5);
  if (fits < 3) return undefined;
  return text.length <= fits ? text : `${text.slice(0, fits - 1)}…`;
}

/** A tick step (1, 2 or 5 × 10^k ms) giving about eight ticks. */
function tickStepMs(spanMs: number): number {
  const rough = spanMs / 8;
  const power = 10 ** Math.floor(Math.log10(Math.max(rough, 1)));
  for (const factor of [1, 2, 5, 10]) if (factor * power >= rough) return factor * power;
  return 10 * power;
}

/**
 * The plan as a Gantt chart in SVG (hand-written, no browser needed): a row
 * per worker with its steps (colored by model; the model load darker at the
 * start), a row per CPU pool with its tool operators, epoch boundaries as
 * dashed lines, a time axis, and a legend of models.
 */
export function planToGanttSvg(plan: ExecutionPlan): string {
  const spanMs = Math.max(plan.estimatedMakespanMs, 1);
  const pools = [...new Set(plan.cpuOperators.map((tool) => tool.pool))].sort();
  const rows = [...plan.workers.map((worker) => worker.id), ...pools.map((pool) => `pool ${pool}`)];
  const models = [
    ...new Set(
      plan.epochs.flatMap((epoch) => [
        ...epoch.steps.map((step) => step.model),
        ...epoch.preloads.map((preload) => preload.model),
      ]),
    ),
  ].sort();
  const color = (model: string) => PALETTE[models.indexOf(model) % PALETTE.length]!;
  const x = (milliseconds: number) => LABEL_WIDTH_PX + (milliseconds / spanMs) * CHART_WIDTH_PX;
  const rowY = (row: number) => TOP_PX + row * ROW_HEIGHT_PX;
  const legendY = rowY(rows.length) + 40;
  const height = legendY + 30;
  const width = LABEL_WIDTH_PX + CHART_WIDTH_PX + 20;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${escapeXml(
      `${plan.workflow}: ${plan.strategy}, ${plan.queryCount} queries, makespan ${formatDuration(plan.estimatedMakespanMs)} (lower bound ${formatDuration(plan.lowerBoundMs)})`,
    )}</text>`,
  ];
  rows.forEach((row, index) => {
    const y = rowY(index);
    parts.push(
      `<rect x="${LABEL_WIDTH_PX}" y="${y}" width="${CHART_WIDTH_PX}" height="${ROW_HEIGHT_PX}" fill="${index % 2 === 0 ? "#f5f5f5" : "#ffffff"}"/>`,
      `<text x="10" y="${y + ROW_HEIGHT_PX / 2 + 4}">${escapeXml(row)}</text>`,
    );
  });
  const tick = tickStepMs(spanMs);
  for (let at = 0; at <= spanMs + 1e-9; at += tick) {
    const tickX = x(at).toFixed(1);
    parts.push(
      `<line x1="${tickX}" y1="${TOP_PX - 4}" x2="${tickX}" y2="${rowY(rows.length)}" stroke="#dddddd"/>`,
      `<text x="${tickX}" y="${rowY(rows.length) + 14}" text-anchor="middle">${escapeXml(formatDuration(at))}</text>`,
    );
  }
  for (const epoch of plan.epochs) {
    const epochX = x(epoch.startMs).toFixed(1);
    parts.push(
      `<line x1="${epochX}" y1="${TOP_PX - 12}" x2="${epochX}" y2="${rowY(rows.length)}" stroke="#888888" stroke-dasharray="4 3"/>`,
      `<text x="${(Number(epochX) + 3).toFixed(1)}" y="${TOP_PX - 4}" fill="#555555">e${epoch.index}</text>`,
    );
    for (const preload of epoch.preloads) {
      const row = rows.indexOf(preload.worker);
      if (row < 0) continue;
      const startX = x(preload.startMs);
      const endX = Math.max(startX + 1, x(preload.endMs));
      parts.push(
        `<g><title>${escapeXml(`${preload.worker} preloads ${preload.model} (${formatDuration(preload.loadMs)})`)}</title>`,
        `<rect x="${startX.toFixed(1)}" y="${rowY(row) + 3}" width="${(endX - startX).toFixed(1)}" height="${ROW_HEIGHT_PX - 6}" fill="${color(preload.model)}" opacity="0.85"/>`,
        `<rect x="${startX.toFixed(1)}" y="${rowY(row) + 3}" width="${(endX - startX).toFixed(1)}" height="${ROW_HEIGHT_PX - 6}" fill="#000000" opacity="0.35"/></g>`,
      );
    }
    for (const step of epoch.steps) {
      const row = rows.indexOf(step.worker);
      if (row < 0) continue;
      const y = rowY(row) + 3;
      const startX = x(step.estimate.startMs);
      const endX = Math.max(startX + 1, x(step.estimate.endMs));
      const loadX = x(step.estimate.startMs + step.estimate.loadMs);
      const title = escapeXml(
        `${step.operator} on ${step.worker} (${step.model}): ${step.queries} requests, load ${formatDuration(step.estimate.loadMs)}, ` +
          `prefill ${formatDuration(step.estimate.prefillMs)}, decode ${formatDuration(step.estimate.decodeMs)}, kv ${step.kv}`,
      );
      parts.push(
        `<g><title>${title}</title>`,
        `<rect x="${startX.toFixed(1)}" y="${y}" width="${(endX - startX).toFixed(1)}" height="${ROW_HEIGHT_PX - 6}" fill="${color(step.model)}" opacity="0.85"/>`,
      );
      if (step.estimate.loadMs > 0) {
        parts.push(
          `<rect x="${startX.toFixed(1)}" y="${y}" width="${Math.max(0.5, loadX - startX).toFixed(1)}" height="${ROW_HEIGHT_PX - 6}" fill="#000000" opacity="0.35"/>`,
        );
      }
      const label = fitLabel(step.operator, endX - startX);
      if (label) {
        parts.push(
          `<text x="${(startX + 3).toFixed(1)}" y="${y + ROW_HEIGHT_PX / 2 + 1}" fill="#ffffff">${escapeXml(label)}</text>`,
        );
      }
      parts.push("</g>");
    }
  }
  for (const tool of plan.cpuOperators) {
    const row = rows.indexOf(`pool ${tool.pool}`);
    const y = rowY(row) + 6;
    const startX = x(tool.startMs);
    const endX = Math.max(startX + 1, x(tool.endMs));
    parts.push(
      `<g><title>${escapeXml(`${tool.operator} (${tool.kind}): ${tool.calls} calls, pool busy ${formatDuration(tool.workMs)}`)}</title>`,
      `<rect x="${startX.toFixed(1)}" y="${y}" width="${(endX - startX).toFixed(1)}" height="${ROW_HEIGHT_PX - 12}" fill="#bab0ac" stroke="#79706e"/></g>`,
    );
  }
  models.forEach((model, index) => {
    const legendX = LABEL_WIDTH_PX + index * 220;
    parts.push(
      `<rect x="${legendX}" y="${legendY - 10}" width="12" height="12" fill="${color(model)}"/>`,
      `<text x="${legendX + 16}" y="${legendY}">${escapeXml(model)}</text>`,
    );
  });
  parts.push(`<text x="10" y="${legendY}" fill="#555555">dark: model load</text>`, "</svg>");
  return `${parts.join("\n")}\n`;
}
