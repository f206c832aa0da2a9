// Loaded with `node --import` into a command the bench runs as its own process (bench/processRun.ts):
// at exit that process writes its own minor page faults and peak RSS to standard error, on one line
// after USAGE_MARK, for the bench to read (node gives a parent no child's rusage). Imported for the
// mark alone (by processRun.ts), it registers nothing: only a process that named this file in its
// node options reports.
import { writeSync } from 'node:fs';

export const USAGE_MARK = 'gartbench-bench-usage ';

export interface ChildUsage {
  minorFaults: number;
  maxRssKiB: number;
}

if (process.execArgv.some((a) => a.includes('childUsage'))) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    const usage: ChildUsage = { minorFaults: u.minorPageFault, maxRssKiB: u.maxRSS };
    writeSync(2, `\n${USAGE_MARK}${JSON.stringify(usage)}\n`);
  });
}
