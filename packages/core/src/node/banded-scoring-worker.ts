/**
 * Worker thread of `banded-scoring-offload.ts`: runs core's WebAssembly SIMD `bandedGridLogSumExp` on parts shared
 * with the main thread, so the grid search's scoring step overlaps the next block's products there.
 */
import { parentPort } from 'node:worker_threads';
import { bandedGridLogSumExpWasm } from '../opnp/grid/banded-lse-wasm.js';
import type { BandedScoringReply, BandedScoringTask } from './banded-scoring-messages.js';

function answer(task: BandedScoringTask): { reply: BandedScoringReply; transfer: ArrayBuffer[] } {
  try {
    const result = bandedGridLogSumExpWasm({ low: task.low, high: task.high }, task.shape, task.bias);
    if (result === null) return { reply: { id: task.id, unavailable: true }, transfer: [] };
    return { reply: { id: task.id, logSum: result.logSum, shifts: result.shifts }, transfer: [result.logSum.buffer as ArrayBuffer, result.shifts.buffer as ArrayBuffer] };
  } catch (error) {
    return { reply: { id: task.id, error: error instanceof Error ? error.message : String(error) }, transfer: [] };
  }
}

parentPort!.on('message', (task: BandedScoringTask) => {
  const { reply, transfer } = answer(task);
  parentPort!.postMessage(reply, transfer);
});
