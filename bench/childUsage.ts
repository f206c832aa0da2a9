// Loaded with `node --import` into a command the bench runs as its own process (bench/processRun.ts):
// at exit that process writes its own minor page faults and peak RSS to standard error, on one line
// after USAGE_MARK, for the bench to read (node gives a parent no child's rusage). Imported for the
// mark alone (by processRun.ts), it registers nothing.
import { writeSync } from 'node:fs';

export const USAGE_MARK = 'gartbench-bench-usage ';

export interface ChildUsage {
  minorFaults: number;
  maxRssKiB: number;
}

// Only a process started with this very file as `--import` reports, and only when it succeeds (a
// failing command's error is its own standard error, which the bench prints).
const args = process.execArgv;
if (args.some((a, i) => (a === '--import' && args[i + 1] === import.meta.url) || a === `--import=${import.meta.url}`)) {
  process.on('exit', (code) => {
    if (code !== 0) return;
    const u = process.resourceUsage();
    const usage: ChildUsage = { minorFaults: u.minorPageFault, maxRssKiB: u.maxRSS };
    writeSync(2, `\n${USAGE_MARK}${JSON.stringify(usage)}\n`);
  });
}
