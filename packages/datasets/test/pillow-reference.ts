/** A brute-force transcription of Pillow's resampling, the reference of the resize tests. */
import type { PillowFilter } from '../src/pillow-resize.js';

/**
 * Pillow's `ImagingResample` for 8-bit images written out directly (`precompute_coeffs`, `normalize_coeffs_8bpc`,
 * then one sum per output value, horizontal pass first over the rows the vertical pass reads), against which the
 * optimised passes of `pillowResize` are checked on random images.
 */
export function pillowReference(src: Uint8Array, h: number, w: number, c: number, oh: number, ow: number, filter: PillowFilter): Uint8Array {
  const support1 = filter === 'bilinear' ? 1 : 2;
  const kernel = (t: number) => (filter === 'bilinear' ? (t < 1 ? 1 - t : 0) : t < 1 ? (1.5 * t - 2.5) * t * t + 1 : t < 2 ? (((t - 5) * t + 8) * t - 4) * -0.5 : 0);
  const coeffs = (inSize: number, outSize: number) => {
    const scale = inSize / outSize;
    const fs = Math.max(scale, 1);
    const support = support1 * fs;
    return Array.from({ length: outSize }, (_, xx) => {
      const center = (xx + 0.5) * scale;
      const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
      const n = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
      const k = Array.from({ length: n }, (_, x) => kernel(Math.abs((x + xmin - center + 0.5) / fs)));
      const total = k.reduce((a, b) => a + b, 0);
      return { xmin, weights: k.map((v) => { const u = total !== 0 ? v / total : v; return Math.trunc(u < 0 ? -0.5 + u * 2 ** 22 : 0.5 + u * 2 ** 22); }) };
    });
  };
  const clip = (s: number) => Math.min(255, Math.max(0, s >> 22));
  const vertical = coeffs(h, oh);
  let image = src;
  let rows = h;
  let offset = 0;
  if (ow !== w) {
    const horizontal = coeffs(w, ow);
    offset = oh !== h ? vertical[0]!.xmin : 0;
    rows = oh !== h ? vertical[oh - 1]!.xmin + vertical[oh - 1]!.weights.length - offset : h;
    const out = new Uint8Array(rows * ow * c);
    for (let y = 0; y < rows; y++) for (let xx = 0; xx < ow; xx++) for (let ch = 0; ch < c; ch++) {
      const { xmin, weights } = horizontal[xx]!;
      out[(y * ow + xx) * c + ch] = clip(weights.reduce((s, wt, x) => s + src[((y + offset) * w + xmin + x) * c + ch]! * wt, 2 ** 21));
    }
    image = out;
  }
  if (oh === h) return image;
  const width = ow;
  const out = new Uint8Array(oh * width * c);
  for (let yy = 0; yy < oh; yy++) for (let i = 0; i < width * c; i++) {
    const { xmin, weights } = vertical[yy]!;
    out[yy * width * c + i] = clip(weights.reduce((s, wt, y) => s + image[(xmin - offset + y) * width * c + i]! * wt, 2 ** 21));
  }
  return out;
}
