#!/usr/bin/env node
// The installed command: the compiled CLI (npm ci builds it through the prepare script), plus the
// bench's command, loaded only when asked for (src/ never imports bench/).
// A reader that went away (`gartbench … | head`): what it no longer reads is dropped, quietly,
// and the command still finishes (an --out file is still written); no stack trace for an EPIPE.
// Any other write error (a full disk behind a redirect) is an internal failure: one line, exit 1.
const gone = new Set();
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    gone.add(stream);
    if (e?.code === 'EPIPE') return;
    if (!gone.has(process.stderr)) process.stderr.write(`gartbench: cannot write to ${stream === process.stdout ? 'stdout' : 'stderr'}: ${e?.code ?? e?.message ?? e}\n`);
    process.exit(1);
  });
}
let cli;
let early;
try {
  // First the worker threads a `--workers N` run will want, so they boot while the CLI loads (run/prestart.ts).
  if (process.argv.some((a) => a === '--workers' || a.startsWith('--workers='))) {
    early = await import('../dist/src/run/prestart.js');
    await early.prestart(process.argv.slice(2));
  }
  cli = await import('../dist/src/cli/main.js');
} catch (e) {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND') throw e;
  process.stderr.write('gartbench: not built yet: run `npm ci` (or `npm run build`) in the gartbench directory\n');
  process.exit(1);
}
const write = (stream, s) => { if (!gone.has(stream)) stream.write(s); };
const code = await cli.main(process.argv.slice(2), {
  out: (s) => write(process.stdout, s),
  err: (s) => write(process.stderr, s),
  benchMerge: async () => (await import('../dist/bench/merge.js')).mergeBench,
}, { bench: async () => (await import('../dist/bench/command.js')).bench });
// A prestarted pool no run took goes once its workers have loaded (tearing a loading one down aborts node).
await early?.release();
// Ctrl-C: leave now, even if a read from a pipe that has not ended is still pending.
if (code === cli.EXIT_INTERRUPTED) process.exit(code);
process.exitCode = code;
