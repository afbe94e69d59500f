/**
 * OPNP step 1: parameter sensitivity of the last fully connected layer (paper Eq. 6).
 *
 * For a linear head `f = W h + b` and the energy score `S = T logsumexp(f / T)`, `dS/dW_cj = p_c(T) h_j`,
 * so `s_cj = (1/N) sum_n p_c(x_n; T) |h_j(x_n)|` exactly. Over a batch this is one matrix product
 * `P^T |H|` (`C x N` times `N x D`), computed by a {@link GemmKernel} in float32 (fused with the softmax when the
 * kernel has the `softmaxTransposedProduct` accelerator) and accumulated across batches in float64.
 */
import { OpnpError } from '../errors.js';
import { SerialQueue } from '../internal/serial-queue.js';
import { addProducts, allFinite } from '../internal/product-sums.js';
import { gemm, portableGemmKernel, type GemmKernel } from '../gemm.js';
import { kernelAccelerator, type KernelAccelerators } from '../kernel-accelerators.js';
import { assertFeaturesMatchHead, assertHead, logitsWith, type LinearHead } from '../head.js';
import { assertMatrix, sliceRows, type Matrix } from '../matrix.js';

/** How per-sample gradients are aggregated: `'sum-of-abs'` (paper, default) or `'abs-of-sum'`. */
export type SensitivityAggregation = 'sum-of-abs' | 'abs-of-sum';

/** Options of {@link SensitivityAccumulator} and {@link computeSensitivity}. */
export interface SensitivityOptions {
  /** Softmax temperature `T > 0` of the energy score. Default 1. */
  temperature?: number;
  /**
   * `'sum-of-abs'` (default): `s_cj = (1/N) sum_n p_c |h_j|`. `'abs-of-sum'`: `|(1/N) sum_n p_c h_j|`;
   * equal to the default whenever all features are non-negative (ReLU), different for signed features.
   */
  aggregation?: SensitivityAggregation;
  /**
   * Kernel for the products `P^T |H|` (and `H W^T` when logits are not given). Default: the portable
   * kernel; pass `await resolveGemmKernel()` for the fastest registered one.
   */
  kernel?: GemmKernel;
}

/** The serialisable state of a {@link SensitivityAccumulator}: plain data, for checkpoints and shards. */
export interface SensitivityState {
  /** Number of classes `C`. */
  classes: number;
  /** Feature dimension `D`. */
  dim: number;
  /** Number of samples accumulated `N`. */
  count: number;
  temperature: number;
  aggregation: SensitivityAggregation;
  /** `C x D` row-major float64 sums `sum_n p_c |h_j|` (or `sum_n p_c h_j` for `'abs-of-sum'`). */
  sum: Float64Array;
}

/** Parameter sensitivity `s [C x D]` (row-major, float64) over `count` samples. */
export interface ParameterSensitivity {
  /** Number of classes `C` (rows). */
  classes: number;
  /** Feature dimension `D` (columns). */
  dim: number;
  /** Number of samples `N` the sensitivity was averaged over. */
  count: number;
  /** `C x D` row-major: `s_cj = (1/N) sum_n p_c |h_j|` (or `|(1/N) sum_n p_c h_j|`). */
  values: Float64Array;
}

const AGGREGATIONS: readonly SensitivityAggregation[] = ['sum-of-abs', 'abs-of-sum'];

/** Rows per internal GEMM: bounds the temporary `P` and `|H|` copies and the float32 accumulation length. */
const CHUNK_ROWS = 4096;

/**
 * Bytes of `C x D` float32 products held before they are added into the float64 sums. Adding them together
 * (`addProducts`, four per pass over the sums) halves the JavaScript work per product, which dominates small batches
 * (256 rows: about a third of the time); 64 MiB = 8 products of an ImageNet head (`C x D` = 1000 x 2048).
 */
const PENDING_BYTES = 64 * 2 ** 20;

function checkTemperature(temperature: number): void {
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature <= 0) {
    throw new OpnpError('INVALID_ARGUMENT', 'Sensitivity temperature must be a finite number > 0', {
      expected: 'T > 0',
      actual: temperature,
    });
  }
}

function checkAggregation(aggregation: string): asserts aggregation is SensitivityAggregation {
  if (!AGGREGATIONS.includes(aggregation as SensitivityAggregation)) {
    throw new OpnpError('INVALID_ARGUMENT', 'Unknown sensitivity aggregation', {
      expected: AGGREGATIONS.join(' | '),
      actual: aggregation,
    });
  }
}

/**
 * Throws `NON_FINITE` naming the first row of `m` (a batch) with a NaN or infinite entry; returns
 * whether any entry is negative. Fast path: `x * 0` is `0` for finite `x` and NaN otherwise.
 */
function scanFinite(m: Matrix, name: string, firstSample: number): { negative: boolean } {
  const { rows, cols, data } = m;
  let negative = false;
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    const end = base + cols;
    let probe = 0;
    let min = 0;
    for (let k = base; k < end; k++) {
      const v = data[k]!;
      probe += v * 0;
      if (v < min) min = v;
    }
    if (min < 0) negative = true;
    if (probe !== 0) {
      for (let j = 0; j < cols; j++) {
        const v = data[base + j]!;
        if (!Number.isFinite(v)) {
          throw new OpnpError('NON_FINITE', `${name} contain a non-finite value in batch row ${i}, column ${j}`, {
            actual: v,
            offset: i,
            hint: `That is sample ${firstSample + i} of the accumulation; check the feature extractor's output for that input`,
          });
        }
      }
    }
  }
  return { negative };
}

/**
 * `p [n x C] = softmax(f / T)` row by row, float64 math (`scratch` holds one row of exponentials),
 * rounded once into float32.
 */
function softmaxRows(f: Float32Array, n: number, C: number, T: number, scratch: Float64Array, p: Float32Array): void {
  const invT = 1 / T;
  for (let i = 0; i < n; i++) {
    const base = i * C;
    let max = -Infinity;
    for (let c = 0; c < C; c++) {
      const v = f[base + c]!;
      if (v > max) max = v;
    }
    const shift = max * invT;
    let sum = 0;
    for (let c = 0; c < C; c++) {
      const e = Math.exp(f[base + c]! * invT - shift);
      scratch[c] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let c = 0; c < C; c++) p[base + c] = scratch[c]! * inv;
  }
}

/**
 * Streams batches of features (and optionally their logits) into the OPNP parameter sensitivity
 * `s [C x D]` of a head `W [C x D]`. Sums are float64; accumulators over shards merge by adding.
 *
 * @example
 * ```ts
 * const acc = new SensitivityAccumulator(head, { kernel: await resolveGemmKernel() });
 * for await (const { features, logits } of batches) await acc.add(features, logits);
 * const s = acc.result(); // s.values: C x D
 * ```
 */
export class SensitivityAccumulator {
  /** Number of classes `C`. */
  readonly classes: number;
  /** Feature dimension `D`. */
  readonly dim: number;
  readonly temperature: number;
  readonly aggregation: SensitivityAggregation;
  private readonly head: LinearHead;
  private readonly kernel: GemmKernel;
  private readonly sum: Float64Array;
  /**
   * Validated `C x D` products counted in `samples` but not yet added to `sum`, in order: they are added together
   * ({@link addProducts}) once they hold {@link PENDING_BYTES}, and whenever the sums are read.
   */
  private pending: Float32Array[] = [];
  private pendingBytes = 0;
  private samples = 0;
  /** Reused scratch for `P` and `|H|` of one chunk (grown on demand; kernels are done with inputs once `gemm` resolves). */
  private pScratch = new Float32Array(0);
  private absScratch = new Float32Array(0);
  /** Pending {@link add} calls run one after another (they share the scratch buffers). */
  private readonly queue = new SerialQueue();
  /** {@link add} calls whose promise has not settled yet (reading the sums meanwhile would miss their batches). */
  private unsettledAdds = 0;

  /** @param head the classifier head `W [C x D]`, `b [C]`. */
  constructor(head: LinearHead, options: SensitivityOptions = {}) {
    assertHead(head);
    const temperature = options.temperature ?? 1;
    const aggregation = options.aggregation ?? 'sum-of-abs';
    checkTemperature(temperature);
    checkAggregation(aggregation);
    this.head = head;
    this.classes = head.weight.rows;
    this.dim = head.weight.cols;
    this.temperature = temperature;
    this.aggregation = aggregation;
    this.kernel = options.kernel ?? portableGemmKernel;
    this.sum = new Float64Array(this.classes * this.dim);
  }

  /** Number of samples accumulated so far. */
  get count(): number {
    return this.samples;
  }

  /**
   * Adds a batch. `features [N x D]`; `logits [N x C]` if the extractor already computed them (else
   * they are computed as `H W^T + b` with the accumulator's kernel). Inputs are not modified.
   * Throws `SHAPE_MISMATCH` on wrong shapes and `NON_FINITE` (naming the batch row) on NaN/Inf; a
   * failed batch leaves the accumulator unchanged. Concurrent calls are queued and run in order; await
   * them before {@link SensitivityAccumulator.result}, {@link SensitivityAccumulator.toState} or `merge`
   * (which throw `PENDING_OPERATION` while an `add()` has not settled, instead of silently missing its batch).
   * Each batch's product is added into the float64 sums on its own (so results do not depend on how many batches
   * wait to be added), several batches' products per pass over the sums.
   */
  add(features: Matrix, logits?: Matrix): Promise<void> {
    this.unsettledAdds++;
    return this.queue.run(async () => {
      try {
        await this.addNow(features, logits);
      } finally {
        this.unsettledAdds--;
      }
    });
  }

  /** Throws `PENDING_OPERATION` while an {@link add} has not settled: its batch would silently be missing from `operation`. */
  private assertNoPendingAdds(operation: string): void {
    if (this.unsettledAdds === 0) return;
    const n = this.unsettledAdds;
    const added = `${this.samples} sample${this.samples === 1 ? '' : 's'} added so far`;
    throw new OpnpError('PENDING_OPERATION', `${operation} was called while ${n} add() call${n === 1 ? '' : 's'} on the SensitivityAccumulator ${n === 1 ? 'is' : 'are'} still pending (${added})`, {
      hint: `Await every add() before ${operation} (e.g. \`for (const b of batches) await acc.add(b)\` or \`await Promise.all(adds)\`); otherwise the pending batches would be missing from the result`,
    });
  }

  private async addNow(features: Matrix, logits: Matrix | undefined): Promise<void> {
    assertFeaturesMatchHead(this.head, features);
    if (logits !== undefined) {
      assertMatrix(logits, 'logits');
      if (logits.rows !== features.rows || logits.cols !== this.classes) {
        throw new OpnpError('SHAPE_MISMATCH', 'logits must be N x C for N feature rows and the head\'s C classes', {
          expected: `${features.rows} x ${this.classes}`,
          actual: `${logits.rows} x ${logits.cols}`,
        });
      }
    }
    const fused = kernelAccelerator(this.kernel, 'softmaxTransposedProduct');
    if (fused) return this.addFused(features, logits, fused);
    const { negative } = scanFinite(features, 'features', this.samples);
    if (logits !== undefined) scanFinite(logits, 'logits', this.samples);
    // |H| = H when no feature is negative (ReLU features): no copy needed.
    const takeAbs = this.aggregation === 'sum-of-abs' && negative;
    // Validate everything before accumulating anything, so a failed batch leaves the state unchanged.
    const n = features.rows;
    const parts: Float32Array[] = [];
    for (let start = 0; start < n; start += CHUNK_ROWS) {
      const end = Math.min(n, start + CHUNK_ROWS);
      const h = sliceRows(features, start, end);
      const f = logits !== undefined ? sliceRows(logits, start, end) : await logitsWith(this.kernel, this.head, h);
      if (logits === undefined) scanFinite(f, 'computed logits', this.samples + start);
      parts.push(await this.batchProduct(h, f, takeAbs));
    }
    this.enqueue(parts);
    this.samples += n;
  }

  /**
   * The fused path (a kernel with the `softmaxTransposedProduct` accelerator): no scan of the inputs beforehand. A NaN or
   * infinity in the features or logits makes the product non-finite, so only the `C x D` products are
   * checked (by the kernel when it reports `knownFinite`, else here); if one is not finite, the inputs are scanned to
   * name the offending row (nothing is added).
   */
  private async addFused(
    features: Matrix,
    logits: Matrix | undefined,
    product: KernelAccelerators['softmaxTransposedProduct'],
  ): Promise<void> {
    const n = features.rows;
    const absolute = this.aggregation === 'sum-of-abs';
    const parts: Float32Array[] = [];
    for (let start = 0; start < n; start += CHUNK_ROWS) {
      const end = Math.min(n, start + CHUNK_ROWS);
      const h = sliceRows(features, start, end);
      const f = logits !== undefined ? sliceRows(logits, start, end) : await logitsWith(this.kernel, this.head, h);
      const result = await product(f, h, { temperature: this.temperature, absolute });
      const part = result.data;
      if (result.knownFinite !== true && !allFinite(part)) {
        scanFinite(h, 'features', this.samples + start);
        scanFinite(f, logits !== undefined ? 'logits' : 'computed logits', this.samples + start);
        throw new OpnpError('NON_FINITE', 'The sensitivity product of this batch overflowed float32', {
          offset: start,
          hint: 'Features or logits are too large for float32 sums; rescale them',
        });
      }
      parts.push(part);
    }
    this.enqueue(parts);
    this.samples += n;
  }

  /** Queues a batch's validated products; adds everything queued once {@link PENDING_BYTES} are held. */
  private enqueue(parts: readonly Float32Array[]): void {
    for (const part of parts) {
      this.pending.push(part);
      this.pendingBytes += part.byteLength;
    }
    if (this.pendingBytes >= PENDING_BYTES) this.flushPending();
  }

  /** Adds the {@link pending} products into the float64 sums, in order. */
  private flushPending(): void {
    addProducts(this.sum, this.pending);
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** `P^T |H|` (or `P^T H`) of one chunk as a `C x D` float32 array. */
  private async batchProduct(h: Matrix, f: Matrix, takeAbs: boolean): Promise<Float32Array> {
    const n = h.rows;
    const C = this.classes;
    if (this.pScratch.length < n * C) this.pScratch = new Float32Array(n * C);
    const p = this.pScratch.subarray(0, n * C);
    softmaxRows(f.data, n, C, this.temperature, new Float64Array(C), p);
    let x = h;
    if (takeAbs) {
      if (this.absScratch.length < h.data.length) this.absScratch = new Float32Array(h.data.length);
      const abs = this.absScratch.subarray(0, h.data.length);
      const src = h.data;
      for (let i = 0; i < abs.length; i++) abs[i] = Math.abs(src[i]!);
      x = { rows: n, cols: h.cols, data: abs };
    }
    const product = await gemm(this.kernel, { rows: n, cols: C, data: p }, x, { transA: true });
    return product.data;
  }

  /**
   * Adds another accumulator's (or a serialised state's) sums and count into this one, e.g. shards of
   * a training set. `SHAPE_MISMATCH` if `C` or `D` differ, `INVALID_ARGUMENT` if the temperature or the
   * aggregation differ. Returns `this`.
   */
  merge(other: SensitivityAccumulator | SensitivityState): this {
    const state = other instanceof SensitivityAccumulator ? other.toStateView('merge(other)') : other;
    this.checkCompatible(state);
    this.flushPending();
    const sum = this.sum;
    for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + state.sum[i]!;
    this.samples += state.count;
    return this;
  }

  private checkCompatible(state: SensitivityState): void {
    if (state.classes !== this.classes || state.dim !== this.dim) {
      throw new OpnpError('SHAPE_MISMATCH', 'Sensitivity state has a different head shape', {
        expected: `C x D = ${this.classes} x ${this.dim}`,
        actual: `${state.classes} x ${state.dim}`,
      });
    }
    if (!(state.sum instanceof Float64Array) || state.sum.length !== this.classes * this.dim) {
      throw new OpnpError('SHAPE_MISMATCH', 'Sensitivity state sum must be a Float64Array of C * D values', {
        expected: this.classes * this.dim,
        actual: state.sum instanceof Float64Array ? state.sum.length : typeof state.sum,
      });
    }
    if (!Number.isInteger(state.count) || state.count < 0) {
      throw new OpnpError('INVALID_ARGUMENT', 'Sensitivity state count must be a non-negative integer', { actual: state.count });
    }
    if (state.temperature !== this.temperature) {
      throw new OpnpError('INVALID_ARGUMENT', 'Cannot merge sensitivities computed at different temperatures', {
        expected: this.temperature,
        actual: state.temperature,
      });
    }
    if (state.aggregation !== this.aggregation) {
      throw new OpnpError('INVALID_ARGUMENT', 'Cannot merge sensitivities with different aggregations', {
        expected: this.aggregation,
        actual: state.aggregation,
      });
    }
  }

  private toStateView(operation: string): SensitivityState {
    this.assertNoPendingAdds(operation);
    this.flushPending();
    return {
      classes: this.classes,
      dim: this.dim,
      count: this.samples,
      temperature: this.temperature,
      aggregation: this.aggregation,
      sum: this.sum,
    };
  }

  /**
   * A copy of the accumulator's state as plain data (for checkpoints and shards).
   *
   * @throws OpnpError `PENDING_OPERATION` while an {@link SensitivityAccumulator.add} has not settled (await it first)
   */
  toState(): SensitivityState {
    const view = this.toStateView('toState()');
    return { ...view, sum: view.sum.slice() };
  }

  /**
   * Restores an accumulator for `head` from {@link SensitivityAccumulator.toState} output; the state's
   * temperature and aggregation are used (`options` may only supply a kernel).
   */
  static fromState(head: LinearHead, state: SensitivityState, options: Pick<SensitivityOptions, 'kernel'> = {}): SensitivityAccumulator {
    if (state === null || typeof state !== 'object') {
      throw new OpnpError('INVALID_ARGUMENT', 'Sensitivity state must be an object', { actual: state });
    }
    checkTemperature(state.temperature);
    checkAggregation(state.aggregation);
    const acc = new SensitivityAccumulator(head, { temperature: state.temperature, aggregation: state.aggregation, ...options });
    return acc.merge(state);
  }

  /**
   * The sensitivity `s [C x D]` averaged over all accumulated samples.
   *
   * @throws OpnpError `PENDING_OPERATION` while an {@link SensitivityAccumulator.add} has not settled (await every
   * `add()` first), `EMPTY_INPUT` if no sample was added
   */
  result(): ParameterSensitivity {
    this.assertNoPendingAdds('result()');
    if (this.samples === 0) {
      throw new OpnpError('EMPTY_INPUT', 'Sensitivity needs at least one sample', {
        hint: 'Call add() with a non-empty batch of training features first',
      });
    }
    this.flushPending();
    const values = new Float64Array(this.sum.length);
    const inv = 1 / this.samples;
    if (this.aggregation === 'abs-of-sum') {
      for (let i = 0; i < values.length; i++) values[i] = Math.abs(this.sum[i]! * inv);
    } else {
      for (let i = 0; i < values.length; i++) values[i] = this.sum[i]! * inv;
    }
    return { classes: this.classes, dim: this.dim, count: this.samples, values };
  }
}

/**
 * The parameter sensitivity `s [C x D]` of `head` over one in-memory matrix `features [N x D]`
 * (optionally with its `logits [N x C]`).
 */
export async function computeSensitivity(
  head: LinearHead,
  features: Matrix,
  options: SensitivityOptions & { logits?: Matrix } = {},
): Promise<ParameterSensitivity> {
  const { logits, ...rest } = options;
  const acc = new SensitivityAccumulator(head, rest);
  await acc.add(features, logits);
  return acc.result();
}
