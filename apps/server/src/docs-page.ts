/**
 * `/docs`: the API reference rendered in the browser from `/openapi.json` by a
 * few lines of script (no CDN: the server may run offline).
 */
export function docsHtml(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Halo server API</title>
<style>
body{font:14px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#222}
h2{margin-top:2rem}.op{border:1px solid #ddd;border-radius:6px;margin:.6rem 0;padding:.5rem .8rem}
.m{display:inline-block;min-width:4rem;font-weight:600;text-transform:uppercase}.get{color:#1565c0}.post{color:#2e7d32}
code{background:#f4f4f4;padding:0 .2rem}details pre{background:#f8f8f8;padding:.5rem;overflow:auto;max-height:20rem}
</style></head><body>
<h1>Halo server API</h1>
<p>Machine-readable: <a href="/openapi.json"><code>/openapi.json</code></a> (OpenAPI 3.1). Authenticate with <code>Authorization: Bearer &lt;token&gt;</code> when the server has tokens.</p>
<div id="ops">loading…</div>
<script>
fetch('/openapi.json').then(r=>r.json()).then(spec=>{
  const root=document.getElementById('ops');root.textContent='';
  for(const [path,item] of Object.entries(spec.paths)){
    for(const [method,op] of Object.entries(item)){
      const div=document.createElement('div');div.className='op';
      const responses=Object.entries(op.responses||{}).map(([code,r])=>code+' '+(r.description||'')).join(' · ');
      div.innerHTML='<span class="m '+method+'"></span> <code></code> <div></div><small></small>';
      div.children[0].textContent=method;div.children[1].textContent=path;
      div.children[2].textContent=op.summary||'';div.children[3].textContent=responses;
      const details=document.createElement('details');const summary=document.createElement('summary');
      summary.textContent='schema';const pre=document.createElement('pre');
      pre.textContent=JSON.stringify({parameters:op.parameters,requestBody:op.requestBody},null,2);
      details.append(summary,pre);div.append(details);root.append(div);
    }
  }
});
</script></body></html>`;
}
