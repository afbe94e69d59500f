/** Shared test helpers: seeded data, comparisons, tiny models. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** Deterministic uniform values in [-1, 1). */
export function seeded(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (s ^ (s << 13)) >>> 0;
    s = (s ^ (s >>> 17)) >>> 0;
    s = (s ^ (s << 5)) >>> 0;
    out[i] = (s / 0x100000000) * 2 - 1;
  }
  return out;
}

/** First index where |a - b| > atol + rtol |b|, as a readable string; undefined if all close. */
export function firstMismatch(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol = 0): string | undefined {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i]! - b[i]!) <= atol + rtol * Math.abs(b[i]!))) return `index ${i}: ${a[i]} vs ${b[i]}`;
  }
  return undefined;
}

/** Brute-force `H W^T + b` in float64. `W` is C x D row-major. */
export function bruteLogits(h: ArrayLike<number>, N: number, W: ArrayLike<number>, b: ArrayLike<number>, C: number, D: number): Float64Array {
  const out = new Float64Array(N * C);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
    let s = b[c]!;
    for (let j = 0; j < D; j++) s += W[c * D + j]! * h[n * D + j]!;
    out[n * C + c] = s;
  }
  return out;
}

/** Brute-force energy `T log sum exp(f / T)` per row (float64, max-shifted). */
export function bruteEnergy(f: ArrayLike<number>, N: number, C: number, T = 1): Float64Array {
  const out = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, f[n * C + c]! / T);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(f[n * C + c]! / T - m);
    out[n] = T * (m + Math.log(s));
  }
  return out;
}

/** A temporary folder removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'opnp-tfjs-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
