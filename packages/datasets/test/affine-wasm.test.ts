/**
 * 8-bit pixels normalised in WebAssembly (affine-wasm.ts) give the bits of the JavaScript definition
 * `float32(v * (scale / std[c]) + (-mean[c] / std[c]))` for every byte value, every preprocessing option
 * that keeps the crop inside the image, every stored layout and every kind of byte array; without WebAssembly
 * (or with coefficients that are not finite) the JavaScript loop gives the same.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { affineKernelAvailable } from '../src/affine-wasm.js';
import { resolvePreprocess, writeSample, type PixelImage, type PreprocessOptions } from '../src/preprocess.js';

const [H, W] = [16, 17];

/** Index of the first value whose bits differ, or -1 (fast on large arrays; the test reports the index). */
function firstBitDifference(actual: Float32Array, expected: Float32Array): number {
  expect(actual.length).toBe(expected.length);
  const [a, b] = [new Uint32Array(actual.buffer, actual.byteOffset, actual.length), new Uint32Array(expected.buffer, expected.byteOffset, expected.length)];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** Stored pixels `[C, H, W]` in `layout` holding every byte value in every channel (channel c shifted by 89 c). */
function pixels(C: number, layout: PixelImage['layout']): Uint8Array {
  const data = new Uint8Array(C * H * W);
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const v = (y * W + x + 89 * c) % 256;
        const at = layout === 'HWC' ? (y * W + x) * C + c : layout === 'CHW' ? (c * H + y) * W + x : (c * W + x) * H + y;
        data[at] = v;
      }
    }
  }
  return data;
}

/** The definition, written out: NCHW or NHWC float32 of `v * (scale / std) + (-mean / std)` over the centred crop. */
function reference(options: PreprocessOptions, C: number, crop: [number, number], n: number): Float32Array {
  const scale = options.scale ?? 1 / 255;
  const per = (v: number | readonly number[] | undefined, c: number, fallback: number) => (v === undefined ? fallback : typeof v === 'number' ? v : v.length === 1 ? v[0]! : v[c]!);
  const [h, w] = crop;
  const [top, left] = [Math.round((H - h) / 2 - 1e-9), Math.round((W - w) / 2 - 1e-9)]; // no .5 ties in these sizes
  const out = new Float32Array((n + 1) * C * h * w);
  for (let c = 0; c < C; c++) {
    const [mean, std] = [per(options.mean, c, 0), per(options.std, c, 1)];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const v = (((y + top) * W + x + left) + 89 * c) % 256;
        const at = n * C * h * w + (options.layout === 'NHWC' ? (y * w + x) * C + c : (c * h + y) * w + x);
        out[at] = v * (scale / std) + -mean / std;
      }
    }
  }
  return out;
}

const CASES: { name: string; channels: number; options: PreprocessOptions }[] = [
  { name: 'MNIST (x / 255 - 0.1307) / 0.3081', channels: 1, options: { mean: [0.1307], std: [0.3081] } },
  { name: 'ImageNet mean and std, NCHW', channels: 3, options: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } },
  { name: 'ImageNet mean and std, NHWC', channels: 3, options: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], layout: 'NHWC' } },
  { name: 'defaults (x / 255)', channels: 3, options: {} },
  { name: 'scale 1, negative std', channels: 1, options: { scale: 1, mean: 127.5, std: -127.5 } },
  { name: 'scale 1/127.5, mean 1 ([-1, 1])', channels: 3, options: { scale: 1 / 127.5, mean: 1, std: 1 } },
  { name: 'tiny std, scale 0', channels: 1, options: { scale: 0, mean: 0.3, std: 1e-300 } },
  { name: 'huge values (float32 overflow to infinity)', channels: 1, options: { scale: 1e38, std: 0.5 } },
];

afterEach(() => {
  vi.unstubAllGlobals();
  vi.resetModules();
});

describe('8-bit normalisation in WebAssembly', () => {
  it('is available in Node', () => {
    expect(affineKernelAvailable()).toBe(true);
  });

  for (const { name, channels: C, options } of CASES) {
    it(`equals float32(v * a + b) bit for bit: ${name}`, () => {
      for (const crop of [[H, W], [10, 9]] as [number, number][]) {
        const plan = resolvePreprocess({ ...options, centerCrop: crop }, [C, H, W], false, true);
        const expected = reference(options, C, crop, 1);
        for (const layout of ['HWC', 'CHW', 'CWH'] as const) {
          const bytes = pixels(C, layout);
          // a view into a larger buffer at an odd offset, a clamped array and a Buffer take the same path
          const padded = new Uint8Array(bytes.length + 3);
          padded.set(bytes, 3);
          for (const data of [bytes, padded.subarray(3), new Uint8ClampedArray(bytes), Buffer.from(bytes)]) {
            const out = new Float32Array(expected.length);
            writeSample(plan, { data, channels: C, height: H, width: W, layout }, out, 1);
            expect(firstBitDifference(out, expected)).toBe(-1);
          }
        }
      }
    });
  }

  it('covers every byte value', () => {
    const seen = new Set(pixels(1, 'CHW'));
    expect(seen.size).toBe(256);
  });

  it('falls back to the JavaScript loop, with the same bits, where WebAssembly is missing', async () => {
    vi.stubGlobal('WebAssembly', undefined);
    vi.resetModules();
    const wasm = await import('../src/affine-wasm.js');
    const preprocess = await import('../src/preprocess.js');
    expect(wasm.affineKernelAvailable()).toBe(false);
    for (const { channels: C, options } of CASES) {
      const plan = preprocess.resolvePreprocess({ ...options, centerCrop: [10, 9] }, [C, H, W], false, true);
      const expected = reference(options, C, [10, 9], 0);
      for (const data of [pixels(C, 'HWC'), new Uint8ClampedArray(pixels(C, 'HWC'))]) {
        const out = new Float32Array(expected.length);
        preprocess.writeSample(plan, { data, channels: C, height: H, width: W, layout: 'HWC' }, out, 0);
        expect(firstBitDifference(out, expected)).toBe(-1);
      }
    }
  });

  it('leaves coefficients that are not finite to the JavaScript loop (NaN and infinities as JavaScript makes them)', () => {
    const options: PreprocessOptions = { scale: 1e308, std: 1e-308, mean: 0 }; // a = Infinity: 0 * a is NaN
    const plan = resolvePreprocess({ ...options, centerCrop: [H, W] }, [1, H, W], false, true);
    const expected = reference(options, 1, [H, W], 0);
    expect(Number.isNaN(expected[0])).toBe(true);
    const out = new Float32Array(expected.length);
    writeSample(plan, { data: pixels(1, 'CHW'), channels: 1, height: H, width: W, layout: 'CHW' }, out, 0);
    expect(firstBitDifference(out, expected)).toBe(-1);
  });

  it('grows its memory for large images and keeps the bits', () => {
    const [h, w] = [700, 500]; // 1 MB of pixels and 4 MB of floats: more than the module's first page
    const data = new Uint8Array(3 * h * w);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) % 256;
    const plan = resolvePreprocess({ mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], centerCrop: [h - 2, w - 4] }, [3, h, w], false, true);
    const out = new Float32Array(3 * (h - 2) * (w - 4));
    writeSample(plan, { data, channels: 3, height: h, width: w, layout: 'HWC' }, out, 0);
    const expected = new Float32Array(out.length);
    for (let c = 0; c < 3; c++) {
      const [a, b] = [1 / 255 / plan.std[c]!, -plan.mean[c]! / plan.std[c]!];
      for (let y = 0; y < h - 2; y++) for (let x = 0; x < w - 4; x++) expected[(c * (h - 2) + y) * (w - 4) + x] = data[((y + 1) * w + x + 2) * 3 + c]! * a + b;
    }
    expect(firstBitDifference(out, expected)).toBe(-1);
  });
});
