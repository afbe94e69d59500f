/**
 * A pool of worker threads that decode, resize and normalise image files (`image-worker.ts`), so the Pillow
 * resize and the normalisation run on every core instead of the main thread. A worker prepares a whole batch
 * and transfers it back: the main thread copies nothing. Replies come back by task id and the dataset engine
 * awaits its batches in order, so batches keep dataset order whichever worker finishes first. Pools are shared
 * per size and live as long as the process; idle workers do not keep it alive.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '@opnp/core/node';
import type { ChunkPreparer, PreparedChunk, RawSample } from '../dataset.js';
import type { PreprocessPlan } from '../preprocess.js';
import type { BatchOptions } from '../types.js';
import { loadSharp } from './sharp-loader.js';
import { fromReply, type WorkerReply, type WorkerTask } from './worker-messages.js';

/** Most workers started by default, whatever the core count. */
const MAX_DEFAULT_WORKERS = 8;

/**
 * The default worker count of {@link BatchOptions.workers}: the cores, at most 8. On 2 busy cores, 2 workers
 * prepared ImageNet-size inputs 1.17-1.41 times as fast as the main thread (see the package README).
 */
export function defaultImageWorkers(cores = availableParallelism()): number {
  return Math.max(1, Math.min(MAX_DEFAULT_WORKERS, cores));
}

/** Starts one image worker: the built entry, or the TypeScript one through tsx (tests and benchmarks run from sources). */
function startWorker(): Worker {
  return startModuleWorker(import.meta.url, './image-worker', '@opnp/datasets');
}

interface Task {
  readonly message: WorkerTask;
  readonly resolve: (prepared: PreparedChunk) => void;
  readonly reject: (error: unknown) => void;
}

/** A worker and the tasks it holds. */
interface PoolWorker {
  readonly worker: Worker;
  /** The task it works on (one chunk at a time: its images are decoded concurrently inside). */
  readonly tasks: Map<number, Task>;
  /** It has replied at least once (a worker that dies before that cannot start at all). */
  replied: boolean;
}

function workerFailure(reason: string, cause: unknown): Error {
  return new Error(`An image worker of @opnp/datasets stopped: ${reason}`, { cause });
}

/** A fixed number of image workers, started on first use, serving chunks in submission order. */
export class ImageWorkerPool implements ChunkPreparer {
  private readonly workers: PoolWorker[] = [];
  private readonly queue: Task[] = [];
  private nextId = 0;
  private ready: Promise<unknown> | undefined;
  /** Set when a worker could not start: every later task fails with it. */
  private broken: Error | undefined;
  /** Called when a task settles (`close` waits for the tasks in flight). */
  private onSettled: (() => void) | undefined;

  constructor(readonly size: number) {}

  /** `chunk` prepared by a worker, as `prepareChunk` prepares it on the main thread. */
  async prepare(chunk: readonly RawSample[], plan: PreprocessPlan): Promise<PreparedChunk> {
    // sharp is loaded on the main thread first, so its shared libraries stay loaded while workers come and go.
    await (this.ready ??= loadSharp());
    if (this.broken) throw this.broken;
    return new Promise<PreparedChunk>((resolve, reject) => {
      this.queue.push({ message: { id: this.nextId++, chunk, plan }, resolve, reject });
      this.dispatch();
    });
  }

  /** Hands queued tasks to idle workers, starting workers up to `size`. */
  private dispatch(): void {
    while (this.queue.length > 0) {
      let target = this.workers.find((w) => w.tasks.size === 0);
      if (!target && this.workers.length < this.size) this.workers.push((target = this.spawn()));
      if (!target) return;
      const task = this.queue.shift()!;
      target.tasks.set(task.message.id, task);
      target.worker.ref();
      target.worker.postMessage(task.message);
    }
  }

  private settled(): void {
    const wake = this.onSettled;
    this.onSettled = undefined;
    wake?.();
  }

  private spawn(): PoolWorker {
    const worker = startWorker();
    const entry: PoolWorker = { worker, tasks: new Map(), replied: false };
    worker.unref();
    worker.on('message', (reply: WorkerReply) => this.settle(entry, reply));
    worker.on('error', (error) => this.lose(entry, workerFailure(error.message, error)));
    worker.on('exit', (code) => this.lose(entry, workerFailure(`it exited with code ${code}`, undefined)));
    return entry;
  }

  private settle(entry: PoolWorker, reply: WorkerReply): void {
    entry.replied = true;
    const task = entry.tasks.get(reply.id);
    if (!task) return;
    entry.tasks.delete(reply.id);
    if (entry.tasks.size === 0) entry.worker.unref();
    try {
      task.resolve(fromReply(reply));
    } catch (error) {
      task.reject(error);
    }
    this.dispatch();
    this.settled();
  }

  /** A worker died: its tasks fail; a worker that never started breaks the pool, any other is replaced. */
  private lose(entry: PoolWorker, error: Error): void {
    const at = this.workers.indexOf(entry);
    if (at < 0) return;
    this.workers.splice(at, 1);
    for (const task of entry.tasks.values()) task.reject(error);
    entry.tasks.clear();
    this.settled();
    if (!entry.replied) {
      this.broken ??= error;
      for (const task of this.queue.splice(0)) task.reject(error);
      return;
    }
    this.dispatch();
  }

  /** Waits for the tasks in flight, fails the queued ones and stops the workers. */
  async close(): Promise<void> {
    this.broken ??= new Error('The image workers were closed');
    for (const task of this.queue.splice(0)) task.reject(this.broken);
    while (this.workers.some((w) => w.tasks.size > 0)) await new Promise<void>((resolve) => (this.onSettled = resolve));
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }
}

const pools = new Map<number, ImageWorkerPool>();

/**
 * The preparer of a pass over image files: the shared pool of `options.workers` workers (default
 * {@link defaultImageWorkers}), or undefined for 0 (the main thread).
 */
export function imageWorkers(options: BatchOptions): ChunkPreparer | undefined {
  const size = options.workers ?? defaultImageWorkers();
  if (size === 0) return undefined;
  let pool = pools.get(size);
  if (!pool) pools.set(size, (pool = new ImageWorkerPool(size)));
  return pool;
}

/**
 * Stops the shared image workers (after the tasks in flight). They never keep a process alive; call this to
 * free their memory, or at the end of a test file. Later passes start new ones.
 */
export async function closeImageWorkers(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.close()));
}
