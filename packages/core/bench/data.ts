/**
 * Synthetic ImageNet-shaped data for the core benchmark: a `C x D` linear head and ReLU feature
 * matrices with a little class structure (so ID and OOD scores differ), from a seeded PRNG.
 */
import { linearHead, type LinearHead } from '../src/head.js';
import { mulberry32 } from '../src/random.js';
import type { Matrix } from '../src/matrix.js';

/** Shapes and seed of {@link generateBenchData}. */
export interface BenchDataOptions {
  /** Classes `C`. Default 1000 (ImageNet). */
  classes?: number;
  /** Feature dimension `D`. Default 2048 (ResNet-50 penultimate layer). */
  dim?: number;
  /** Training samples for the sensitivity step. Default 20,000. */
  trainSamples?: number;
  /** ID evaluation samples. Default 10,000. */
  idSamples?: number;
  /** OOD evaluation samples. Default 10,000. */
  oodSamples?: number;
  /** PRNG seed. Default 2023. */
  seed?: number;
}

/** The generated benchmark data. */
export interface BenchData {
  /** Head `W [C x D]` (gaussian * 0.02 plus a small class-prototype component), `b [C]` (gaussian * 0.01). */
  head: LinearHead;
  /** Training features `[N_train x D]`: `relu(gaussian + 0.5 * prototype_y)`. */
  train: Matrix;
  /** ID evaluation features `[N_id x D]`, same distribution as `train`. */
  id: Matrix;
  /** OOD evaluation features `[N_ood x D]`: `0.9 * relu(gaussian)` (no class prototype). */
  ood: Matrix;
}

/** Standard normal samples from a uniform PRNG (Box-Muller, both outputs used). */
function gaussianSource(random: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - random()));
    const theta = 2 * Math.PI * random();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
}

/** Generates the head and the feature matrices (deterministic for a seed). */
export function generateBenchData(options: BenchDataOptions = {}): BenchData {
  const C = options.classes ?? 1000;
  const D = options.dim ?? 2048;
  const gauss = gaussianSource(mulberry32(options.seed ?? 2023));
  const prototypes = new Float32Array(C * D);
  for (let i = 0; i < prototypes.length; i++) prototypes[i] = gauss();
  const weight = new Float32Array(C * D);
  for (let i = 0; i < weight.length; i++) weight[i] = 0.02 * gauss() + 0.01 * prototypes[i]!;
  const bias = Float32Array.from({ length: C }, () => 0.01 * gauss());

  function inDistribution(n: number): Matrix {
    const data = new Float32Array(n * D);
    for (let s = 0; s < n; s++) {
      const y = s % C;
      const base = s * D;
      for (let j = 0; j < D; j++) data[base + j] = Math.max(0, gauss() + 0.5 * prototypes[y * D + j]!);
    }
    return { rows: n, cols: D, data };
  }

  function outOfDistribution(n: number): Matrix {
    const data = new Float32Array(n * D);
    for (let i = 0; i < data.length; i++) data[i] = 0.9 * Math.max(0, gauss());
    return { rows: n, cols: D, data };
  }

  return {
    head: linearHead({ rows: C, cols: D, data: weight }, bias),
    train: inDistribution(options.trainSamples ?? 20_000),
    id: inDistribution(options.idSamples ?? 10_000),
    ood: outOfDistribution(options.oodSamples ?? 10_000),
  };
}
