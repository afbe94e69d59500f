/**
 * `prepareChunk` writes each image into its row as soon as it loads, then removes the rows of samples that failed
 * or do not fit: the batch must hold exactly the samples that loaded and fit, in chunk order, whatever order the
 * loads finish in.
 */
import { describe, expect, it } from 'vitest';
import { prepareChunk, type RawSample, type SampleLoader } from '../src/dataset.js';
import { resolvePreprocess, type PixelImage } from '../src/preprocess.js';

/** A 2 x 3 grey image whose pixels are `base + i`. */
function image(base: number, height = 2, width = 3): PixelImage {
  return { data: Uint8Array.from({ length: height * width }, (_, i) => base + i), channels: 1, height, width, layout: 'HWC' };
}

const files = (n: number): RawSample[] => Array.from({ length: n }, (_, index) => ({ index, label: index % 3, file: `image-${index}.png` }));

/** Loads file `k` after a delay that makes later files finish first; `fail` reject, `wrongSize` are 3 x 3. */
function loader(fail: ReadonlySet<number>, wrongSize: ReadonlySet<number>): SampleLoader {
  return (sample) => {
    const k = sample.index;
    return new Promise<PixelImage>((resolve, reject) =>
      setTimeout(() => (fail.has(k) ? reject(new Error(`cannot read ${k}`)) : resolve(image(10 * k, wrongSize.has(k) ? 3 : 2))), (7 - k) * 3),
    );
  };
}

describe('prepareChunk', () => {
  const plan = resolvePreprocess({ scale: 1 }, [1, 2, 3], false, true);

  it('keeps the samples that loaded and fit, in chunk order, whatever order they finish in', async () => {
    const chunk = files(7);
    const prepared = await prepareChunk(chunk, plan, loader(new Set([1, 4]), new Set([5])));
    expect(prepared.outcomes.map((o) => o.ok)).toEqual([true, false, true, true, false, true, true]);
    expect(prepared.outcomes[5]).toEqual({ ok: true, height: 3, width: 3 });
    expect((prepared.outcomes[1] as { error: Error }).error.message).toBe('cannot read 1');
    const want = [0, 2, 3, 6].flatMap((k) => Array.from({ length: 6 }, (_, i) => 10 * k + i));
    expect(Array.from(prepared.data)).toEqual(want);
  });

  it('returns every row when all load, and loads pixels in memory at once', async () => {
    const prepared = await prepareChunk(files(3), plan, loader(new Set(), new Set()));
    expect(Array.from(prepared.data)).toEqual([0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 20, 21, 22, 23, 24, 25]);
    const inMemory: RawSample[] = [0, 1].map((index) => ({ index, label: 0, pixels: image(100 + index) }));
    const sync = await prepareChunk(inMemory, plan, (sample) => ('pixels' in sample ? sample.pixels : image(0)));
    expect(Array.from(sync.data)).toEqual([100, 101, 102, 103, 104, 105, 101, 102, 103, 104, 105, 106]);
  });

  it('gives an empty batch when nothing loads', async () => {
    const prepared = await prepareChunk(files(2), plan, loader(new Set([0, 1]), new Set()));
    expect(prepared.data.length).toBe(0);
    expect(prepared.outcomes.every((o) => !o.ok)).toBe(true);
  });
});
