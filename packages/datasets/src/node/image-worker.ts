/**
 * Entry of the image worker threads of `image-pool.ts`: prepares a chunk of image files (decoded with sharp,
 * resized with Pillow's kernels (WebAssembly SIMD) or sharp's, written as a batch) with the main thread's own code,
 * `prepareChunk` + `loadSampleWithSharp`, and posts the batch back (transferred, not copied). Node only.
 */
import { parentPort } from 'node:worker_threads';
import { prepareChunk } from '../dataset.js';
import { loadSampleWithSharp } from './sharp-images.js';
import { serializeError, toReply, type WorkerReply, type WorkerTask } from './worker-messages.js';

const port = parentPort;
if (!port) throw new Error('image-worker.ts runs as a worker thread of @opnp/datasets/node');

async function run(task: WorkerTask): Promise<WorkerReply> {
  try {
    return toReply(task.id, await prepareChunk(task.chunk, task.plan, loadSampleWithSharp));
  } catch (error) {
    return { id: task.id, failure: serializeError(error) };
  }
}

port.on('message', (task: WorkerTask) => {
  void run(task).then((reply) => port.postMessage(reply, 'data' in reply ? [reply.data.buffer as ArrayBuffer] : []));
});
