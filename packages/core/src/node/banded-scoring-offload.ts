/**
 * The grid search's scoring step (`bandedGridLogSumExp`, docs/numerics.md#fast-grid-evaluation) on two threads.
 *
 * A kernel whose products run on the main thread (onnxruntime-node runs `session.run` there, on every core) leaves all
 * but one core idle while the main thread scores a block. Here half of the block's rows are scored on a worker thread
 * meanwhile. The parts must live on `SharedArrayBuffer`s (the grid path allocates them so where it can): the worker
 * reads them in place, nothing is copied. It runs the same WebAssembly code as the main thread, row by row, so the
 * result is the same bit for bit. Parts on ordinary buffers, or a worker that cannot start or dies, are scored on the
 * main thread instead.
 */
import type { Worker } from 'node:worker_threads';
import type { BandedGridLogSumExp, BandedGridParts, BandedGridShape } from '../kernel-accelerators.js';
import { bandedGridLogSumExpWasm } from '../opnp/grid/banded-lse-wasm.js';
import type { BandedScoringReply, BandedScoringTask } from './banded-scoring-messages.js';
import { startModuleWorker } from './module-worker.js';

interface PendingTask {
  readonly task: BandedScoringTask;
  readonly resolve: (result: BandedGridLogSumExp | null) => void;
  readonly reject: (error: unknown) => void;
}

/** The main thread's own scoring of a task (when the worker cannot do it). */
function scoreHere(task: BandedScoringTask): BandedGridLogSumExp | null {
  return bandedGridLogSumExpWasm({ low: task.low, high: task.high }, task.shape, task.bias);
}

/** One scoring worker, started on first use; it keeps the process alive only while it holds tasks. */
class BandedScoringWorker {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, PendingTask>();
  private nextId = 0;
  /** Set once a worker could not start or died: later tasks are scored on the main thread. */
  broken = false;

  score(parts: BandedGridParts, shape: BandedGridShape, bias: Float32Array): Promise<BandedGridLogSumExp | null> {
    const task: BandedScoringTask = { id: this.nextId++, low: parts.low, high: parts.high, shape, bias };
    return new Promise((resolve, reject) => {
      const worker = this.started();
      if (worker === undefined) return resolve(scoreHere(task));
      this.pending.set(task.id, { task, resolve, reject });
      worker.ref();
      worker.postMessage(task);
    });
  }

  private started(): Worker | undefined {
    if (this.broken) return undefined;
    if (this.worker) return this.worker;
    try {
      const worker = startModuleWorker(import.meta.url, './banded-scoring-worker', '@opnp/core');
      worker.unref();
      worker.on('message', (reply: BandedScoringReply) => this.settle(reply));
      worker.on('error', () => this.lose());
      worker.on('exit', () => this.lose());
      this.worker = worker;
    } catch {
      this.broken = true;
    }
    return this.worker;
  }

  private settle(reply: BandedScoringReply): void {
    const entry = this.pending.get(reply.id);
    if (!entry) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker?.unref();
    if ('error' in reply) entry.reject(new Error(`bandedGridLogSumExp on the scoring worker: ${reply.error}`));
    else if ('unavailable' in reply) entry.resolve(scoreHere(entry.task));
    else entry.resolve({ logSum: reply.logSum, shifts: reply.shifts });
  }

  /** The worker stopped: its tasks are scored here (their parts are intact until they settle). */
  private lose(): void {
    this.broken = true;
    this.worker = undefined;
    const tasks = [...this.pending.values()];
    this.pending.clear();
    for (const { task, resolve, reject } of tasks) {
      try {
        resolve(scoreHere(task));
      } catch (error) {
        reject(error);
      }
    }
  }

  /** Stops the worker; true if one was running. */
  async close(): Promise<boolean> {
    const worker = this.worker;
    this.worker = undefined;
    this.broken = true;
    if (worker) await worker.terminate();
    return worker !== undefined;
  }
}

let shared: BandedScoringWorker | undefined;

/** True when every part is a view on a `SharedArrayBuffer` (readable in place by another thread). */
function onSharedMemory(parts: BandedGridParts): boolean {
  return typeof SharedArrayBuffer === 'function' && [...parts.low, ...parts.high].every((p) => p.buffer instanceof SharedArrayBuffer);
}

/** Fewest rows split between the two threads (below, the message costs more than the half it saves). */
const MIN_SPLIT_ROWS = 16;

/** Rows `start .. start + rows` of `parts` (views, nothing copied) and their shape. */
function rowsOf(parts: BandedGridParts, shape: BandedGridShape, start: number, rows: number): { parts: BandedGridParts; shape: BandedGridShape } {
  const { classes: C, weightLow: wL, weightHigh: wH } = shape;
  const slice = (arrays: readonly Float32Array[], entries: number) => arrays.map((a) => a.subarray(start * entries * C, (start + rows) * entries * C));
  return { parts: { low: slice(parts.low, wL), high: slice(parts.high, wH) }, shape: { ...shape, rows } };
}

/** The results of rows `0 .. a` and `a .. a + b`, one after the other. */
function joined(first: BandedGridLogSumExp, second: BandedGridLogSumExp): BandedGridLogSumExp {
  const logSum = new Float32Array(first.logSum.length + second.logSum.length);
  logSum.set(first.logSum);
  logSum.set(second.logSum, first.logSum.length);
  const shifts = new Float32Array(first.shifts.length + second.shifts.length);
  shifts.set(first.shifts);
  shifts.set(second.shifts, first.shifts.length);
  return { logSum, shifts };
}

/**
 * Core's WebAssembly SIMD `bandedGridLogSumExp` (`bandedGridLogSumExpWasm`) on two threads: when the parts are on
 * `SharedArrayBuffer`s, the first half of the rows goes to a worker thread while the calling thread scores the second
 * half (every row is scored on its own, so the halves give the result of one call bit for bit); otherwise, or for few
 * rows, all on the calling thread. Null where WebAssembly SIMD cannot run (the caller then uses another
 * implementation). The worker is shared, serves one task at a time in submission order and never keeps the process
 * alive when idle.
 *
 * @example
 * ```ts
 * // A kernel's bandedGridLogSumExp accelerator:
 * const result = (await offloadedBandedGridLogSumExp(parts, shape, bias)) ?? (await otherImplementation(parts, shape, bias));
 * ```
 */
export async function offloadedBandedGridLogSumExp(parts: BandedGridParts, shape: BandedGridShape, bias: Float32Array): Promise<BandedGridLogSumExp | null> {
  if (!onSharedMemory(parts) || shape.rows < MIN_SPLIT_ROWS) return bandedGridLogSumExpWasm(parts, shape, bias);
  const half = Math.floor(shape.rows / 2);
  const first = rowsOf(parts, shape, 0, half);
  const away = (shared ??= new BandedScoringWorker()).score(first.parts, first.shape, bias);
  const second = rowsOf(parts, shape, half, shape.rows - half);
  const here = bandedGridLogSumExpWasm(second.parts, second.shape, bias);
  const there = await away;
  return here === null || there === null ? null : joined(there, here);
}

/**
 * Stops the scoring worker after the tasks it holds are scored (on the calling thread); true if one was running. It
 * never keeps a process alive, so this is only needed to free its memory or at the end of a test file. Later calls
 * start a new one.
 */
export async function closeBandedScoringWorker(): Promise<boolean> {
  const worker = shared;
  shared = undefined;
  return (await worker?.close()) ?? false;
}
