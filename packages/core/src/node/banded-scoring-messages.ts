/** Messages between `banded-scoring-offload.ts` and its worker (`banded-scoring-worker.ts`). */
import type { BandedGridShape } from '../kernel-accelerators.js';

/** One `bandedGridLogSumExp` call: the parts are views on `SharedArrayBuffer`s, read in place by the worker. */
export interface BandedScoringTask {
  readonly id: number;
  readonly low: readonly Float32Array[];
  readonly high: readonly Float32Array[];
  readonly shape: BandedGridShape;
  readonly bias: Float32Array;
}

/** The worker's answer: the result (its buffers transferred), `unavailable` (no WebAssembly SIMD there), or an error. */
export type BandedScoringReply =
  | { readonly id: number; readonly logSum: Float32Array; readonly shifts: Float32Array }
  | { readonly id: number; readonly unavailable: true }
  | { readonly id: number; readonly error: string };
