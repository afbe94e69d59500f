/**
 * What the running command's resumable outputs keep, as their last checkpoint recorded it: the command posts it
 * whenever a checkpoint is written, and a second Ctrl-C (which quits at once, see signals.ts) says it, so the user
 * knows what a rerun resumes from.
 */

/** Posted checkpoint records, one per output (key), in the order first posted. */
export class CheckpointBoard {
  private readonly records = new Map<string, string>();

  /** Records what `key`'s last checkpoint keeps, e.g. `f.npy.partial and l.npy.partial hold 1200 rows each`. */
  post(key: string, text: string): void {
    this.records.set(key, text);
  }

  /** Every record, joined (`a; b`), or undefined when nothing was checkpointed. */
  describe(): string | undefined {
    return this.records.size === 0 ? undefined : [...this.records.values()].join('; ');
  }
}
