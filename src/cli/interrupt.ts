// Ctrl-C while a command runs: the first SIGINT aborts the command's signal, which the runners
// check (between script lines, buffer objects and cells; piscina ends the tasks in flight), so the
// command stops, writes nothing and exits 130 with one line. The main thread runs cells too (one
// worker, or a lane of several: run/pool.ts), and hears SIGINT only between two engine calls. A command that does not stop within
// GRACE_MS, or a second Ctrl-C, ends the process the same way.
import { EXIT_INTERRUPTED, Interrupted, msg } from '../errors.js';

const GRACE_MS = 3000;

export interface InterruptWatch {
  readonly signal: AbortSignal;
  /** Stops watching: SIGINT has its default effect again. */
  stop(): void;
}

export function onInterrupt(say: () => void): InterruptWatch {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const exitNow = () => {
    say();
    process.exit(EXIT_INTERRUPTED);
  };
  const handler = () => {
    if (ac.signal.aborted) exitNow();
    ac.abort(new Interrupted(msg.interrupted));
    timer = setTimeout(exitNow, GRACE_MS);
    timer.unref();
  };
  process.on('SIGINT', handler);
  return {
    signal: ac.signal,
    stop() {
      process.off('SIGINT', handler);
      clearTimeout(timer);
    },
  };
}
