// The bench's whole-process timings start their children from here, a small process of its own,
// not from the bench: Linux forks the parent before exec, so a child of a large process pays to
// copy that process's page tables (tens of MiB of them for a bench holding a few hundred MiB) and
// its getrusage maxrss starts at the parent's size. This process imports node's built-ins only.
//
// Protocol, one JSON object per line: in {argv, keepOutput}; out {ms, code, stdout, stderr}, the
// wall time from spawn to exit measured here.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

interface LaunchRequest { argv: string[]; keepOutput: boolean }
interface LaunchReply { ms: number; code: number | null; stdout: string; stderr: string }

function launch(req: LaunchRequest): Promise<LaunchReply> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, req.argv, { stdio: ['ignore', req.keepOutput ? 'pipe' : 'ignore', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => { stdout += d; });
    child.stderr!.on('data', (d) => { stderr += d; });
    child.on('error', (e) => resolve({ ms: performance.now() - t0, code: null, stdout, stderr: `${stderr}${e.message}` }));
    child.on('close', (code) => resolve({ ms: performance.now() - t0, code, stdout, stderr }));
  });
}

// Requests in turn until standard input ends (bench/startup.ts runProcess is the only caller).
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  process.stdout.write(`${JSON.stringify(await launch(JSON.parse(line) as LaunchRequest))}\n`);
}
