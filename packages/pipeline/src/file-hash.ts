/**
 * SHA-256 of files for run fingerprints. Large inputs are read and hashed on a worker thread: the main thread stays
 * free (loading the model meanwhile, see `warmDatasetIdentity`) and never waits for one read after another.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';

/** A file's bytes from `start` to its end. */
export interface FileSegment {
  readonly path: string;
  readonly start: number;
}

/** Inputs of at least this many bytes are hashed on a worker thread (its start costs about 10 ms of CPU). */
export const WORKER_HASH_BYTES = 16 << 20;

/** The worker: reads each segment in 4 MiB steps into one buffer, hashes it and posts the digest (or the error). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { closeSync, openSync, readSync } = require('node:fs');
const { createHash } = require('node:crypto');
try {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(4 << 20);
  for (const { path, start } of workerData) {
    const fd = openSync(path, 'r');
    try {
      for (let at = start; ; ) {
        const read = readSync(fd, buffer, 0, buffer.length, at);
        if (read === 0) break;
        hash.update(read === buffer.length ? buffer : buffer.subarray(0, read));
        at += read;
      }
    } finally {
      closeSync(fd);
    }
  }
  parentPort.postMessage({ digest: hash.digest('hex') });
} catch (error) {
  parentPort.postMessage({ error: { message: String(error && error.message), code: error && error.code, path: error && error.path } });
}
`;

function hashOnWorker(segments: readonly FileSegment[]): Promise<string> {
  return new Promise((resolve, reject) => {
    // execArgv: [] keeps the source CommonJS whatever the parent runs with (`--input-type=module` would make it ESM)
    const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: segments.map(({ path, start }) => ({ path, start })) });
    worker.once('message', (reply: { digest?: string; error?: { message: string; code?: string; path?: string } }) => {
      if (reply.digest !== undefined) resolve(reply.digest);
      else reject(Object.assign(new Error(reply.error?.message ?? 'hashing failed'), { code: reply.error?.code, path: reply.error?.path }));
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the hashing worker stopped (exit code ${code})`))); // no-op after a reply
    // After the listeners (adding a 'message' listener refs the worker's port again): a process that does not wait
    // for the digest may exit; callers that wait keep it alive themselves (fingerprint.ts).
    worker.unref();
  });
}

async function hashHere(segments: readonly FileSegment[]): Promise<string> {
  const hash = createHash('sha256');
  for (const { path, start } of segments) hash.update((await readFile(path)).subarray(start));
  return hash.digest('hex');
}

/**
 * SHA-256 (hex) of the bytes of `segments`, one after the other: on a worker thread when they hold at least
 * {@link WORKER_HASH_BYTES} (`bytes`: their total size), else here with one read per file.
 */
export function sha256OfSegments(segments: readonly FileSegment[], bytes: number): Promise<string> {
  return bytes >= WORKER_HASH_BYTES ? hashOnWorker(segments) : hashHere(segments);
}
