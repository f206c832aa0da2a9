// Our one wrapper around tinybench 6: tasks in, latency statistics out (median, min, max,
// sample count, in milliseconds). A throwing task fails the run (tinybench would otherwise
// record and carry on).
import { Bench } from 'tinybench';
import type { Stat } from './stats.js';

export interface TaskTiming {
  name: string;
  /** Milliseconds per call. */
  ms: Stat;
}

export interface TaskDef {
  name: string;
  fn: () => unknown;
  /** Runs before each call, outside the timed region. */
  before?: () => void;
}

interface Latency { p50: number; min: number; max: number; samplesCount: number }

/** Runs each task at least `iterations` times (and for at least `timeMs`), after one warm-up call. */
export async function timeTasks(tasks: TaskDef[], o: { iterations: number; timeMs: number; warmup?: boolean }): Promise<TaskTiming[]> {
  const bench = new Bench({ iterations: o.iterations, time: o.timeMs, warmup: o.warmup ?? true, warmupIterations: 1, warmupTime: 0, throws: true });
  for (const t of tasks) bench.add(t.name, t.fn, t.before ? { beforeEach: t.before } : {});
  await bench.run();
  return bench.tasks.map((task) => {
    const r = task.result as unknown as { error?: Error; latency?: Latency };
    if (r?.error) throw r.error;
    const lat = r?.latency;
    if (!lat || !(lat.samplesCount > 0)) throw new Error(`benchmark task '${task.name}' produced no timing`);
    return { name: task.name, ms: { median: lat.p50, min: lat.min, max: lat.max, samples: lat.samplesCount } };
  });
}
