/**
 * Running the modules of `wasm-encoding.ts`: one instance per thread, made at first use, and memory grown to what a
 * call needs. Where WebAssembly is missing or refuses the module (no SIMD in an old engine, a strict
 * Content-Security-Policy), the loader gives null and the callers run their JavaScript paths.
 */
import { wasmModule, type WasmFunction } from './wasm-encoding.js';

/** The part of the WebAssembly API used here (the package's types do not include the DOM's or Node's). */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
} | undefined;

/** An instance's exported memory. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** An instance: its exported functions (all `(i32 ...) -> ()`) and its memory. */
export interface WasmInstance {
  readonly functions: Readonly<Record<string, (...args: number[]) => void>>;
  readonly memory: WasmMemory;
}

/** A loader of the module of `functions()` (one memory page to start): instantiated once, on the first call; null where it cannot run. */
export function lazyWasmInstance(functions: () => readonly WasmFunction[]): () => WasmInstance | null {
  let instance: WasmInstance | null | undefined;
  return () => {
    if (instance !== undefined) return instance;
    try {
      if (typeof WebAssembly === 'undefined') return (instance = null);
      const { exports } = new WebAssembly.Instance(new WebAssembly.Module(wasmModule(functions(), 1)));
      const { memory, ...rest } = exports;
      instance = { functions: rest as WasmInstance['functions'], memory: memory as WasmMemory };
    } catch {
      instance = null; // no SIMD (old engines), or WebAssembly disabled
    }
    return instance;
  };
}

/** Grows `memory` to at least `bytes`; false where it cannot (past the engine's limit, or out of memory). */
export function ensureMemory(memory: WasmMemory, bytes: number): boolean {
  const missing = bytes - memory.buffer.byteLength;
  if (missing <= 0) return true;
  try {
    memory.grow(Math.ceil(missing / 65536));
    return true;
  } catch {
    return false;
  }
}
