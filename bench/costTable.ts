// The cost table as the report prints it: every key with its ns, what it is paid per, and the
// source of the number (a publication, or "assumed").
import type { CostEntry } from '../src/report/costs.js';
import type { Table } from './types.js';

export function costTable(costs: CostEntry[]): Table {
  return {
    caption: 'Modelled cost of each counted event (costs/default.json; override with --costs FILE). A source that names a publication cites it; "assumed" means no published figure was found.',
    columns: ['key', 'ns', 'per', 'source'],
    rows: costs.map((c) => [c.key, c.ns, c.per, c.source]),
  };
}
