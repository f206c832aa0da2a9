// Sections in, report files out: report.md, report.html, report.json (gartbench.bench/1) and
// benchmark.json (customBiggerIsBetter). All written atomically.
import { join } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { UsageError, shown } from '../src/errors.js';
import { type Input, checkOutPath, toJson, writeAtomicAll } from '../src/cli/output.js';
import { costTable } from './costTable.js';
import { benchmarkJson } from './metrics.js';
import type { BenchReport, Table } from './types.js';
import { environmentLine, madeBy, metText } from './reportText.js';
import { renderHtml } from './html.js';

function mdTable(t: Table): string {
  const head = `| ${t.columns.join(' | ')} |\n|${t.columns.map(() => '---').join('|')}|`;
  const body = t.rows.map((r) => `| ${r.join(' | ')} |`).join('\n');
  return `${t.caption ? `${t.caption}\n\n` : ''}${head}\n${body}\n`;
}

export function renderMarkdown(r: BenchReport): string {
  const out: string[] = [];
  out.push('# gartbench benchmark report', '');
  out.push(environmentLine(r), '');
  const targets = r.sections.flatMap((s) => s.targets);
  if (targets.length) {
    out.push('## Targets', '', 'Printed, never gated: CI fails only on an end-to-end ratio whose median fell below half its baseline (bench/compare.ts).', '', '| target | measured | met |', '|---|---|---|');
    for (const t of targets) out.push(`| ${t.what} | ${t.measured} | ${t.met === false ? `**${metText(t)}**` : metText(t)} |`);
    out.push('');
  }
  for (const s of r.sections) {
    out.push(`## ${s.title}`, '', `*${s.question}*`, '', madeBy(s), '');
    for (const t of s.tables) out.push(mdTable(t));
    for (const n of s.notes) out.push(`- ${n}`);
    if (s.notes.length) out.push('');
  }
  if (r.costs.length) out.push('## Cost table', '', mdTable(costTable(r.costs)));
  return out.join('\n');
}

/** The files `writeReport` writes into DIR (bench/command.ts checks them before anything runs). */
export const REPORT_FILES = ['report.md', 'report.html', 'report.json', 'benchmark.json'] as const;

/** Before any work: DIR can take every report file (bench and merge of bench parts alike), none of
 * them a link, a directory, a device or one of `inputs`; exit 2, one line, nothing written. */
export function checkReportDir(out: string, inputs: Input[] = []): void {
  if (existsSync(out) && !statSync(out).isDirectory()) throw new UsageError(`--out: ${shown(out)} is a file; give a directory`);
  for (const f of REPORT_FILES) checkOutPath(join(out, f), inputs, `the report's ${f} goes there: move it away or give another --out DIR`);
}

export async function writeReport(dir: string, r: BenchReport): Promise<string[]> {
  const files: Record<(typeof REPORT_FILES)[number], string> = {
    'report.md': renderMarkdown(r),
    'report.html': await renderHtml(r),
    'report.json': toJson(r),
    'benchmark.json': toJson(r.sections.flatMap((s) => benchmarkJson(s.metrics, s.environment ?? r.environment))),
  };
  writeAtomicAll(Object.entries(files).map(([name, text]) => [join(dir, name), text] as const));
  return Object.keys(files).map((f) => join(dir, f));
}
