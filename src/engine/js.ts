// The TypeScript reference engine: the Engine interface over src/model/ (ENGINE.md semantics,
// written for clarity). The Wasm engine in assembly/ is tested against it word for word.
import { InitError, type MachineConfig } from './abi.js';
import type { Engine } from './types.js';
import { countersInOrder } from '../model/sim/counters.js';
import { checkInvariants } from '../model/invariants.js';
import { Model } from '../model/index.js';

export function createJsEngine(): Engine {
  let model: Model | null = null;
  const ready = (): Model => {
    if (!model) throw new Error('js engine: init() first');
    return model;
  };
  return {
    kind: 'js',
    init(cfg: MachineConfig): number {
      if (model) throw new Error('js engine: init() may be called once');
      const built = Model.create(cfg);
      if (typeof built === 'number') return built;
      model = built;
      return InitError.OK;
    },
    run(ops: Int32Array, count: number, firstOp: number): void {
      ready().run(ops, count, firstOp);
    },
    counters(): number[] {
      return countersInOrder(ready().counters);
    },
    violation(): bigint[] | null {
      return ready().oracle.words();
    },
    debug(): { total: number; records: bigint[][] } {
      const { debug } = ready();
      return { total: debug.total, records: debug.records.map((r) => [...r]) };
    },
    checkInvariants(): number {
      return checkInvariants(ready());
    },
  };
}
