// report.html: the markdown report's content as a page, with each section's charts rendered to
// inline SVG by vega-lite at build time — no scripts, opens offline.
import * as vega from 'vega';
import { compile } from 'vega-lite';
import { costTable } from './costTable.js';
import type { BenchReport, Chart, Table } from './types.js';
import { environmentLine, madeBy, metText } from './reportText.js';

const esc = (s: unknown) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** Wide enough that no axis label, legend entry or title is ever cut short. */
const NO_TRUNCATION = 2000;

/** The vega-lite spec of a horizontal bar chart: series side by side (yOffset), never stacked. */
export function chartSpec(c: Chart): object {
  const series = [...new Set(c.bars.map((b) => b.series).filter((v): v is string => !!v))];
  const colorField = c.bars.some((b) => b.color) ? 'color' : series.length ? 'series' : null;
  const whiskers = c.bars.some((b) => b.lo !== undefined && b.hi !== undefined);
  const values = c.bars.map((b) => ({
    label: b.label, value: b.value, series: b.series ?? '', color: b.color ?? '', text: b.text ?? '',
    lo: b.lo ?? b.value, hi: b.hi ?? b.value, textAt: Math.max(b.value, b.hi ?? b.value),
  }));
  const y = { field: 'label', type: 'nominal', sort: null, title: null, axis: { labelLimit: NO_TRUNCATION } };
  const yOffset = series.length > 1 ? { yOffset: { field: 'series', type: 'nominal', sort: series } } : {};
  // A log axis spans whole decades around every value, whisker and label position.
  const all = values.flatMap((v) => [v.value, v.lo, v.hi]).filter((v) => v > 0);
  const decade = (v: number, up: boolean) => 10 ** (up ? Math.ceil(Math.log10(v)) : Math.floor(Math.log10(v)));
  const domain0 = c.log && all.length ? decade(Math.min(...all), false) : 0;
  const xScale = c.log && all.length ? { scale: { type: 'log', domain: [domain0, decade(Math.max(...all), true)] } } : {};
  const domain = colorField === 'color' ? [...new Set(values.map((v) => v.color))].sort() : series;
  const color = colorField
    ? {
      field: colorField, type: 'nominal', title: c.legend ?? null, sort: domain,
      scale: c.colors ? { domain, range: domain.map((d, i) => c.colors![d] ?? DEFAULT_COLORS[i % DEFAULT_COLORS.length]) } : { domain, range: DEFAULT_COLORS },
      legend: { labelLimit: NO_TRUNCATION, orient: 'bottom', direction: 'vertical' },
    }
    : { value: DEFAULT_COLORS[0] };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 640,
    height: { step: series.length > 1 ? 13 * series.length + 6 : 22 },
    title: { text: c.title, anchor: 'start', limit: NO_TRUNCATION },
    data: { values },
    encoding: { y, ...yOffset },
    layer: [
      // Each bar runs from the axis start (0, or the first decade of a log axis) to its value.
      { mark: { type: 'bar', tooltip: false }, encoding: { x: { field: 'value', type: 'quantitative', title: c.unit, ...xScale }, x2: { datum: domain0 }, color } },
      ...(whiskers ? [{ mark: { type: 'rule', color: '#222' }, encoding: { x: { field: 'lo', type: 'quantitative' }, x2: { field: 'hi' } } }] : []),
      { mark: { type: 'text', align: 'left', baseline: 'middle', dx: 4, fontSize: 10, limit: NO_TRUNCATION }, encoding: { x: { field: 'textAt', type: 'quantitative' }, text: { field: 'text' } } },
    ],
    config: { axis: { labelLimit: NO_TRUNCATION }, legend: { labelLimit: NO_TRUNCATION, titleLimit: NO_TRUNCATION } },
  };
}

const DEFAULT_COLORS = ['#4c78a8', '#f58518', '#54a24b', '#b279a2', '#9d755d', '#e45756'];

export async function chartSvg(c: Chart): Promise<string> {
  const spec = compile(chartSpec(c) as never).spec;
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** Numbers (and figures like "37.9 (35.1–40.2)", "7.0×", "-20%") align right; words align left. */
const NUMERIC = /^[-+±]?\s?[\d.,]+\s?(\([\d.,]+–[\d.,]+\))?\s?[%×]?$/;

async function htmlTable(t: Table): Promise<string> {
  const charts = await Promise.all((t.charts ?? []).map(async (c) => `<figure class="chart">${await chartSvg(c)}</figure>`));
  const head = t.columns.map((c) => `<th>${esc(c)}</th>`).join('');
  // A column of numbers aligns right; short words stay on one line ("bare-metal"); long text wraps.
  const isNum = (v: string | number) => typeof v === 'number' || NUMERIC.test(v) || v === '—';
  const numeric = t.columns.map((_, i) => t.rows.every((r) => r[i] === undefined || isNum(r[i]!)));
  const cls = (v: string | number, i: number) => (numeric[i] ? ' class="n"' : String(v).length <= 28 ? ' class="w"' : '');
  const cell = (v: string | number, i: number) => `<td${cls(v, i)}>${esc(v)}</td>`;
  const rows = t.rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('\n');
  return `${charts.join('')}${t.caption ? `<p class="cap">${esc(t.caption)}</p>` : ''}<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table></div>`;
}

export async function renderHtml(r: BenchReport): Promise<string> {
  const parts: string[] = [];
  parts.push(`<h1>gartbench benchmark report</h1><p class="env">${esc(environmentLine(r))}</p>`);
  const targets = r.sections.flatMap((s) => s.targets);
  if (targets.length) {
    parts.push('<h2>Targets</h2><p class="cap">Printed, never gated: CI fails only on an end-to-end ratio whose median fell below half its baseline (bench/compare.ts).</p>'
      + await htmlTable({ columns: ['target', 'measured', 'met'], rows: targets.map((t) => [t.what, t.measured, t.met === false ? metText(t).toUpperCase() : metText(t)]) }));
  }
  for (const s of r.sections) {
    parts.push(`<h2>${esc(s.title)}</h2><p class="q">${esc(s.question)}</p><p class="cap">${esc(madeBy(s).replaceAll('`', ''))}</p>`);
    for (const c of s.charts) parts.push(`<figure class="chart">${await chartSvg(c)}</figure>`);
    for (const t of s.tables) parts.push(await htmlTable(t));
    if (s.notes.length) parts.push(`<ul>${s.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`);
  }
  if (r.costs.length) parts.push('<h2>Cost table</h2>' + await htmlTable(costTable(r.costs)));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gartbench benchmark report</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;max-width:1320px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3;vertical-align:bottom}td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}td.w{white-space:nowrap}
.scroll{overflow-x:auto}.q{font-style:italic;color:#555}.env,.cap{color:#555;max-width:1000px}
figure.chart{margin:1.5em 0 .5em}
</style></head><body>
${parts.join('\n')}
</body></html>
`;
}
