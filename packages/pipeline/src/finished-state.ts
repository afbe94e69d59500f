/**
 * Only a finished sensitivity state replaces a training pass (`sensitivityState`): not the checkpoint of an
 * interrupted run (`visited < planned`), not one shard's state of a sharded run, not a merge of some of its shards.
 * Each would give OPNP sums over part of the training set, and another grid point, without a word. The refusal names
 * the file, what it covers and what to do, in the caller's names of the options and commands ({@link OptionNames}: `sensitivityState`, `checkpoint`,
 * `sensitivityRun`, `mergeStates`).
 */
import { OpnpError } from '@opnp/core/base';
import { unshardedFileName } from './extract-shards.js';
import { optionNames, type OptionNames } from './option-names.js';
import type { StateProvenance } from './state-file.js';

/** `shard 2 of 3` for a state of one shard of several; undefined for a whole run (or `shard 1/1`). */
function oneShard(meta: StateProvenance): string | undefined {
  return meta.shard && meta.shard.count > 1 ? `shard ${meta.shard.index} of ${meta.shard.count}` : undefined;
}

/** How to read every shard: name the unsharded file (read from its shards while absent), or merge them. */
function everyShardHint(path: string, n: Readonly<Required<OptionNames>>): string {
  const unsharded = unshardedFileName(path);
  const merge = `merge every shard's state with ${n.mergeStates} and pass the merged state as ${n.sensitivityState}`;
  return unsharded === undefined ? `Use the whole run: ${merge}` : `Use the whole run: pass ${unsharded} as ${n.sensitivityState} (while it is absent, all the shard states next to it are read and checked together), or ${merge}`;
}

/**
 * Throws unless the saved state at `path` (whose sidecar records `meta`; `count` training samples summed) covers its
 * whole run: finished, and every shard of it.
 *
 * @throws OpnpError `STATE_MISMATCH` naming the file, what it covers and what to do
 */
export function assertFinishedState(path: string, meta: StateProvenance, count: number, names?: OptionNames): void {
  const n = optionNames(names);
  const shard = oneShard(meta);
  const visited = meta.visited ?? count;
  if (meta.planned !== undefined && visited < meta.planned) {
    const then = shard ? "the state of the whole run (every shard's, merged)" : 'it';
    throw new OpnpError('STATE_MISMATCH', `The sensitivity state ${path} is unfinished: it covers ${visited} of the ${meta.planned} training samples${shard ? ` of ${shard}` : ''} (an interrupted run's checkpoint)`, {
      file: path,
      hint: `Finish the run: rerun the same ${n.sensitivityRun} with ${n.checkpoint} ${path} (it resumes from this checkpoint), then pass ${then} as ${n.sensitivityState}`,
    });
  }
  if (shard) {
    throw new OpnpError('STATE_MISMATCH', `The sensitivity state ${path} covers only ${shard} of its run (${count} training samples)`, { file: path, hint: everyShardHint(path, n) });
  }
  if (meta.shards) {
    throw new OpnpError('STATE_MISMATCH', `The sensitivity state ${path} adds up only shards ${meta.shards.merged.join(', ')} of ${meta.shards.count} of its run (${count} training samples)`, {
      file: path,
      hint: `Use the whole run: merge every shard's state with ${n.mergeStates} and pass the merged state as ${n.sensitivityState}`,
    });
  }
}
