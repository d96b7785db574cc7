/**
 * The dashboard at `/`: one server-rendered HTML page (the state at request
 * time) plus a small script that keeps it live — batch progress and status
 * over SSE (`/v1/events`), executors polled every 2 s, a batch's planned Gantt
 * chart next to its actual per-operator timeline, and a form that submits a
 * batch job. No build chain, no external assets. With bearer tokens, the page
 * holds no data until the user gives a token (kept in localStorage).
 */
import type { BatchJob, StoredWorkflow } from "./store/server-store.js";

/** What the page shows when it is rendered. */
export interface DashboardState {
  readonly workflows: readonly StoredWorkflow[];
  readonly batches: readonly BatchJob[];
  readonly executors: readonly {
    readonly worker: string;
    readonly address: string;
    readonly alive: boolean;
    readonly models: readonly { readonly name: string; readonly loaded: boolean }[];
    readonly utilization: number;
  }[];
  readonly online: {
    readonly queued: number;
    readonly running: number;
    readonly completed: number;
    readonly failed: number;
  };
  /** True when the API needs a token (the page then renders empty and loads with the user's token). */
  readonly authRequired: boolean;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);

function batchRow(batch: BatchJob): string {
  const { total, completed, failed } = batch.requestCounts;
  const done = total === 0 ? 0 : Math.round(((completed + failed) / total) * 100);
  return `<tr data-batch="${escapeHtml(batch.id)}"><td><a href="#" class="batch-link">${escapeHtml(batch.id)}</a></td><td>${escapeHtml(batch.workflow)}</td><td class="status ${batch.status}">${batch.status}</td><td><div class="bar"><div style="width:${done}%"></div></div><span class="counts">${completed + failed}/${total}${failed > 0 ? ` (${failed} failed)` : ""}</span></td></tr>`;
}

function executorRow(executor: DashboardState["executors"][number]): string {
  const loaded = executor.models.filter((model) => model.loaded).map((model) => escapeHtml(model.name));
  return `<tr><td>${escapeHtml(executor.worker)}</td><td>${escapeHtml(executor.address)}</td><td class="${executor.alive ? "ok" : "bad"}">${executor.alive ? "up" : "down"}</td><td>${loaded.join(", ") || "—"}</td><td><div class="bar"><div style="width:${Math.round(executor.utilization * 100)}%"></div></div>${Math.round(executor.utilization * 100)}%</td></tr>`;
}

export function dashboardHtml(state: DashboardState): string {
  const workflowOptions = state.workflows
    .map((workflow) => `<option>${escapeHtml(workflow.name)}</option>`)
    .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Halo server</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2430;background:#f5f6f8}
header{background:#1d2430;color:#fff;padding:.7rem 1.2rem;display:flex;gap:2rem;align-items:baseline}
header h1{font-size:1.1rem;margin:0}header a{color:#9cc3ff}
main{display:grid;grid-template-columns:1fr 1fr;gap:1rem;padding:1rem}
section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:.6rem .9rem}
section.wide{grid-column:1 / span 2}h2{font-size:1rem;margin:.2rem 0 .6rem}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.25rem .4rem;border-bottom:1px solid #eef0f3;vertical-align:middle}
.bar{display:inline-block;width:8rem;height:.6rem;background:#e8ebf0;border-radius:3px;margin-right:.4rem;vertical-align:middle}
.bar>div{height:100%;background:#3b82f6;border-radius:3px}
.status.completed,.ok{color:#15803d}.status.failed,.status.cancelled,.bad{color:#b91c1c}.status.in_progress{color:#1d4ed8}
textarea{width:100%;height:6rem;font:12px monospace}button{padding:.3rem .9rem}
#timeline svg,#planned img{max-width:100%;border:1px solid #eef0f3}
#message{margin-left:1rem;color:#555}.figures span{margin-right:1.2rem}
</style></head><body>
<header><h1>Halo server</h1><div class="figures">online: <span id="online-queued">${state.online.queued}</span> queued · <span id="online-running">${state.online.running}</span> running · <span id="online-completed">${state.online.completed}</span> completed · <span id="online-failed">${state.online.failed}</span> failed</div>
<div><a href="/docs">API</a> · <a href="/metrics">metrics</a></div>
<div id="auth" ${state.authRequired ? "" : "hidden"}><input id="token" type="password" placeholder="bearer token"><button id="token-save">use</button></div></header>
<main>
<section><h2>Workflows</h2><table><thead><tr><th>name</th><th>format</th><th>updated</th></tr></thead><tbody id="workflows">${state.workflows
    .map(
      (workflow) =>
        `<tr><td>${escapeHtml(workflow.name)}</td><td>${workflow.format}</td><td>${new Date(workflow.updatedAt * 1000).toISOString()}</td></tr>`,
    )
    .join("")}</tbody></table></section>
<section><h2>Executors</h2><table><thead><tr><th>worker</th><th>address</th><th>state</th><th>loaded models</th><th>utilization</th></tr></thead><tbody id="executors">${state.executors.map(executorRow).join("")}</tbody></table></section>
<section class="wide"><h2>Batch jobs</h2>
<form id="submit"><label>workflow <select id="workflow">${workflowOptions}</select></label> <label>queries (JSONL)</label>
<textarea id="queries" placeholder='{"id": "q1", "user_query": "…"}'></textarea><button type="submit">submit batch</button><span id="message"></span></form>
<table><thead><tr><th>id</th><th>workflow</th><th>status</th><th>progress</th></tr></thead><tbody id="batches">${state.batches.map(batchRow).join("")}</tbody></table></section>
<section class="wide"><h2>Timeline <span id="timeline-batch"></span></h2><p>Planned (Gantt of the optimizer's plan for one chunk) and actual (each operator call as it ran, per worker).</p>
<div id="planned"></div><div id="timeline"></div></section>
</main>
<script>
(() => {
  const $ = (id) => document.getElementById(id);
  let token = localStorage.getItem('halo-token') || '';
  const withToken = (url) => token ? url + (url.includes('?') ? '&' : '?') + 'access_token=' + encodeURIComponent(token) : url;
  const api = (url, options = {}) => fetch(url, { ...options, headers: { ...(options.headers || {}), ...(token ? { authorization: 'Bearer ' + token } : {}) } });
  const esc = (text) => String(text).replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
  function batchRow(b) {
    const c = b.request_counts, done = c.total ? Math.round((c.completed + c.failed) / c.total * 100) : 0;
    return '<tr data-batch="' + esc(b.id) + '"><td><a href="#" class="batch-link">' + esc(b.id) + '</a></td><td>' + esc(b.workflow) +
      '</td><td class="status ' + b.status + '">' + b.status + '</td><td><div class="bar"><div style="width:' + done + '%"></div></div><span class="counts">' +
      (c.completed + c.failed) + '/' + c.total + (c.failed ? ' (' + c.failed + ' failed)' : '') + '</span></td></tr>';
  }
  function upsertBatch(b) {
    const existing = document.querySelector('tr[data-batch="' + CSS.escape(b.id) + '"]');
    const holder = document.createElement('tbody'); holder.innerHTML = batchRow(b);
    if (existing) existing.replaceWith(holder.firstChild); else $('batches').prepend(holder.firstChild);
    if (selected === b.id) showTimeline(b.id);
  }
  async function refreshAll() {
    const [workflows, batches] = await Promise.all([api('/v1/workflows').then(r => r.json()), api('/v1/batches?limit=50').then(r => r.json())]);
    if (!workflows.data) return;
    $('workflows').innerHTML = workflows.data.map(w => '<tr><td>' + esc(w.name) + '</td><td>' + w.format + '</td><td>' + new Date(w.updated_at * 1000).toISOString() + '</td></tr>').join('');
    const current = $('workflow').value;
    $('workflow').innerHTML = workflows.data.map(w => '<option>' + esc(w.name) + '</option>').join('');
    if (current) $('workflow').value = current;
    $('batches').innerHTML = batches.data.map(batchRow).join('');
  }
  async function refreshExecutors() {
    const response = await api('/v1/executors'); if (!response.ok) return;
    const body = await response.json();
    $('executors').innerHTML = body.data.map(e => {
      const loaded = e.models.filter(m => m.loaded).map(m => esc(m.name)).join(', ') || '—', u = Math.round(e.utilization * 100);
      return '<tr><td>' + esc(e.worker) + '</td><td>' + esc(e.address) + '</td><td class="' + (e.alive ? 'ok' : 'bad') + '">' + (e.alive ? 'up' : 'down') +
        '</td><td>' + loaded + '</td><td><div class="bar"><div style="width:' + u + '%"></div></div>' + u + '%</td></tr>';
    }).join('');
  }
  let selected = null, timelineTimer = null;
  async function showTimeline(id) {
    if (timelineTimer) return; // at most one redraw in flight per 500 ms
    timelineTimer = setTimeout(() => { timelineTimer = null; }, 500);
    selected = id; $('timeline-batch').textContent = id;
    const response = await api('/v1/batches/' + encodeURIComponent(id) + '/plan');
    if (!response.ok) { $('timeline').textContent = 'no plan yet'; return; }
    const { actual } = await response.json();
    $('planned').innerHTML = '<img alt="planned Gantt chart" src="' + withToken('/v1/batches/' + encodeURIComponent(id) + '/plan?format=svg') + '">';
    if (actual.length === 0) { $('timeline').textContent = 'nothing has run yet'; return; }
    const workers = [...new Set(actual.map(s => s.worker))].sort();
    const start = Math.min(...actual.map(s => s.startMs)), end = Math.max(...actual.map(s => s.endMs));
    const width = 900, row = 22, left = 80, span = Math.max(1, end - start);
    const colors = {}; const palette = ['#3b82f6','#f59e0b','#10b981','#ef4444','#8b5cf6','#14b8a6','#f97316','#64748b'];
    let bars = '';
    for (const s of actual) {
      colors[s.operator] ??= palette[Object.keys(colors).length % palette.length];
      const x = left + (s.startMs - start) / span * (width - left - 10), w = Math.max(1, (s.endMs - s.startMs) / span * (width - left - 10));
      const y = 20 + workers.indexOf(s.worker) * row;
      bars += '<rect x="' + x.toFixed(1) + '" y="' + y + '" width="' + w.toFixed(1) + '" height="' + (row - 6) + '" fill="' + colors[s.operator] + '"><title>' + esc(s.operator) + ' × ' + s.items + ' (' + Math.round(s.endMs - s.startMs) + ' ms)</title></rect>';
    }
    const labels = workers.map((w, i) => '<text x="4" y="' + (32 + i * row) + '" font-size="12">' + esc(w) + '</text>').join('');
    const legend = Object.entries(colors).map(([op, c], i) => '<rect x="' + (left + i * 120) + '" y="2" width="10" height="10" fill="' + c + '"/><text x="' + (left + 14 + i * 120) + '" y="11" font-size="11">' + esc(op) + '</text>').join('');
    $('timeline').innerHTML = '<svg xmlns="http://www.w3.org/2000/svg" width="' + width + '" height="' + (30 + workers.length * row) + '">' + legend + labels + bars +
      '<text x="' + (width - 150) + '" y="' + (28 + workers.length * row) + '" font-size="11">actual: ' + Math.round(span) + ' ms wall</text></svg>';
  }
  $('batches').addEventListener('click', (event) => {
    const link = event.target.closest('.batch-link'); if (!link) return;
    event.preventDefault(); timelineTimer = null; showTimeline(link.textContent);
  });
  $('submit').addEventListener('submit', async (event) => {
    event.preventDefault();
    const response = await api('/v1/batches?workflow=' + encodeURIComponent($('workflow').value), { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: $('queries').value });
    const body = await response.json();
    $('message').textContent = response.ok ? 'created ' + body.id : 'refused (' + response.status + '): ' + (body.error ? body.error.message : (body.errors ? body.errors.data.map(e => 'line ' + e.line + ': ' + e.message).join('; ') : ''));
    if (body.object === 'batch') { upsertBatch(body); if (response.ok) { selected = body.id; } }
  });
  $('token-save').addEventListener('click', () => { token = $('token').value.trim(); localStorage.setItem('halo-token', token); connect(); refreshAll(); });
  let source = null;
  function connect() {
    if (source) source.close();
    source = new EventSource(withToken('/v1/events'));
    source.addEventListener('batch', (event) => upsertBatch(JSON.parse(event.data)));
    source.addEventListener('workflow', () => refreshAll());
    source.addEventListener('online', (event) => {
      const o = JSON.parse(event.data);
      for (const key of ['queued', 'running', 'completed', 'failed']) $('online-' + key).textContent = o[key];
    });
    source.onopen = () => { document.body.dataset.live = 'true'; };
  }
  connect(); refreshExecutors(); setInterval(refreshExecutors, 2000);
  if (${state.authRequired ? "true" : "false"} && token) refreshAll();
})();
</script></body></html>`;
}
