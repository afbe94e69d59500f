/**
 * A seeded uniform-noise image set (`noise:<count>` in any dataset argument): 8-bit pixels drawn
 * independently per sample, so every subset and batch size sees the same images.
 */
import { mulberry32, OpnpError } from '@opnp/core/base';
import { resolvePreprocess, type BatchOptions, type Dataset, type DatasetBatch } from '@opnp/datasets';

/** Options of {@link noiseDataset}. */
export interface NoiseOptions {
  readonly count: number;
  /** Stored `[C, H, W]`. */
  readonly shape: readonly [number, number, number];
  readonly seed: number;
}

/** mulberry32 seeded per sample: `(seed, index)` -> uniform floats in [0, 1). */
function sampleRandom(seed: number, index: number): () => number {
  return mulberry32((Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)) >>> 0);
}

/** The 8-bit pixels `[C * H * W]` (CHW order) of sample `index`. */
export function noisePixels(seed: number, index: number, size: number): Uint8Array {
  const random = sampleRandom(seed, index);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/**
 * Parses `noise:<count>[#seed=<s>,shape=<C>x<H>x<W>]`; returns undefined for specs of other kinds.
 *
 * @throws OpnpError `INVALID_ARGUMENT` for a malformed `noise:` spec (e.g. `noise:abc`)
 */
export function parseNoiseSpec(spec: string): { count: number; seed: number; shape?: [number, number, number] } | undefined {
  if (!spec.trim().startsWith('noise:')) return undefined;
  const m = /^noise:(\d+)(?:#(.*))?$/.exec(spec.trim());
  if (!m) throw new OpnpError('INVALID_ARGUMENT', `Malformed noise spec "${spec}"`, { expected: 'noise:<count>[#seed=<s>,shape=<C>x<H>x<W>], e.g. noise:1000#seed=1' });
  const count = Number(m[1]);
  let seed = 0;
  let shape: [number, number, number] | undefined;
  for (const part of (m[2] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const [key, value = ''] = part.split('=');
    if (key === 'seed' && /^\d+$/.test(value)) seed = Number(value);
    else if (key === 'shape' && /^\d+x\d+x\d+$/.test(value)) shape = value.split('x').map(Number) as [number, number, number];
    else throw new OpnpError('INVALID_ARGUMENT', `Unknown noise option "${part}"`, { expected: 'seed=<integer>, shape=<C>x<H>x<W>', actual: spec });
  }
  if (count < 1) throw new OpnpError('INVALID_ARGUMENT', 'A noise set needs at least one sample', { actual: spec });
  return shape ? { count, seed, shape } : { count, seed };
}

/** A {@link Dataset} of `count` seeded uniform-noise images of stored shape `[C, H, W]` (unlabelled). */
export function noiseDataset(options: NoiseOptions): Dataset {
  const { count, shape, seed } = options;
  const [C, H, W] = shape;
  const size = C * H * W;
  async function* batches(batchOptions: BatchOptions = {}): AsyncGenerator<DatasetBatch> {
    const plan = resolvePreprocess(batchOptions.preprocess, shape, false, true, batchOptions.preprocessNames);
    if (plan.channels !== C || plan.height !== H || plan.width !== W) {
      throw new OpnpError('SHAPE_MISMATCH', 'The noise set must have the model input size', {
        expected: [plan.channels, plan.height, plan.width],
        actual: [C, H, W],
        hint: 'Drop shape= from the noise spec; it defaults to the model input',
      });
    }
    const batchSize = batchOptions.batchSize ?? 64;
    let indices: Uint32Array;
    if (batchOptions.subset instanceof Uint32Array) indices = batchOptions.subset;
    else if (batchOptions.subset === undefined) indices = Uint32Array.from({ length: count }, (_, i) => i);
    else throw new OpnpError('INVALID_ARGUMENT', 'Noise sets take explicit subset indices only');
    const start = performance.now();
    for (let b = 0; b < indices.length; b += batchSize) {
      if (batchOptions.signal?.aborted) throw batchOptions.signal.reason ?? new Error('Aborted');
      const rows = indices.subarray(b, Math.min(indices.length, b + batchSize));
      const data = new Float32Array(rows.length * size);
      for (let n = 0; n < rows.length; n++) {
        const pixels = noisePixels(seed, rows[n]!, size);
        for (let c = 0; c < C; c++) {
          const mean = plan.mean[c]!;
          const std = plan.std[c]!;
          for (let p = 0; p < H * W; p++) {
            const value = (pixels[c * H * W + p]! * plan.scale - mean) / std;
            const at = plan.layout === 'NCHW' ? n * size + c * H * W + p : n * size + p * C + c;
            data[at] = value;
          }
        }
      }
      const count = b + rows.length;
      const elapsedMs = performance.now() - start;
      batchOptions.onProgress?.({ count, total: indices.length, rate: elapsedMs > 0 ? (count * 1000) / elapsedMs : 0, elapsedMs, skipped: 0 });
      yield {
        data,
        shape: plan.layout === 'NCHW' ? [rows.length, C, H, W] : [rows.length, H, W, C],
        labels: new Int32Array(rows.length).fill(-1),
        indices: rows.slice(),
      };
    }
  }
  return Object.freeze({
    format: 'npy' as const,
    source: `noise:${count}#seed=${seed}`,
    count,
    shape,
    sizesVary: false,
    readLabels: async () => new Int32Array(count).fill(-1),
    batches,
  });
}
