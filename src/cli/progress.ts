// Progress for long runs: on a terminal's stderr only — never on stdout, never in CI.
import type { Io } from './command.js';

export function progress(_io: Io, total: number): { update: (done: number, total: number) => void; done: () => void } {
  const on = process.stderr.isTTY && !process.env.CI && total > 1;
  const t0 = Date.now();
  let last = 0;
  return {
    update(done, all) {
      if (!on) return;
      const now = Date.now();
      if (now - last < 200 && done < all) return;
      last = now;
      const s = ((now - t0) / 1000).toFixed(1);
      process.stderr.write(`\r  ${done}/${all} cells, ${s} s `);
    },
    done() {
      if (on) process.stderr.write('\r\x1b[K');
    },
  };
}
