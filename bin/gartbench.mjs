#!/usr/bin/env node
// The installed command: the compiled CLI (npm ci builds it through the prepare script).
let cli;
try {
  cli = await import('../dist/src/cli.js');
} catch (e) {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND') throw e;
  process.stderr.write('gartbench: not built yet: run `npm ci` (or `npm run build`) in the gartbench directory\n');
  process.exit(1);
}
process.exitCode = await cli.main(process.argv.slice(2), {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
});
