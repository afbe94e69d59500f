/**
 * Node-only file output shared by the `@opnp/*` packages (entry point `@opnp/core/node`; the main entry
 * stays free of file-system access so it runs in browsers).
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { OpnpError } from '../errors.js';

/** Options of {@link writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /**
   * Flush the temporary file to disk before the rename (default true): the new content survives a power loss
   * once the call returns. Without it the rename is still atomic for every reader and for a crash of the
   * process, and the call does not wait for the disk (on ext4 an fsync also writes out every other file's pending
   * data): for files rewritten often whose older version is as good after a power loss, such as the progress
   * sidecar of an extraction.
   */
  readonly flush?: boolean;
}

/**
 * Writes `data` to `path` atomically: into a temporary file in the same folder, flushed to disk (unless
 * `options.flush` is false), then renamed over `path`. On failure the temporary file is removed, `path` is left
 * as it was, and an `OpnpError` with code `'IO_ERROR'` names the file. `what` describes the file in the message.
 *
 * @example
 * ```ts
 * await writeFileAtomic('detector.onnx', bytes, 'the exported model');
 * ```
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, what = 'the file', options: WriteFileAtomicOptions = {}): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(temporary, 'wx');
    try {
      await handle.writeFile(data);
      if (options.flush !== false) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (cause) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw new OpnpError('IO_ERROR', `Cannot write ${what}`, {
      file: path,
      actual: (cause as NodeJS.ErrnoException).code ?? String(cause),
      hint: 'Check that the folder exists and is writable',
      cause,
    });
  }
}
