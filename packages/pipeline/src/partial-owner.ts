/**
 * Owners of the companion row partials of an extraction: `<logits>.partial` is named after the logits output
 * only, so two extractions writing the same `--logits-out` with different features outputs would write one
 * partial file. Next to it, `<logits>.partial.owner.json` records the features output of the extraction it
 * belongs to; a fresh extraction refuses a companion partial of another unfinished extraction (even when told
 * to restart: it discards its own partial output only) instead of writing over it.
 */
import { readFile, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { OpnpError } from '@opnp/core/base';
import { writeFileAtomic } from '@opnp/core/node';
import { featuresMetaPath } from './features-meta.js';
import { isFile } from './paths.js';
import { optionNames, type OptionNames } from './option-names.js';

/** Contents of a partial owner record. */
interface PartialOwner {
  readonly format: 'opnp-partial-owner';
  readonly version: 1;
  /** The features output of the extraction the partial belongs to (as given). */
  readonly features: string;
  /** The same, resolved when it was written. */
  readonly resolved: string;
}

/** The owner record of `<rowsFile>.partial`. */
export function partialOwnerPath(rowsFile: string): string {
  return `${rowsFile}.partial.owner.json`;
}

/** Records that `<rowsFile>.partial` belongs to the extraction writing `features`. */
export async function writePartialOwner(rowsFile: string, features: string): Promise<void> {
  const owner: PartialOwner = { format: 'opnp-partial-owner', version: 1, features, resolved: resolve(features) };
  await writeFileAtomic(partialOwnerPath(rowsFile), `${JSON.stringify(owner)}\n`, 'the partial owner record', { flush: false });
}

/** Removes the owner record of `<rowsFile>.partial` (once the partial is finished or discarded). */
export async function removePartialOwner(rowsFile: string): Promise<void> {
  await rm(partialOwnerPath(rowsFile), { force: true });
}

async function readOwner(rowsFile: string): Promise<PartialOwner | undefined> {
  try {
    const owner = JSON.parse(await readFile(partialOwnerPath(rowsFile), 'utf8')) as PartialOwner;
    return owner?.format === 'opnp-partial-owner' && typeof owner.resolved === 'string' ? owner : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Before a fresh extraction writes `<rowsFile>.partial` (its `what`, e.g. "logits"): refuses when that partial
 * belongs to another unfinished extraction (its owner's features partial sidecar still exists), whatever
 * `restart` says, and when nothing says whom it belongs to unless `restart`. A partial of this same features output,
 * or of an extraction that no longer exists, is written over.
 *
 * @throws OpnpError `STATE_MISMATCH` naming the partial, its owner and how to proceed
 */
export async function assertPartialFree(rowsFile: string, what: string, features: string, restart: boolean, names?: OptionNames): Promise<void> {
  const name = optionNames(names);
  const partial = `${rowsFile}.partial`;
  if (!(await isFile(partial))) return;
  const owner = await readOwner(rowsFile);
  if (owner === undefined) {
    if (restart) return;
    throw new OpnpError('STATE_MISMATCH', `${partial} (unfinished ${what}) records no extraction it belongs to, so it cannot be shown to belong to this run (features ${features})`, {
      file: partial,
      hint: `Pass ${name.restart} to discard it, or choose another output file`,
    });
  }
  if (owner.resolved === resolve(features)) return;
  const sidecar = featuresMetaPath(owner.features, true);
  if (!(await isFile(sidecar))) return; // its extraction was discarded: nothing refers to the partial any more
  const files = [`${owner.features}.partial`, sidecar, partial, partialOwnerPath(rowsFile)].join(', ');
  throw new OpnpError('STATE_MISMATCH', `${partial} holds the unfinished ${what} of another extraction (features ${owner.features}), not of this one (features ${features}); it is not discarded, even with ${name.restart}`, {
    file: partial,
    hint: `Resume that extraction (the same one, with ${name.out} ${owner.features}) or discard it by deleting ${files}; or give this run another ${what} output`,
  });
}
