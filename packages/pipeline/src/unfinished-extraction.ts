/**
 * Cached features named while their extraction is unfinished: `feats.npy` is absent, and only the `.partial` row
 * files of an interrupted run lie next to it (`feats.npy.partial`, or `feats.shard-001-of-003.npy.partial` ... of a
 * sharded one). Rather than "file not found", the refusal names each unfinished file, the rows it holds and the
 * samples its run has visited, and says to finish the extraction.
 */
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { OpnpError } from '@opnp/core/base';
import { readAnyFeaturesMeta, shardNamePattern } from './extract-shards.js';
import { featuresMetaPath } from './features-meta.js';

/** One unfinished output of an extraction: its `.partial` row file and what its progress sidecar records. */
export interface UnfinishedPart {
  /** The `.partial` row file. */
  readonly file: string;
  /** `shard 2/3`, or `the whole dataset`. */
  readonly part: string;
  /** Rows the sidecar records as written (undefined without a readable sidecar). */
  readonly rows?: number;
  /** Samples visited of those the part covers (undefined without a readable sidecar). */
  readonly visited?: number;
  readonly samples?: number;
}

/** What the progress sidecar of the output `features` (whose row file is `<features>.partial`) records. */
async function describePart(features: string, part: string): Promise<UnfinishedPart> {
  const file = `${features}.partial`;
  const meta = await readAnyFeaturesMeta(featuresMetaPath(features, true)).catch(() => undefined);
  if (!meta) return { file, part };
  if (meta.format === 'opnp-features-shard') return { file, part, rows: meta.rows, visited: meta.nextIndex - meta.shard.start, samples: meta.shard.end - meta.shard.start };
  return { file, part, rows: meta.rows, visited: meta.nextIndex, samples: meta.samples };
}

/**
 * The unfinished outputs standing for the absent features file `path`: `<path>.partial`, and the `.partial` files
 * of its shards (`feats.shard-001-of-003.npy.partial` ...), in name order; empty when there are none.
 */
export async function unfinishedParts(path: string): Promise<UnfinishedPart[]> {
  const name = basename(path);
  const shard = shardNamePattern(path, '.partial');
  const entries = (await readdir(dirname(path)).catch(() => [] as string[])).sort();
  const parts: UnfinishedPart[] = [];
  for (const entry of entries) {
    const m = shard.exec(entry);
    if (entry === `${name}.partial`) parts.push(await describePart(path, 'the whole dataset'));
    else if (m) parts.push(await describePart(join(dirname(path), entry.slice(0, -'.partial'.length)), `shard ${Number(m[1])}/${Number(m[2])}`));
  }
  return parts;
}

function describe(p: UnfinishedPart): string {
  const held = p.rows === undefined ? 'no progress record' : `${p.rows} rows, ${p.visited} of ${p.samples} samples visited`;
  return `${p.part}: ${p.file} holds ${held}`;
}

/**
 * Throws when the absent features file `path` stands for an unfinished extraction (see the module comment); returns
 * when there is none, so that the caller says the file is not found.
 *
 * @throws OpnpError `STATE_MISMATCH` naming the unfinished files and the rows they hold
 */
export async function refuseUnfinishedExtraction(path: string, what = 'Cached features'): Promise<void> {
  const parts = await unfinishedParts(path);
  if (parts.length === 0) return;
  throw new OpnpError('STATE_MISMATCH', `${what} ${path} are not there yet: the extraction that writes them is unfinished (${parts.map(describe).join('; ')})`, {
    file: parts[0]!.file,
    hint: `Finish the extraction: rerun it with the same inputs and outputs (${parts.length > 1 || parts[0]!.part !== 'the whole dataset' ? 'every shard of it; each' : 'it'} resumes from its .partial files), then name ${path} again`,
  });
}
