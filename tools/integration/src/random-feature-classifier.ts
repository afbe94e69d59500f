/**
 * A small classifier fitted in closed form, so the real-data tests need no model file:
 * random ReLU features `h = relu(P x)` (`P [D x I]`, seeded Gaussian) and a ridge-regression head on
 * one-hot targets, whose logits are then scaled by the factor that minimises the training
 * cross-entropy (so softmax and energy behave like a trained network's).
 */
import { gemmSync, linearHead, matrix, OpnpError, type LinearHead, type Matrix } from '@opnp/core';

/** The fitted classifier: projection `P [D x I]` and head `W [C x D]`, `b [C]`. */
export interface RandomFeatureClassifier {
  readonly projection: Matrix;
  readonly head: LinearHead;
}

/** Options of {@link fitRandomFeatureClassifier}. */
export interface RandomFeatureClassifierOptions {
  /** Number of random features `D` (default 512). */
  features?: number;
  /** Ridge penalty per sample (default 1e-3, i.e. `lambda = 1e-3 * N`). */
  ridge?: number;
  /** PRNG seed of the projection (default 0). */
  seed?: number;
}

function gaussian(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Solves `A X = B` for symmetric positive definite `A [n x n]` and `B [n x m]` (float64, Cholesky). */
function choleskySolve(A: Float64Array, B: Float64Array, n: number, m: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j]!;
      for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!;
      if (i === j) {
        if (!(s > 0)) throw new OpnpError('INVALID_ARGUMENT', 'Ridge system is not positive definite; increase the ridge penalty');
        L[i * n + i] = Math.sqrt(s);
      } else L[i * n + j] = s / L[j * n + j]!;
    }
  }
  const X = Float64Array.from(B);
  for (let c = 0; c < m; c++) {
    for (let i = 0; i < n; i++) {
      let s = X[i * m + c]!;
      for (let k = 0; k < i; k++) s -= L[i * n + k]! * X[k * m + c]!;
      X[i * m + c] = s / L[i * n + i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = X[i * m + c]!;
      for (let k = i + 1; k < n; k++) s -= L[k * n + i]! * X[k * m + c]!;
      X[i * m + c] = s / L[i * n + i]!;
    }
  }
  return X;
}

/** Mean softmax cross-entropy of `scale * logits [N x C]` against `labels`. */
function crossEntropy(logits: Float64Array, labels: ArrayLike<number>, N: number, C: number, scale: number): number {
  let total = 0;
  for (let n = 0; n < N; n++) {
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, scale * logits[n * C + c]!);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(scale * logits[n * C + c]! - max);
    total += max + Math.log(sum) - scale * logits[n * C + labels[n]!]!;
  }
  return total / N;
}

/** Random ReLU features `relu(X P^T)` of inputs `X [N x I]`: `[N x D]`. */
export function randomReluFeatures(projection: Matrix, inputs: Matrix): Matrix {
  const h = gemmSync(inputs, projection, { transB: true });
  for (let i = 0; i < h.data.length; i++) if (h.data[i]! < 0) h.data[i] = 0;
  return h;
}

/**
 * Fits the classifier on `inputs [N x I]` with integer `labels` in `[0, classes)`.
 *
 * @example
 * ```ts
 * const { projection, head } = fitRandomFeatureClassifier(trainImages, trainLabels, 10);
 * const extractor = createLinearFeatureExtractor({ projection, head, input: { name: 'x', shape: [null, 784], layout: 'flat' } });
 * ```
 */
export function fitRandomFeatureClassifier(
  inputs: Matrix,
  labels: ArrayLike<number>,
  classes: number,
  options: RandomFeatureClassifierOptions = {},
): RandomFeatureClassifier {
  const D = options.features ?? 512;
  const N = inputs.rows;
  const I = inputs.cols;
  if (labels.length !== N) throw new OpnpError('SHAPE_MISMATCH', 'One label per input row is needed', { expected: N, actual: labels.length });
  const next = gaussian(options.seed ?? 0);
  const projection = matrix(D, I, Float32Array.from({ length: D * I }, () => next() / Math.sqrt(I)));
  const H = randomReluFeatures(projection, inputs);
  // Normal equations of ridge regression on [h, 1] with one-hot targets, in float64.
  const n = D + 1;
  const G = new Float64Array(n * n);
  const B = new Float64Array(n * classes);
  const a = new Float64Array(n);
  for (let s = 0; s < N; s++) {
    for (let j = 0; j < D; j++) a[j] = H.data[s * D + j]!;
    a[D] = 1;
    for (let i = 0; i < n; i++) {
      const ai = a[i]!;
      if (ai === 0) continue;
      const row = i * n;
      for (let j = i; j < n; j++) G[row + j] = G[row + j]! + ai * a[j]!;
      B[i * classes + labels[s]!] = B[i * classes + labels[s]!]! + ai;
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) G[i * n + j] = G[j * n + i]!;
  const lambda = (options.ridge ?? 1e-3) * N;
  for (let i = 0; i < D; i++) G[i * n + i] = G[i * n + i]! + lambda;
  const theta = choleskySolve(G, B, n, classes); // [n x C]
  // Scale the logits to minimise the training cross-entropy (golden-section search on log scale).
  const raw = new Float64Array(N * classes);
  for (let s = 0; s < N; s++) {
    for (let c = 0; c < classes; c++) {
      let f = theta[D * classes + c]!;
      for (let j = 0; j < D; j++) f += H.data[s * D + j]! * theta[j * classes + c]!;
      raw[s * classes + c] = f;
    }
  }
  let lo = 0, hi = Math.log(1000);
  const phi = (Math.sqrt(5) - 1) / 2;
  for (let it = 0; it < 40; it++) {
    const m1 = hi - phi * (hi - lo), m2 = lo + phi * (hi - lo);
    if (crossEntropy(raw, labels, N, classes, Math.exp(m1)) < crossEntropy(raw, labels, N, classes, Math.exp(m2))) hi = m2;
    else lo = m1;
  }
  const scale = Math.exp((lo + hi) / 2);
  const W = new Float32Array(classes * D);
  const b = new Float32Array(classes);
  for (let c = 0; c < classes; c++) {
    for (let j = 0; j < D; j++) W[c * D + j] = scale * theta[j * classes + c]!;
    b[c] = scale * theta[D * classes + c]!;
  }
  return { projection, head: linearHead(matrix(classes, D, W), b) };
}
