// report.html: the markdown report's content as a page, with each section's charts rendered to
// inline SVG by vega-lite at build time — no scripts, opens offline.
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { BenchReport } from './report.js';
import type { Chart, Table } from './types.js';

const esc = (s: unknown) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export async function chartSvg(c: Chart): Promise<string> {
  const grouped = c.bars.some((b) => b.group);
  const spec = compile({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 560,
    title: c.title,
    data: { values: c.bars.map((b) => ({ label: b.label, value: b.value, group: b.group ?? '' })) },
    mark: { type: 'bar', tooltip: false },
    encoding: {
      y: { field: 'label', type: 'nominal', sort: null, title: null },
      x: { field: 'value', type: 'quantitative', title: c.unit, ...(c.log ? { scale: { type: 'symlog' } } : {}) },
      ...(grouped ? { color: { field: 'group', type: 'nominal', title: null } } : {}),
    },
  } as never).spec;
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

function htmlTable(t: Table): string {
  const head = t.columns.map((c) => `<th>${esc(c)}</th>`).join('');
  const rows = t.rows.map((r) => `<tr>${r.map((v) => `<td>${esc(v)}</td>`).join('')}</tr>`).join('\n');
  return `${t.caption ? `<p class="cap">${esc(t.caption)}</p>` : ''}<table><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>`;
}

export async function renderHtml(r: BenchReport): Promise<string> {
  const e = r.environment;
  const parts: string[] = [];
  parts.push(`<h1>gartbench benchmark report</h1><p class="env">node ${esc(e.node)} · ${esc(e.cpu)} · ${e.cores} cores · ${e.memoryGiB} GiB · commit ${esc(e.commit)} · seed ${e.seed}${e.quick ? ' · --quick' : ''} · ${esc(e.date)}</p>`);
  const targets = r.sections.flatMap((s) => s.targets);
  if (targets.length) {
    parts.push('<h2>Targets</h2>' + htmlTable({ columns: ['target', 'measured', 'met'], rows: targets.map((t) => [t.what, t.measured, t.met ? 'yes' : 'NO']) }));
  }
  for (const s of r.sections) {
    parts.push(`<h2>${esc(s.title)}</h2><p class="q">${esc(s.question)}</p>`);
    for (const c of s.charts) parts.push(`<figure class="chart">${await chartSvg(c)}</figure>`);
    for (const t of s.tables) parts.push(htmlTable(t));
    if (s.notes.length) parts.push(`<ul>${s.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`);
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gartbench benchmark report</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.q{font-style:italic;color:#555}.env,.cap{color:#555}
figure.chart{margin:1em 0}
</style></head><body>
${parts.join('\n')}
</body></html>
`;
}
