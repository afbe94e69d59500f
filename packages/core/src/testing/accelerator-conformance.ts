/**
 * The accelerator part of `describeGemmKernelConformance`: each operation of `KernelAccelerators` the kernel has,
 * against the brute-force float64 definitions of `accelerator-reference.ts`.
 */
import { expect } from 'vitest';
import { BANDED_GRID_MIN_LOG_SUM, type BandedGridParts, type BandedGridShape, type KernelAccelerators } from '../kernel-accelerators.js';
import type { Matrix } from '../matrix.js';
import { mulberry32 } from '../random.js';
import { bandedShift, refBandedGridLogSumExp, refSoftmaxTransposedProduct, splitBandedParts } from './accelerator-reference.js';
import type { KernelSuite } from './gemm-kernel-conformance.js';
import { describeFloat64Product } from './float64-product-conformance.js';
import { randomMatrix } from './reference.js';

/** Registers the `softmaxTransposedProduct`, `bandedGridLogSumExp` and `float64Product` tests. */
export function describeAcceleratorConformance(suite: KernelSuite): void {
  describeSoftmaxTransposedProduct(suite);
  describeBandedGridLogSumExp(suite);
  describeFloat64Product(suite);
}

/**
 * Calls `softmaxTransposedProduct` and checks it against the definition: `|got - want| <= 2u (N + C + 112) sum_n p |h|`
 * (float32 sums over rows and classes, exponentials of arguments up to ~100) plus a denormal-sized absolute term.
 */
async function checkSoftmaxProduct(product: KernelAccelerators['softmaxTransposedProduct'], L: Matrix, H: Matrix, T: number, absolute: boolean, u: number, what: string): Promise<void> {
  const [lCopy, hCopy] = [L.data.slice(), H.data.slice()];
  const got = await product(L, H, { temperature: T, absolute });
  expect(`${got.rows} x ${got.cols}`, `${what}: shape`).toBe(`${L.cols} x ${H.cols}`);
  if (got.knownFinite === true) expect(got.data.every((v) => Number.isFinite(v)), `${what}: knownFinite with a non-finite entry`).toBe(true);
  const { value, magnitude } = refSoftmaxTransposedProduct(L, H, T, absolute);
  const hMax = H.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  for (let i = 0; i < value.length; i++) {
    const bound = 2 * u * (L.rows + L.cols + 112) * magnitude[i]! + L.rows * 2 ** -120 * hMax;
    if (!(Math.abs(got.data[i]! - value[i]!) <= bound)) expect.fail(`${what}: entry ${i}: got ${got.data[i]}, expected ${value[i]} (bound ${bound})`);
  }
  expect(Array.from(L.data), `${what}: logits unmodified`).toEqual(Array.from(lCopy));
  expect(Array.from(H.data), `${what}: features unmodified`).toEqual(Array.from(hCopy));
}

function describeSoftmaxTransposedProduct({ test, accelerator, u }: KernelSuite): void {
  test('softmaxTransposedProduct', 'softmaxTransposedProduct: softmax(L / T)^T op(H) from its definition, ties, logits of +-1000, empty inputs', async (context) => {
    const product = accelerator('softmaxTransposedProduct', context);
    const random = mulberry32(21);
    for (const [T, absolute] of [[1, true], [2, true], [0.5, false], [1.5, true]] as const) {
      const L = randomMatrix(37, 9, random, (x) => (x - 0.5) * 20);
      await checkSoftmaxProduct(product, L, randomMatrix(37, 13, random), T, absolute, u, `T=${T} absolute=${absolute}`);
    }
    // Ties (uniform and two-way) and logits of +-1000 (probabilities of exactly 0, 1/2 and 1).
    const ties: Matrix = { rows: 4, cols: 3, data: Float32Array.of(5, 5, 5, 1000, 1000, -1000, -1000, -1000, -1000, 1000, -1000, 0) };
    for (const T of [1, 2]) await checkSoftmaxProduct(product, ties, randomMatrix(4, 6, random), T, T === 1, u, `ties, +-1000, T=${T}`);
    const extreme = randomMatrix(16, 5, random, (x) => (x < 0.5 ? -1000 : 1000) * (0.5 + x));
    await checkSoftmaxProduct(product, extreme, randomMatrix(16, 7, random), 1, true, u, 'random logits of magnitude ~1000');
    // Empty inputs: no rows gives zeros; no classes or no features an empty product.
    for (const [n, c, d] of [[0, 4, 3], [5, 0, 3], [5, 4, 0], [0, 0, 0]] as const) {
      const got = await product(randomMatrix(n, c, random), randomMatrix(n, d, random), { temperature: 1, absolute: true });
      expect([got.rows, got.cols, ...got.data], `empty ${n} x ${c} x ${d}`).toEqual([c, d, ...new Array<number>(c * d).fill(0)]);
    }
    // A NaN or +Infinity in either input makes the product non-finite (SensitivityAccumulator relies on it), and a
    // kernel that reports knownFinite must not report it then.
    for (const [input, value] of [['features', NaN], ['features', Infinity], ['logits', NaN], ['logits', Infinity]] as const) {
      for (const absolute of [true, false]) {
        const L = randomMatrix(6, 4, random);
        const H = randomMatrix(6, 5, random);
        (input === 'logits' ? L : H).data[input === 'logits' ? 2 * 4 + 1 : 3 * 5 + 2] = value;
        const got = await product(L, H, { temperature: 1, absolute });
        expect(got.data.some((v) => !Number.isFinite(v)), `${value} in the ${input} (absolute=${absolute})`).toBe(true);
        expect(got.knownFinite, `${value} in the ${input} (absolute=${absolute}): knownFinite`).not.toBe(true);
      }
    }
    // Finite entries whose float32 sum overflows: still finite entries (a kernel may then report knownFinite false).
    const huge = await product(randomMatrix(1, 2, random), { rows: 1, cols: 4, data: new Float32Array(4).fill(3e38) }, { temperature: 1, absolute: true });
    expect(huge.data.every((v) => Number.isFinite(v)), 'entries of 3e38').toBe(true);
  });
}

/** Random parts of a banded shape, values from `f(uniform)` (drawn row by row, each row's low entries then its high ones). */
function bandedParts(shape: BandedGridShape, random: () => number, f: (x: number) => number): BandedGridParts {
  return splitBandedParts(stackedParts(shape, random, f), shape);
}

/** Random parts stacked per row (`[rows x (weightLow + weightHigh) x classes]` each), values from `f(uniform)`. */
function stackedParts(shape: BandedGridShape, random: () => number, f: (x: number) => number): Float32Array[] {
  const S = shape.weightLow + shape.weightHigh;
  return Array.from({ length: shape.neuronLow + shape.neuronHigh }, () => Float32Array.from({ length: shape.rows * S * shape.classes }, () => f(random())));
}

/**
 * Calls `bandedGridLogSumExp` and checks every combination whose `logSum` the grid search would take (finite and at
 * least `BANDED_GRID_MIN_LOG_SUM`; all of them when `requireAll`) against the definition, within
 * `2u (terms + C + 8) (1 + magnitude)` (float32 sums of `terms` partial logits, shifts and the sum over classes).
 */
async function checkBanded(
  scorer: KernelAccelerators['bandedGridLogSumExp'],
  parts: BandedGridParts,
  shape: BandedGridShape,
  bias: Float32Array,
  u: number,
  requireAll: boolean,
  what: string,
): Promise<void> {
  const copies = [...parts.low, ...parts.high].map((p) => p.slice());
  const { logSum, shifts } = await scorer(parts, shape, bias);
  const { rows: R, weightLow: wL, weightHigh: wH, neuronLow: nL, neuronHigh: nH } = shape;
  const combos = wL * (wH + 1) * (nH + 1) * nL;
  expect([logSum.length, shifts.length], `${what}: result lengths`).toEqual([R * combos, R * 4]);
  const { value, magnitude } = refBandedGridLogSumExp(parts, shape, bias);
  const terms = 1 + 2 * (nL + nH);
  for (let r = 0; r < R; r++) {
    let g = 0;
    for (let a = 0; a < wL; a++) for (let b = 0; b <= wH; b++) for (let bn = 0; bn <= nH; bn++) for (let an = 0; an < nL; an++, g++) {
      const v = logSum[r * combos + g]!;
      const taken = v >= BANDED_GRID_MIN_LOG_SUM && v < Infinity;
      if (!taken && requireAll) expect.fail(`${what}: row ${r}, combination ${g}: logSum ${v} would be re-scored (needs a finite value >= ${BANDED_GRID_MIN_LOG_SUM})`);
      if (!taken) continue;
      const got = v + bandedShift(shifts.subarray(r * 4, r * 4 + 4), b, bn, shape);
      const want = value[r * combos + g]!;
      const bound = 2 * u * (terms + shape.classes + 8) * (1 + magnitude[r * combos + g]!);
      if (!(Math.abs(got - want) <= bound)) expect.fail(`${what}: row ${r}, (a, b, an, bn) = (${a}, ${b}, ${an}, ${bn}): got ${got}, expected ${want} (bound ${bound})`);
    }
  }
  [...parts.low, ...parts.high].forEach((p, k) => expect(Array.from(p), `${what}: input array ${k} unmodified`).toEqual(Array.from(copies[k]!)));
}

/** Level structures `(weightLow, weightHigh, neuronLow, neuronHigh)`: the default grid's, and degenerate ones. */
const BANDED_LEVELS: readonly (readonly [number, number, number, number])[] = [[4, 3, 3, 3], [1, 0, 1, 0], [2, 0, 3, 2], [3, 2, 1, 0], [1, 1, 2, 1]];

function describeBandedGridLogSumExp({ test, accelerator, u }: KernelSuite): void {
  test('bandedGridLogSumExp', 'bandedGridLogSumExp: log-sum-exp of every level combination from BandedGridShape, ties, logits of +-1000, no rows', async (context) => {
    const scorer = accelerator('bandedGridLogSumExp', context);
    const random = mulberry32(31);
    for (const [weightLow, weightHigh, neuronLow, neuronHigh] of BANDED_LEVELS) {
      for (const classes of [11, 1]) {
        const shape = { rows: 13, classes, weightLow, weightHigh, neuronLow, neuronHigh };
        const what = `levels ${weightLow},${weightHigh},${neuronLow},${neuronHigh}, ${classes} classes`;
        // Parts in [-0.5, 0.5) and a bias in [-1, 1): a kernel that shifts each group by its maximum keeps every
        // logSum above -14, so all of them must be usable (none left to re-scoring).
        const small = Float32Array.from({ length: classes }, () => random() * 2 - 1);
        await checkBanded(scorer, bandedParts(shape, random, (x) => x - 0.5), shape, small, u, true, `${what}, small logits`);
        const bias = Float32Array.from({ length: classes }, () => random() * 10 - 5);
        await checkBanded(scorer, bandedParts(shape, random, (x) => x * 6 - 3), shape, bias, u, false, what);
      }
    }
    // Ties: every class equal (each term +-1000) and one level per group, so every factor is exactly 1 and every
    // combination's logSum is log C (usable however far apart the groups are).
    const tied = { rows: 3, classes: 5, weightLow: 1, weightHigh: 1, neuronLow: 1, neuronHigh: 1 };
    const tiedStacked = stackedParts({ ...tied, classes: 1 }, random, (x) => (x < 0.5 ? -1000 : 1000)).map((p) => Float32Array.from({ length: p.length * 5 }, (_, i) => p[Math.floor(i / 5)]!));
    const tiedParts = splitBandedParts(tiedStacked, tied);
    await checkBanded(scorer, tiedParts, tied, new Float32Array(5).fill(1000), u, true, 'ties at +-1000');
    // Random logits of +-1000: combinations far below their group maxima may be left to exact re-scoring.
    const extreme = { rows: 6, classes: 7, weightLow: 4, weightHigh: 3, neuronLow: 3, neuronHigh: 3 };
    await checkBanded(scorer, bandedParts(extreme, random, (x) => (x * 2 - 1) * 1000), extreme, Float32Array.from({ length: 7 }, () => random() * 2000 - 1000), u, false, 'logits of +-1000');
    // No rows.
    const empty = await scorer(bandedParts({ ...extreme, rows: 0 }, random, (x) => x), { ...extreme, rows: 0 }, new Float32Array(7));
    expect([empty.logSum.length, empty.shifts.length], 'no rows').toEqual([0, 0]);
  });
}
