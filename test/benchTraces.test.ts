// The bench's trace section (bench/traces.ts): the bounded-memory target is judged at the full
// run's sizes only; a shorter trace's peak is still below the plateau a long one reaches, so at
// other sizes the ratio is reported, not judged.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TARGET_RSS_LINES, measureTraces } from '../bench/traces.js';

describe('bench traces: bounded memory, judged at its own sizes', () => {
  it('at 2,000 and 20,000 lines the ratio is measured and not judged; the engines agree', async () => {
    const s = await measureTraces(2_000, 5, 1, () => {});
    const [t] = s.targets;
    assert.equal(t!.met, null);
    assert.ok(t!.what.startsWith(`peak RSS for ${(TARGET_RSS_LINES * 10).toLocaleString('en-US')} lines ≤ 1.5× that for ${TARGET_RSS_LINES.toLocaleString('en-US')} (bounded memory) — --quick measures 2,000 and 20,000 lines instead`), t!.what);
    assert.match(t!.measured, /^\d+ MiB ÷ \d+ MiB = \d+\.\d\d×$/);
    assert.match(s.notes[0]!, /^Both engines give the same counters on the 2,000-line trace/);
  });
});
