// One place that turns an engine name into an Engine. The Wasm module is compiled once per
// process and can be handed to workers. The reference model is loaded only when it runs.
import type { Engine, EngineKind } from './types.js';
import { createWasmEngine, loadEngineModule } from './wasm.js';

let module: Promise<WebAssembly.Module> | undefined;

export function wasmModule(): Promise<WebAssembly.Module> {
  module ??= loadEngineModule();
  return module;
}

export async function createEngine(kind: EngineKind, mod?: WebAssembly.Module): Promise<Engine> {
  return (await engineMaker(kind, mod))();
}

/** Loads what an engine needs (the model's code, the compiled module) and returns its constructor,
 * so that a caller can time building the engine apart from loading code. */
export async function engineMaker(kind: EngineKind, mod?: WebAssembly.Module): Promise<() => Engine> {
  if (kind === 'js') return (await import('./js.js')).createJsEngine;
  const m = mod ?? (await wasmModule());
  return () => createWasmEngine(m);
}
