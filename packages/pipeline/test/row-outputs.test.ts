/**
 * The row buffers of extractFeatures' matrix outputs: whatever the batch sizes against the buffer (smaller, exactly
 * filling it, larger than it), the files hold every batch's rows in order.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadNpy } from '@opnp/datasets/node';
import { RowOutputs } from '../src/extract.js';
import type { FeatureBatch } from '../src/feature-source.js';
import { tempDir } from './helpers.js';

const [D, C] = [4, 3];

/** A batch of `n` rows whose values say which batch, row and column they are. */
function batchOf(id: number, n: number): FeatureBatch {
  const features = Float32Array.from({ length: n * D }, (_, i) => id * 1000 + i);
  const logits = Float32Array.from({ length: n * C }, (_, i) => -(id * 1000 + i));
  return { features: { rows: n, cols: D, data: features }, logits: { rows: n, cols: C, data: logits }, labels: new Int32Array(n), indices: Uint32Array.from({ length: n }, (_, i) => i) };
}

describe('RowOutputs', () => {
  it('writes every batch in order whether it fits the buffer, fills it exactly or is larger than it', async () => {
    const dir = tempDir();
    const outputs = { features: join(dir, 'f.npy'), logits: join(dir, 'l.npy') };
    // buffers of 3 feature rows (48 bytes) and 4 logit rows (48 bytes)
    const rows = await RowOutputs.open(outputs, { D, C }, false, 0, 48);
    const sizes = [1, 2, 5, 3, 1, 0, 4, 2];
    const batches = sizes.map((n, id) => batchOf(id, n));
    for (const [k, batch] of batches.entries()) {
      await rows.append(batch);
      if (k === 4) await rows.flush(); // a commit in between
    }
    await rows.finalize();
    const [f, l] = [await loadNpy(outputs.features), await loadNpy(outputs.logits)];
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(f.shape).toEqual([total, D]);
    expect(l.shape).toEqual([total, C]);
    expect(Array.from(f.data)).toEqual(batches.flatMap((b) => Array.from(b.features.data)));
    expect(Array.from(l.data)).toEqual(batches.flatMap((b) => Array.from(b.logits.data)));
  });

  it('closing keeps only what was flushed (rows after the last commit are not written)', async () => {
    const dir = tempDir();
    const outputs = { features: join(dir, 'f.npy') };
    const rows = await RowOutputs.open(outputs, { D, C }, false, 0, 1 << 20);
    await rows.append(batchOf(0, 2));
    await rows.flush();
    await rows.append(batchOf(1, 3));
    await rows.close();
    const partial = await loadNpy(`${outputs.features}.partial`);
    expect(partial.shape).toEqual([2, D]);
    expect(Array.from(partial.data)).toEqual(Array.from(batchOf(0, 2).features.data));
  });
});
