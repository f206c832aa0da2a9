// Our one wrapper around tinybench 6: tasks in, plain numbers out. A throwing task fails the
// run (tinybench would otherwise record and carry on).
import { Bench } from 'tinybench';

export interface TaskTiming {
  name: string;
  /** Mean milliseconds per call. */
  meanMs: number;
  /** Relative margin of error of the mean, percent. */
  rmePct: number;
  samples: number;
  /** Calls per second (from the mean). */
  hz: number;
}

export interface TaskDef {
  name: string;
  fn: () => unknown;
  /** Runs before each call, outside the timed region. */
  before?: () => void;
}

export async function timeTasks(tasks: TaskDef[], o: { iterations: number; timeMs: number; warmup?: boolean }): Promise<TaskTiming[]> {
  const bench = new Bench({ iterations: o.iterations, time: o.timeMs, warmup: o.warmup ?? true, warmupIterations: 1, warmupTime: 0, throws: true });
  for (const t of tasks) bench.add(t.name, t.fn, t.before ? { beforeEach: t.before } : {});
  await bench.run();
  return bench.tasks.map((task) => {
    const r = task.result as unknown as { state?: string; error?: Error; latency?: { mean: number; rme: number; samplesCount?: number; samples?: number[] } };
    if (r?.error) throw r.error;
    const lat = r?.latency;
    if (!lat) throw new Error(`benchmark task '${task.name}' produced no timing`);
    const samples = lat.samplesCount ?? lat.samples?.length ?? 0;
    return { name: task.name, meanMs: lat.mean, rmePct: lat.rme, samples, hz: lat.mean > 0 ? 1000 / lat.mean : 0 };
  });
}
