/**
 * How string model sources and output paths are read and written. The browser-safe entry treats them as URLs
 * resolved by TensorFlow.js's IO routers (`https://`, `indexeddb://`, `localstorage://`, `downloads://`, and a
 * relative or absolute URL fetched with `tf.io.http`); `@opnp/backend-tfjs/node` adds the file system
 * (`node/fs-io.ts`). Every loader takes the IO of its entry, and an extractor keeps it for `exportDetector`.
 */
import { io } from '@tensorflow/tfjs-core';
import { OpnpError } from '@opnp/core';

/** Reading a string model source and writing to an output path. */
export interface TfjsModelIO {
  /** The handler that loads `source`, and the name of the model file for messages. */
  loadHandler(source: string): { readonly handler: io.IOHandler; readonly file: string };
  /** Writes `artifacts` at `target`; returns the files (or URLs) written, `model.json` first. */
  save(target: string, artifacts: io.ModelArtifacts): Promise<readonly string[]>;
}

/** String sources and targets as URLs, through TensorFlow.js's IO routers. */
export const urlModelIO: TfjsModelIO = {
  loadHandler(source) {
    const [routed] = io.getLoadHandlers(source);
    return { handler: routed ?? io.http(source), file: source };
  },
  async save(target, artifacts) {
    const [handler] = io.getSaveHandlers(target);
    if (!handler?.save) {
      throw new OpnpError('INVALID_ARGUMENT', 'No TensorFlow.js save handler for this output', {
        actual: target,
        expected: 'a tf.io URL: downloads://<name>, indexeddb://<key>, localstorage://<key>, http(s)://<endpoint>',
        hint: 'To write model.json files, use @opnp/backend-tfjs/node (Node)',
      });
    }
    try {
      await handler.save(artifacts);
    } catch (cause) {
      throw new OpnpError('IO_ERROR', 'TensorFlow.js could not save the model', { file: target, actual: cause instanceof Error ? cause.message : String(cause), cause });
    }
    return [target];
  },
};
