// `gartbench replay`: one machine, one script, one result.
import { performance } from 'node:perf_hooks';
import { InitError } from '../engine/abi.js';
import { createEngine } from '../engine/factory.js';
import { OpSink } from '../engine/stream.js';
import type { EngineKind } from '../engine/types.js';
import { UsageError, msg } from '../errors.js';
import { type MachineOptions, machineConfig } from '../machine.js';
import { buildResult, readRaw, type Result } from '../result.js';
import { type Costs, loadCosts } from '../costs.js';
import { translateScript } from './parse.js';

export interface ReplayRequest {
  script: string;
  machine: MachineOptions;
  engine: EngineKind;
  costs?: Costs;
  /** Ctrl-C: stops the script between two lines. */
  signal?: AbortSignal;
}

export async function replay(req: ReplayRequest): Promise<Result> {
  const cfg = machineConfig(req.machine);
  const engine = await createEngine(req.engine);
  const t0 = performance.now();
  const code = engine.init(cfg);
  if (code !== InitError.OK) throw new UsageError(msg.initFailed(initErrorText(code)));
  const sink = new OpSink(engine, true);
  const tr = await translateScript(req.script, { maxBuffers: cfg.maxBuffers, gartPages: cfg.gartPages, payloadBytes: cfg.payloadBytes }, sink, req.signal);
  sink.finish(sink.count > 0 ? sink.origin(sink.count - 1) : 0);
  const wallMs = performance.now() - t0;
  const m = req.machine;
  const scenario = {
    platform: m.platform, device: m.device, strategy: null, gatt: null, workload: null, pages: null, boPages: null,
    rounds: null, seed: m.seed, kernel: m.kernel, replicas: 1, payloadBytes: m.payloadBytes, engine: req.engine, script: req.script,
  };
  return buildResult({
    scenario, machine: m, costs: req.costs ?? loadCosts(undefined), wallMs, workers: 1,
    origin: (op) => sink.origin(op), names: (id) => tr.names[id] ?? `#${id}`,
  }, readRaw(engine, sink));
}

export function initErrorText(code: number): string {
  switch (code) {
    case InitError.TOO_LARGE: return 'it needs more engine memory than the limit (4 GiB of Wasm memory); use a smaller --host-ram, --ram or --payload-bytes';
    case InitError.XEN_LOW: return "Xen's low reserve cannot hold the xen-swiotlb pool; raise --xen-low-free or lower --swiotlb";
    case InitError.LAYOUT: return '--ram is too small for the kernel, the swiotlb pool and the GART dummy page';
    default: return `engine init failed with code ${code}`;
  }
}
