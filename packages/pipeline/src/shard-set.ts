/**
 * The check every merge of a sharded run makes (features, sensitivity states, eval scores): the inputs
 * are shards of one run (one fingerprint, one shard count), each shard once, and all of them.
 */
import { OpnpError } from '@opnp/core/base';
import { fingerprintDifferences, type RunFingerprint } from './fingerprint.js';
import type { ShardInfo } from './state-file.js';

/** One input of a merge as the check sees it. */
export interface ShardEntry {
  readonly path: string;
  /** The fingerprint of the unsharded run (the shard is recorded apart). */
  readonly fingerprint: RunFingerprint;
  readonly shard: ShardInfo;
}

/** Options of {@link checkShardSet}. */
export interface ShardSetOptions {
  /** How to give every shard (the hint of a missing shard). */
  readonly missingHint: string;
  /** Accept a set with missing shards. */
  readonly allowPartial?: boolean;
}

/**
 * Checks the shards (see the module comment) and returns them in shard order.
 *
 * @throws OpnpError `STATE_MISMATCH` naming the foreign, duplicate or missing shard (and the fields in which another run differs)
 */
export function checkShardSet<T extends ShardEntry>(entries: readonly T[], options: ShardSetOptions): T[] {
  const first = entries[0]!;
  const count = first.shard.count;
  const seen = new Map<number, T>();
  for (const s of entries) {
    if (s.fingerprint.digest !== first.fingerprint.digest) {
      const fields = fingerprintDifferences(first.fingerprint, s.fingerprint);
      throw new OpnpError('STATE_MISMATCH', `${s.path} belongs to another run than ${first.path}: ${fields.join(', ') || 'the fingerprint'} differ${fields.length === 1 ? 's' : ''}`, { file: s.path });
    }
    if (s.shard.count !== count) throw new OpnpError('STATE_MISMATCH', `${s.path} is shard ${s.shard.index}/${s.shard.count}, ${first.path} is of ${count}`, { file: s.path });
    const twin = seen.get(s.shard.index);
    if (twin) throw new OpnpError('STATE_MISMATCH', `${s.path} and ${twin.path} are the same shard ${s.shard.index}/${count}: merging both would count it twice`, { file: s.path });
    seen.set(s.shard.index, s);
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !seen.has(i));
  if (missing.length > 0 && options.allowPartial !== true) {
    throw new OpnpError('STATE_MISMATCH', `Shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${count} ${missing.length > 1 ? 'are' : 'is'} missing`, { hint: options.missingHint });
  }
  return [...seen.keys()].sort((a, b) => a - b).map((i) => seen.get(i)!);
}
