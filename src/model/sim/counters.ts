// The engine's counters (gartbench.result/1 plus extras), named as in src/engine/abi.ts COUNTERS.
// No kernel file: these are what the harness reports.
import { COUNTERS, type CounterName } from '../../engine/abi.js';

export type Counters = Record<CounterName, number>;

export function newCounters(): Counters {
  return Object.fromEntries(COUNTERS.map((name) => [name, 0])) as Counters;
}

export function countersInOrder(c: Counters): number[] {
  return COUNTERS.map((name) => c[name]);
}
