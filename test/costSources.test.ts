// costs/default.json: every entry says where its number comes from — a named publication or
// specification, or "assumed"; bounceCopyByte points at the bench section that measures it.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { COST_KEYS, defaultCostEntries } from '../src/report/costs.js';

it('every default cost cites a source or says assumed', () => {
  const entries = defaultCostEntries();
  assert.deepEqual(entries.map((e) => e.key).sort(), [...COST_KEYS].sort());
  for (const e of entries) {
    assert.ok(e.per.length > 0, `${e.key}: per`);
    assert.match(e.source, /^assumed|dma_map_benchmark|PCI Express/, `${e.key}: ${e.source}`);
  }
  const by = Object.fromEntries(entries.map((e) => [e.key, e.source]));
  assert.match(by.iommuMapPage!, /Linux 5\.11/);
  assert.match(by.hypercall!, /^assumed: no published/);
  assert.match(by.bounceCopyByte!, /gartbench bench.*Bounce copy cost/);
});
