// The TypeScript reference engine: the Engine interface over src/model/ (ENGINE.md semantics,
// written for clarity). The Wasm engine in assembly/ is tested against it word for word.
import { InitError, OP_WORDS, type MachineConfig } from './abi.js';
import type { Engine } from './types.js';
import { countersInOrder } from '../model/sim/counters.js';
import { checkInvariants } from '../model/invariants.js';
import { Model } from '../model/index.js';

/** The reference model's op buffer: the same capacity as the Wasm engine's. */
const BUFFER_OPS = 16384;

export function createJsEngine(): Engine {
  let model: Model | null = null;
  const buffer = new Int32Array(BUFFER_OPS * OP_WORDS);
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
    opBuffer: () => buffer,
    runBuffered(count: number, firstOp: number): void {
      ready().run(buffer, count, firstOp);
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
    pools: () => ready().poolPages(),
    checkInvariants(): number {
      return checkInvariants(ready());
    },
  };
}
