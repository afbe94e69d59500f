/**
 * Checks of the backend contract (specification v1), for backends written outside this repository: a registered
 * {@link Backend}, the {@link FeatureExtractor} its `load` returns, each {@link ExtractResult}, and that the head
 * reproduces the logits (`logits = W h + b`, compared by {@link compareHead}). Each refusal names the backend, the
 * model and the member at fault, so a broken backend fails at load or on its first batch instead of giving wrong
 * numbers or a TypeError deep inside an evaluation.
 */
import { AUTO_HEAD_CHECK_ROWS, compareHead, type HeadCheck, type HeadCheckTolerance } from './backend/batches.js';
import { OpnpError } from './errors.js';
import type { Backend, ExtractResult, FeatureExtractor } from './feature-extractor.js';
import type { LinearHead } from './head.js';

/** Who produced what is checked, for messages: the backend's name and the model it loaded. */
export interface ExtractorOwner {
  /** The backend's registry name (or the extractor's `backend`). */
  readonly backend: string;
  /** The model file (or a name for models given as bytes or built in memory). */
  readonly model?: string;
}

/** `backend "onnx" (model m.onnx)`. */
export function describeOwner(owner: ExtractorOwner): string {
  return `backend "${owner.backend}"${owner.model !== undefined ? ` (model ${owner.model})` : ''}`;
}

/** What a value is, in words: `missing`, `null`, `a plain Array`, `a Float64Array`, `a string`. */
export function describeValueType(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a plain Array';
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

const LAYOUTS: readonly string[] = ['NCHW', 'NHWC', 'flat'];

/**
 * Throws `BACKEND_FAILURE` unless `value` is a v1 {@link Backend}: `specificationVersion: 'v1'`, a `name`, and the
 * methods `canLoad` and `load` (`accepts`, when given, a list of strings).
 */
export function assertBackend(value: unknown, name: string): asserts value is Backend {
  const b = value as Partial<Record<keyof Backend, unknown>> | null;
  const problems: string[] = [];
  if (b === null || typeof b !== 'object') problems.push(`its factory returned ${describeValueType(value)}, not a Backend object`);
  else {
    if (b.specificationVersion !== 'v1') problems.push(`specificationVersion is ${JSON.stringify(b.specificationVersion) ?? 'missing'}, this @opnp/core implements 'v1'`);
    if (typeof b.name !== 'string' || b.name === '') problems.push(`name is ${describeValueType(b.name)}, not a non-empty string`);
    if (typeof b.canLoad !== 'function') problems.push('it has no canLoad method (canLoad(source): boolean, cheap, no loading)');
    if (typeof b.load !== 'function') problems.push('it has no load method (load(source, options): Promise<FeatureExtractor>)');
    if (b.accepts !== undefined && !(Array.isArray(b.accepts) && b.accepts.every((a) => typeof a === 'string'))) problems.push('accepts is not a list of strings');
  }
  if (problems.length === 0) return;
  throw new OpnpError('BACKEND_FAILURE', `The backend registered as "${name}" does not implement Backend v1: ${problems.join('; ')}`, {
    hint: 'See "Writing a backend" in the @opnp/core README',
  });
}

/** The problems of a head: `W [C x D]` float32 with `C, D > 0`, `b` a Float32Array of length `C`. */
function headProblems(head: unknown): string[] {
  const h = head as { weight?: { rows?: unknown; cols?: unknown; data?: unknown }; bias?: unknown } | null | undefined;
  if (h === null || typeof h !== 'object') return [`head is ${describeValueType(head)} (expected { weight: { rows: C, cols: D, data: Float32Array(C * D) }, bias: Float32Array(C) })`];
  const w = h.weight;
  if (w === null || typeof w !== 'object') return [`head.weight is ${describeValueType(w)}`];
  const { rows, cols, data } = w;
  if (!(data instanceof Float32Array)) return [`head.weight.data is ${describeValueType(data)}; the head must be float32`];
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || (rows as number) <= 0 || (cols as number) <= 0 || data.length !== (rows as number) * (cols as number)) {
    return [`head.weight is not a C x D matrix (rows ${String(rows)}, cols ${String(cols)}, ${data.length} values)`];
  }
  if (!(h.bias instanceof Float32Array)) return [`head.bias is ${describeValueType(h.bias)}; it must be a Float32Array of ${String(rows)} values (zeros when the layer has no bias)`];
  return h.bias.length === rows ? [] : [`head.bias has ${h.bias.length} values for ${String(rows)} classes`];
}

/** The problems of an input spec: a name, a shape `[N, ...]` of positive integers or `null`, a known layout. */
function inputProblems(input: unknown): string[] {
  const i = input as { name?: unknown; shape?: unknown; layout?: unknown } | null | undefined;
  if (i === null || typeof i !== 'object') return [`input is ${describeValueType(input)} (expected { name, shape: [null, ...], layout })`];
  const problems: string[] = [];
  if (typeof i.name !== 'string') problems.push(`input.name is ${describeValueType(i.name)}`);
  const shape = i.shape;
  const dimOk = (d: unknown): boolean => d === null || (Number.isInteger(d) && (d as number) > 0);
  if (!Array.isArray(shape) || shape.length < 2 || !shape.every(dimOk)) {
    problems.push(`input.shape is ${Array.isArray(shape) ? JSON.stringify(shape) : describeValueType(shape)}; it must start with the batch dimension (e.g. [null, 784], [null, 3, 32, 32]), other dimensions positive integers or null`);
  }
  if (typeof i.layout !== 'string' || !LAYOUTS.includes(i.layout)) problems.push(`input.layout is ${JSON.stringify(i.layout) ?? 'missing'}, not one of ${LAYOUTS.map((l) => `'${l}'`).join(', ')}`);
  else if (i.layout !== 'flat' && Array.isArray(shape) && shape.length !== 4) problems.push(`input.layout is '${i.layout}' but input.shape has ${shape.length} dimensions, not 4`);
  return problems;
}

/** The problems of the members of an extractor besides its head and input. */
function memberProblems(x: Partial<Record<keyof FeatureExtractor, unknown>>): string[] {
  const problems: string[] = [];
  if (x.specificationVersion !== 'v1') problems.push(`specificationVersion is ${JSON.stringify(x.specificationVersion) ?? 'missing'}, this @opnp/core implements 'v1'`);
  if (typeof x.backend !== 'string') problems.push(`backend (its backend's name) is ${describeValueType(x.backend)}`);
  if (typeof x.extract !== 'function') problems.push('the extractor has no extract method');
  if (typeof x.dispose !== 'function') problems.push('the extractor has no dispose method');
  if (x.maxBatchSize !== undefined && !(Number.isSafeInteger(x.maxBatchSize) && (x.maxBatchSize as number) > 0)) problems.push(`maxBatchSize is ${String(x.maxBatchSize)}, not a positive integer`);
  for (const optional of ['exportDetector', 'inputGradient'] as const) {
    if (x[optional] !== undefined && typeof x[optional] !== 'function') problems.push(`${optional} is ${describeValueType(x[optional])}, not a method (leave it out when the backend has no such capability)`);
  }
  return problems;
}

/**
 * The ways `value` falls short of a v1 {@link FeatureExtractor} (empty when it does not): its
 * `specificationVersion`, `backend`, `extract` and `dispose` methods, `head`, `input`, `maxBatchSize` and the
 * optional methods when present.
 */
export function featureExtractorProblems(value: unknown): string[] {
  if (value === null || typeof value !== 'object') return [`load returned ${describeValueType(value)}, not an extractor object`];
  const x = value as Partial<Record<keyof FeatureExtractor, unknown>>;
  return [...memberProblems(x), ...headProblems(x.head), ...inputProblems(x.input)];
}

/**
 * Throws `BACKEND_FAILURE` listing every way `value` (what `owner`'s `load` returned) falls short of a v1
 * {@link FeatureExtractor} (see {@link featureExtractorProblems}).
 */
export function assertFeatureExtractor(value: unknown, owner: ExtractorOwner): asserts value is FeatureExtractor {
  const problems = featureExtractorProblems(value);
  if (problems.length === 0) return;
  throw new OpnpError('BACKEND_FAILURE', `The extractor loaded by ${describeOwner(owner)} does not implement FeatureExtractor v1: ${problems.join('; ')}`, {
    hint: 'See "Writing a backend" in the @opnp/core README (and run describeFeatureExtractorConformance from @opnp/core/testing on it)',
  });
}

/** Checks one matrix of an extraction: float32, `rows x cols`, `data.length == rows * cols`. */
function assertResultMatrix(value: unknown, what: 'features' | 'logits', rows: number, cols: number, owner: ExtractorOwner): void {
  const m = value as { rows?: unknown; cols?: unknown; data?: unknown } | null | undefined;
  const fail = (problem: string): never => {
    throw new OpnpError('BACKEND_FAILURE', `extract of ${describeOwner(owner)} returned bad ${what}: ${problem}`, {
      expected: `${what} { rows: ${rows}, cols: ${cols}, data: Float32Array(${rows * cols}) }`,
      hint: 'An extractor returns one row per input sample, in input order, as float32 matrices (see "Writing a backend" in the @opnp/core README)',
    });
  };
  if (m === null || typeof m !== 'object') fail(`${what} is ${describeValueType(value)}`);
  if (!(m!.data instanceof Float32Array)) fail(`${what} is ${describeValueType(m!.data)}; extractors must return Float32Array`);
  if (m!.rows !== rows) fail(`${String(m!.rows)} rows for a batch of ${rows}`);
  if (m!.cols !== cols) fail(`${String(m!.cols)} columns where the head has ${cols} (${what === 'features' ? 'D, head.weight.cols' : 'C, head.weight.rows'})`);
  const length = (m!.data as Float32Array).length;
  if (length !== rows * cols) fail(`${what}.data holds ${length} values, not rows x cols = ${rows * cols}`);
}

/**
 * Throws `BACKEND_FAILURE` unless `result` (what `extract` returned for a batch of `rows` samples) holds
 * `features [rows x D]` and `logits [rows x C]` of `head`, both float32, naming the member at fault.
 */
export function assertExtractResult(result: unknown, rows: number, head: LinearHead, owner: ExtractorOwner): asserts result is ExtractResult {
  const r = result as { features?: unknown; logits?: unknown } | null | undefined;
  if (r === null || typeof r !== 'object') {
    throw new OpnpError('BACKEND_FAILURE', `extract of ${describeOwner(owner)} returned ${describeValueType(result)}, not { features, logits }`);
  }
  assertResultMatrix(r.features, 'features', rows, head.weight.cols, owner);
  assertResultMatrix(r.logits, 'logits', rows, head.weight.rows, owner);
}

/** Whether every checked logits row is a probability distribution (values in [0, 1] summing to 1). */
function looksLikeProbabilities(logits: ExtractResult['logits'], rows: number): boolean {
  for (let n = 0; n < rows; n++) {
    let sum = 0;
    for (let c = 0; c < logits.cols; c++) {
      const v = logits.data[n * logits.cols + c]!;
      if (!(v >= 0 && v <= 1)) return false;
      sum += v;
    }
    if (Math.abs(sum - 1) > 1e-3) return false;
  }
  return true;
}

/**
 * The bias that makes row 0 of `result` exactly `W h + b'` (`b'_c = f_0c - (W h_0)_c`, in float64): when the
 * head check passes with it, the logits differ from `W h + b` by a per-class constant (a missing or wrong bias).
 */
function biasOfFirstRow(head: LinearHead, result: ExtractResult): Float32Array {
  const { rows: C, cols: D, data: w } = head.weight;
  const bias = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    let sum = 0;
    for (let d = 0; d < D; d++) sum += w[c * D + d]! * result.features.data[d]!;
    bias[c] = result.logits.data[c]! - sum;
  }
  return bias;
}

/** The likely causes of a failed head check, the one the data points to first. */
function likelyCauses(head: LinearHead, result: ExtractResult, check: HeadCheck, tolerance: HeadCheckTolerance): string {
  const causes = [
    'the head has no bias or the wrong one (head.bias must be the b of logits = W h + b)',
    "the head's class rows are in another order than the logits' columns",
    'extract returns probabilities (softmax) or log-probabilities instead of the pre-softmax logits',
    'the features are not the input of the head layer',
  ];
  const shifted = { weight: head.weight, bias: biasOfFirstRow(head, result) };
  const biasOff = check.samples > 1 && compareHead(shifted, result, tolerance, check.samples).withinTolerance;
  if (biasOff) return `Likely cause: the logits differ from W h + b by the same amount on every row: the head bias is missing or is not the one the model adds (head.bias must be the b of logits = W h + b)`;
  if (looksLikeProbabilities(result.logits, check.samples)) return 'Likely cause: every logits row is in [0, 1] and sums to 1: extract returns probabilities (softmax), not the pre-softmax logits';
  return `Likely causes: ${causes.join('; ')}`;
}

/**
 * The pipeline's head check: `compareHead` of the first {@link AUTO_HEAD_CHECK_ROWS} rows of `result` (the float32
 * tolerance of the backends' own check, `1e-4 + 1e-3 * max|logit|` by default; docs/numerics.md#notation-and-shapes).
 * Throws `BACKEND_FAILURE` naming the backend and model, the row and class of the largest difference, the logit
 * returned and `W h + b`, and the likely causes.
 */
export function assertHeadMatchesLogits(head: LinearHead, result: ExtractResult, owner: ExtractorOwner, tolerance: HeadCheckTolerance = {}): HeadCheck {
  const check = compareHead(head, result, tolerance, AUTO_HEAD_CHECK_ROWS);
  if (check.withinTolerance || check.worst === undefined) return check;
  const { row, column, got, expected } = check.worst;
  const bound = `${tolerance.atol ?? 1e-4} + ${tolerance.rtol ?? 1e-3} x max|logit|`;
  throw new OpnpError(
    'BACKEND_FAILURE',
    `The logits of ${describeOwner(owner)} are not W h + b of its head: row ${row}, class ${column}: extract returned ${got}, W h + b is ${expected} (largest difference ${check.maxAbsDiff.toPrecision(3)} over the first ${check.samples} rows, tolerance ${bound})`,
    { hint: likelyCauses(head, result, check, tolerance) },
  );
}
