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

/**
 * Work the driver does once when the device comes up or goes away (the AGP GATT) belongs to the
 * machine and is not counted (INTERFACE.md): `work` runs, then every counter goes back to what it
 * was, but the swiotlbSlotsInUse gauge, which follows what is held (assembly/sim/counters.ts).
 */
export function machineWork<T>(c: Counters, work: () => T): T {
  const saved = { ...c };
  const result = work();
  const inUse = c.swiotlbSlotsInUse;
  Object.assign(c, saved);
  c.swiotlbSlotsInUse = inUse;
  return result;
}
