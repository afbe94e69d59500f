/**
 * Crop-aware resizing: `pillowResizeWindow` and the batches of a resize + centre crop, computed from the part
 * of the image the crop keeps, against the brute force written here (Pillow's whole resize transcribed, then the
 * crop cut out, then `float32(v * (scale / std) + (-mean / std))`).
 */
import { describe, expect, it } from 'vitest';
import { centerCropOffset, resolvePreprocess, resizedSize, writeSample, type PreprocessOptions } from '../src/preprocess.js';
import { resizePixels } from '../src/resize.js';
import { pillowResize, pillowResizeWindow, type PillowFilter, type ResizeWindow } from '../src/pillow-resize.js';
import { jsResizeWindow } from '../src/pillow-resize-js.js';
import { simdAvailable, simdResizeWindow } from '../src/pillow-simd.js';
import { sleb, uleb } from '@opnp/core/backend';
import { pillowReference } from './pillow-reference.js';

function seeded(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s * 1103515245 + 12345) >>> 0;
    return (s >>> 8) % n;
  };
}

/** Noise, saturated or checkerboard pixels (bicubic's negative lobes clip at 0 and 255 on the last two). */
function image(h: number, w: number, c: number, kind: number, random: (n: number) => number): Uint8Array {
  return Uint8Array.from({ length: h * w * c }, (_, i) => (kind === 0 ? random(256) : kind === 1 ? 255 : ((i / c) ^ Math.floor(i / c / w)) & 1 ? 255 : 0));
}

/** The window of an `oh x ow x c` image, cut out of it. */
function cut(full: Uint8Array, ow: number, c: number, win: ResizeWindow): Uint8Array {
  const out = new Uint8Array(win.height * win.width * c);
  for (let y = 0; y < win.height; y++) out.set(full.subarray(((win.top + y) * ow + win.left) * c, ((win.top + y) * ow + win.left + win.width) * c), y * win.width * c);
  return out;
}

function expectSameBytes(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) throw new Error(`${what}: first difference at ${i}: got ${got[i]}, want ${want[i]}`);
}

type Resize = (src: Uint8Array, h: number, w: number, c: number, oh: number, ow: number, win: ResizeWindow, filter: PillowFilter) => Uint8Array;

/** Both engines, each called directly (`pillowResizeWindow` takes the SIMD one where it runs, as here). */
const ENGINES: Record<string, Resize> = {
  'WebAssembly SIMD': (...args) => simdResizeWindow(...args) ?? expect.fail('the SIMD kernels do not run'),
  JavaScript: jsResizeWindow,
};

describe('pillowResizeWindow equals the whole resize with the window cut out', () => {
  it('runs the WebAssembly SIMD kernels on Node', () => expect(simdAvailable()).toBe(true));

  for (const [engine, resize] of Object.entries(ENGINES)) {
    for (const filter of ['bilinear', 'bicubic'] as const) {
      it(`${engine}: random sizes, windows and images, 1-4 channels, shrinking up to 9x and enlarging (${filter})`, () => {
        const random = seeded(filter === 'bilinear' ? 7 : 11);
        for (let trial = 0; trial < 120; trial++) {
          const c = 1 + (trial % 4);
          const h = 1 + random(70);
          const w = 1 + random(70);
          // one pass only: every fourth trial keeps the height, another fourth the width
          const oh = trial % 4 === 1 ? h : 1 + random(trial % 3 === 0 ? 12 : 100);
          const ow = trial % 4 === 3 ? w : 1 + random(trial % 3 === 1 ? 12 : 100);
          if (oh === h && ow === w) continue;
          const top = random(oh);
          const left = random(ow);
          const win = { top, left, height: 1 + random(oh - top), width: 1 + random(ow - left) };
          const src = image(h, w, c, trial % 3, random);
          const what = `${h}x${w}x${c} -> ${oh}x${ow}, window ${win.height}x${win.width} at (${top}, ${left})`;
          expectSameBytes(resize(src, h, w, c, oh, ow, win, filter), cut(pillowReference(src, h, w, c, oh, ow, filter), ow, c, win), what);
        }
      });
    }
  }

  it('ImageNet-size images: 500 x 375 (and 375 x 500) to a shorter side of 256, the 224 x 224 centre, both engines', () => {
    const random = seeded(5);
    for (const [h, w, oh, ow, top, left] of [
      [375, 500, 256, 341, 16, 58],
      [500, 375, 341, 256, 58, 16],
    ] as const) {
      const src = image(h, w, 3, 0, random);
      const want = cut(pillowReference(src, h, w, 3, oh, ow, 'bilinear'), ow, 3, { top, left, height: 224, width: 224 });
      for (const [engine, resize] of Object.entries(ENGINES)) expectSameBytes(resize(src, h, w, 3, oh, ow, { top, left, height: 224, width: 224 }, 'bilinear'), want, `${engine} ${h}x${w}`);
    }
  });

  it('the whole window is pillowResize; the corners and single pixels are exact', () => {
    const random = seeded(3);
    const src = image(37, 53, 3, 0, random);
    const full = pillowReference(src, 37, 53, 3, 19, 26, 'bilinear');
    expectSameBytes(pillowResize(src, 37, 53, 3, 19, 26), full, 'whole');
    for (const win of [
      { top: 0, left: 0, height: 1, width: 1 },
      { top: 18, left: 25, height: 1, width: 1 },
      { top: 18, left: 0, height: 1, width: 26 },
      { top: 0, left: 25, height: 19, width: 1 },
    ]) {
      expectSameBytes(pillowResizeWindow(src, 37, 53, 3, 19, 26, win), cut(full, 26, 3, win), JSON.stringify(win));
    }
  });

  it('the module is encoded with LEB128 numbers', () => {
    // the examples of the format's definition, and the edges of a byte
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect([uleb(0), uleb(127), uleb(128), sleb(63), sleb(64), sleb(-64), sleb(-65)]).toEqual([[0], [0x7f], [0x80, 0x01], [0x3f], [0xc0, 0x00], [0x40], [0xbf, 0x7f]]);
  });

  it('rejects a window outside the output', () => {
    const src = new Uint8Array(4 * 5 * 3);
    for (const win of [
      { top: -1, left: 0, height: 2, width: 2 },
      { top: 0, left: 0, height: 0, width: 2 },
      { top: 1, left: 0, height: 3, width: 2 },
      { top: 0, left: 1, height: 2, width: 5 },
      { top: 0.5, left: 0, height: 2, width: 2 },
    ]) {
      expect(() => pillowResizeWindow(src, 4, 5, 3, 3, 5, win), JSON.stringify(win)).toThrow(RangeError);
    }
  });
});

/** The brute-force batch of one `h x w x c` HWC image: whole resize, crop (zero padding), conversion, normalisation. */
function bruteForceSample(src: Uint8Array, h: number, w: number, c: number, options: PreprocessOptions, filter: PillowFilter): Float32Array {
  const plan = resolvePreprocess(options, [c, h, w], true, true);
  const [rh, rw] = resizedSize(h, w, plan.resize);
  const resized = rh === h && rw === w ? src : pillowReference(src, h, w, c, rh, rw, filter);
  const [top, left] = plan.crop ? centerCropOffset(rh, rw, plan.crop) : [0, 0];
  const { channels: C, height: H, width: W } = plan;
  const out = new Float32Array(C * H * W);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const sy = y + top;
      const sx = x + left;
      const inside = sy >= 0 && sy < rh && sx >= 0 && sx < rw;
      const at = (k: number) => resized[(sy * rw + sx) * c + k]!;
      for (let ch = 0; ch < C; ch++) {
        const v = !inside ? 0 : C === c ? at(ch) : C === 1 ? 0.299 * at(0) + 0.587 * at(1) + 0.114 * at(2) : at(0);
        out[plan.layout === 'NCHW' ? (ch * H + y) * W + x : (y * W + x) * C + ch] = v * (plan.scale / plan.std[ch]!) + -plan.mean[ch]! / plan.std[ch]!;
      }
    }
  }
  return out;
}

describe('resize + centre crop computes only the crop, with the same batch values', () => {
  const cases: { name: string; h: number; w: number; c: number; options: PreprocessOptions }[] = [
    { name: 'ImageNet-style shrink of an odd size', h: 75, w: 101, c: 3, options: { resize: 32, centerCrop: 28, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } },
    { name: 'enlarge, NHWC, bicubic', h: 13, w: 9, c: 3, options: { resize: 30, centerCrop: [21, 17], layout: 'NHWC', kernel: 'pil-bicubic', mean: 0.5, std: 0.25 } },
    { name: 'grey to RGB', h: 40, w: 33, c: 1, options: { resize: 20, centerCrop: 15, channels: 3 } },
    { name: 'RGB to grey', h: 31, w: 47, c: 3, options: { resize: 24, centerCrop: [20, 23], channels: 1 } },
    { name: 'four channels, crop touching the edges', h: 29, w: 29, c: 4, options: { resize: 16, centerCrop: [16, 9] } },
    { name: 'crop larger than the image (padding: the whole image is resized)', h: 20, w: 30, c: 3, options: { resize: 12, centerCrop: [14, 10] } },
    { name: 'crop of the resized size', h: 20, w: 30, c: 3, options: { resize: [12, 18], centerCrop: [12, 18] } },
    { name: 'exact size without a crop', h: 20, w: 30, c: 3, options: { resize: [11, 7] } },
  ];
  for (const { name, h, w, c, options } of cases) {
    it(name, () => {
      const filter: PillowFilter = options.kernel === 'pil-bicubic' ? 'bicubic' : 'bilinear';
      const src = image(h, w, c, 0, seeded(h * 100 + w));
      const plan = resolvePreprocess(options, [c, h, w], true, true);
      const resized = resizePixels({ data: src, channels: c, height: h, width: w, layout: 'HWC' }, plan);
      const [rh, rw] = resizedSize(h, w, plan.resize);
      expect([resized.height, resized.width]).toEqual([rh, rw]);
      const sample = plan.channels * plan.height * plan.width;
      const out = new Float32Array(2 * sample);
      writeSample(plan, resized, out, 1);
      expect(out.subarray(0, sample).every((v) => v === 0)).toBe(true);
      expect(Array.from(out.subarray(sample))).toEqual(Array.from(bruteForceSample(src, h, w, c, options, filter)));
      const cropInside = plan.crop !== undefined && !(plan.crop[0] === rh && plan.crop[1] === rw) && plan.crop[0] <= rh && plan.crop[1] <= rw;
      expect(resized.window !== undefined, 'only the crop is computed').toBe(cropInside);
    });
  }
});
