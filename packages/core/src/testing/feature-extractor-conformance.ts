/**
 * The conformance suite every {@link FeatureExtractor} implementation runs against itself (in the spirit of
 * tfjs's `describeWithFlags`): shapes, `logits = W h + b`, batch order, batch limits, concurrency, dispose, and
 * the optional capabilities when the extractor has them (`runtime`, `exportDetector`).
 *
 * This module imports `vitest`, so it is exported from `@opnp/core/testing`, never from the main entry.
 *
 * @example
 * ```ts
 * import { describeFeatureExtractorConformance } from '@opnp/core/testing';
 * describeFeatureExtractorConformance('onnx small-cnn', {
 *   create: () => loadOnnxFeatureExtractor('small-cnn.onnx'),
 *   makeBatch: (n) => ({ data: seededRandom(n * 3 * 32 * 32), shape: [n, 3, 32, 32] }),
 * });
 * ```
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOpnpError } from '../errors.js';
import { featureExtractorProblems } from '../extractor-contract.js';
import type { DetectorExportOptions, DetectorExportResult, DetectorPreprocessing, ExtractResult, FeatureExtractor, InputBatch } from '../feature-extractor.js';
import { linearHead, logits as headLogits } from '../head.js';
import type { Matrix } from '../matrix.js';
import { energy } from '../scores/logit-scores.js';
import { react, reactThreshold } from '../scores/transforms.js';

/** Names of the conformance tests (for {@link ConformanceOptions.skip}). */
export type ConformanceTestName =
  | 'contract'
  | 'shapes'
  | 'logits-match-head'
  | 'batch-order'
  | 'batch-limits'
  | 'concurrent-extracts'
  | 'inputs-unmodified'
  | 'dispose'
  | 'wrong-shape'
  | 'runtime'
  | 'export-detector'
  | 'input-gradient';

/** The values of a detector's outputs by name (float outputs as numbers, bool outputs as booleans or 0/1). */
export type DetectorOutputValues = Readonly<Record<string, ArrayLike<number | boolean>>>;

/** How the suite runs what {@link FeatureExtractor.exportDetector} wrote (with the backend's own runtime). */
export interface DetectorRunner {
  /** Loads the detector at `result.path` and runs it on `batch`, returning every output in `result.outputs.all`. */
  run: (result: DetectorExportResult, batch: InputBatch) => Promise<DetectorOutputValues>;
  /**
   * Reads the preprocessing recorded in the detector at `result.path` back from the file (`undefined` when none).
   * When given, the suite checks the round trip; without it only the returned `result.preprocessing` is checked.
   */
  readPreprocessing?: (result: DetectorExportResult) => Promise<DetectorPreprocessing | undefined>;
  /** The output path to export to, inside a fresh temporary folder. Default `join(dir, 'detector')`. */
  outputPath?: (dir: string) => string;
  /** Tolerance of `ood_score` vs core's energy and of the detector's logits: `|d| <= atol + rtol |e|`. Defaults `1e-4`, `1e-4`. */
  tolerance?: { atol?: number; rtol?: number };
}

/** Options of {@link describeFeatureExtractorConformance}. */
export interface ConformanceOptions {
  /** Creates a fresh extractor (called once for the shared instance and once per dispose test). */
  create: () => Promise<FeatureExtractor>;
  /** A deterministic batch of `n` distinct valid inputs; sample `i` must not depend on `n`. */
  makeBatch: (n: number) => InputBatch;
  /** Skip the whole suite (no `tests`) or the named tests, with the reason shown in the test name. */
  skip?: { reason: string; tests?: readonly ConformanceTestName[] };
  /** Tolerance of `logits == W h + b`: `|d| <= atol + rtol * |f|`. Defaults `1e-4`, `1e-4` (plus `1e-3` of the row's logit scale). */
  tolerance?: { atol?: number; rtol?: number };
  /** Batch size used for the large-batch test when the extractor has no `maxBatchSize`. Default 32. */
  largeBatch?: number;
  /** A batch of the wrong shape; default: derived from `extractor.input` (one trailing dimension changed). */
  wrongShapeBatch?: (extractor: FeatureExtractor) => InputBatch;
  /** Runs exported detectors; needed (the `export-detector` test fails without it) when the extractor has `exportDetector`. */
  detector?: DetectorRunner;
}

/** Rows `[start, start + n)` of a batch (a copy). */
function sliceBatch(batch: InputBatch, start: number, n: number): InputBatch {
  const per = batch.shape.slice(1).reduce((a, b) => a * b, 1);
  return { data: batch.data.slice(start * per, (start + n) * per), shape: [n, ...batch.shape.slice(1)] };
}

/** Asserts two matrices are close; names the first differing entry. */
function expectClose(actual: Matrix, expected: Matrix, atol: number, rtol: number, what: string): void {
  expect(`${actual.rows} x ${actual.cols}`, `${what} shape`).toBe(`${expected.rows} x ${expected.cols}`);
  for (let i = 0; i < expected.data.length; i++) {
    const a = actual.data[i]!;
    const e = expected.data[i]!;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e)) && !(Number.isNaN(a) && Number.isNaN(e))) {
      const r = Math.floor(i / expected.cols);
      const c = i % expected.cols;
      expect.fail(`${what}: first difference at row ${r}, column ${c}: ${a} vs ${e} (atol ${atol}, rtol ${rtol})`);
    }
  }
}

/** Brute-force `W h + b` in float64, written out here independently of core's GEMM. */
function bruteForceLogits(extractor: FeatureExtractor, features: Matrix): Matrix {
  const { weight, bias } = extractor.head;
  const C = weight.rows;
  const D = weight.cols;
  const out = new Float32Array(features.rows * C);
  for (let n = 0; n < features.rows; n++) {
    for (let c = 0; c < C; c++) {
      let s = bias[c]!;
      for (let j = 0; j < D; j++) s += weight.data[c * D + j]! * features.data[n * D + j]!;
      out[n * C + c] = s;
    }
  }
  return { rows: features.rows, cols: C, data: out };
}

async function expectOpnpError(promise: Promise<unknown>, code: string): Promise<void> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected an OpnpError with code ${code}`).toBeDefined();
  expect(isOpnpError(caught), `expected an OpnpError, got ${String(caught)}`).toBe(true);
  expect((caught as { code: string }).code).toBe(code);
}

function defaultWrongShape(extractor: FeatureExtractor): InputBatch {
  const shape = extractor.input.shape.map((d, i) => (i === 0 ? 2 : (d ?? 3)));
  const last = shape.length - 1;
  if (last >= 1) shape[last] = shape[last]! + 1;
  else shape.push(2);
  return { data: new Float32Array(shape.reduce((a, b) => a * b, 1)), shape };
}

/** A deterministic OPNP-like pruning of the head: every fifth weight and the first neuron zeroed, the bias shifted. */
function prunedOptions(extractor: FeatureExtractor): { prunedWeight: Matrix; bias: Float32Array } {
  const { weight, bias } = extractor.head;
  const data = Float32Array.from(weight.data);
  for (let c = 0; c < weight.rows; c++) {
    for (let j = 0; j < weight.cols; j++) if (j === 0 || (c * 7 + j * 3) % 5 === 0) data[c * weight.cols + j] = 0;
  }
  return { prunedWeight: { rows: weight.rows, cols: weight.cols, data }, bias: bias.map((b, c) => b + 0.1 * (c % 3)) };
}

/** A threshold strictly between the two middle scores, so `is_ood` has both values and no ties. */
function midThreshold(scores: Float32Array): number {
  const sorted = Float64Array.from(scores).sort();
  const k = Math.floor(sorted.length / 2);
  return (sorted[k - 1]! + sorted[k]!) / 2;
}

/** Checks what `exportDetector` reports about the files and the graph it wrote. */
function expectDescribesExport(result: DetectorExportResult, extractor: FeatureExtractor, options: DetectorExportOptions): void {
  expect(typeof result.format === 'string' && result.format.length > 0, 'format is a non-empty string').toBe(true);
  expect(result.files[0], 'files start with path').toBe(result.path);
  for (const file of result.files) expect(statSync(file).isFile(), `${file} was written`).toBe(true);
  expect(result.input.shape.length, 'detector input rank').toBe(extractor.input.shape.length);
  expect(result.input.shape.slice(1), 'detector input dimensions').toEqual(extractor.input.shape.slice(1));
  expect(result.input.name.length).toBeGreaterThan(0);
  expect(result.outputs.oodScore).toBe('ood_score');
  expect(result.outputs.isOod).toBe('is_ood');
  expect(result.outputs.all).toEqual(expect.arrayContaining([result.outputs.logits, 'ood_score', 'is_ood']));
  expect([result.temperature, result.reactClip, result.threshold]).toEqual([options.temperature, options.reactClip, options.threshold]);
  expect(result.preprocessing, 'the recorded preprocessing').toEqual(options.preprocessing);
}

/** A preprocessing with every field set (per-channel lists of the model's channel count where it has one). */
function samplePreprocessing(extractor: FeatureExtractor): DetectorPreprocessing {
  const { layout, shape } = extractor.input;
  const c = layout === 'NCHW' ? shape[1] : layout === 'NHWC' ? shape[3] : null;
  const channels = typeof c === 'number' ? c : 3;
  const perChannel = (base: number) => Array.from({ length: channels }, (_, i) => base + 0.125 * i);
  return { layout: layout === 'NHWC' ? 'NHWC' : 'NCHW', channels, resize: 36, centerCrop: [32, 30], kernel: 'pil-bicubic', scale: 1 / 255, mean: perChannel(0.25), std: perChannel(0.5) };
}

/** The preprocessing round trip (given, read back from the file), its absence when not given, and refusals. */
async function checkRecordedPreprocessing(extractor: FeatureExtractor, runner: DetectorRunner, result: DetectorExportResult, options: DetectorExportOptions, dir: string): Promise<void> {
  if (runner.readPreprocessing) expect(await runner.readPreprocessing(result), 'the preprocessing read back from the detector').toEqual(options.preprocessing);
  const plainPath = (runner.outputPath ?? ((d) => join(d, 'detector')))(join(dir, 'plain'));
  mkdirSync(join(dir, 'plain'));
  const plain = await extractor.exportDetector!({ prunedWeight: options.prunedWeight, outputPath: plainPath });
  expect(plain.preprocessing, 'no preprocessing given: none recorded').toBeUndefined();
  if (runner.readPreprocessing) expect(await runner.readPreprocessing(plain), 'no preprocessing given: none in the file').toBeUndefined();
  const bad: unknown[] = [{ std: [0.5, 0] }, { mean: Number.NaN }, { crop: 32 }, { resize: [32] }, { layout: 'CHW' }, 'resize=32'];
  for (const preprocessing of bad) {
    await expectOpnpError(extractor.exportDetector!({ ...options, preprocessing: preprocessing as DetectorPreprocessing }), 'INVALID_ARGUMENT');
  }
}

/** `ood_score`, `is_ood` and the logits of an exported detector vs core's energy of the pruned head. */
async function checkDetectorExport(extractor: FeatureExtractor, runner: DetectorRunner, batch: InputBatch, dir: string): Promise<void> {
  const { features, logits } = await extractor.extract(batch);
  const pruned = prunedOptions(extractor);
  const reactClip = reactThreshold(features, 75);
  const temperature = 1.5;
  const expected = energy(headLogits(linearHead(pruned.prunedWeight, pruned.bias), react(features, reactClip)), { temperature });
  const threshold = midThreshold(expected);
  const preprocessing = samplePreprocessing(extractor);
  const options: DetectorExportOptions = { ...pruned, reactClip, temperature, threshold, preprocessing, outputPath: (runner.outputPath ?? ((d) => join(d, 'detector')))(dir) };
  const result = await extractor.exportDetector!(options);
  expectDescribesExport(result, extractor, options);
  await checkRecordedPreprocessing(extractor, runner, result, options, dir);
  const outputs = await runner.run(result, batch);
  const atol = runner.tolerance?.atol ?? 1e-4;
  const rtol = runner.tolerance?.rtol ?? 1e-4;
  const asMatrix = (name: string, cols: number): Matrix => {
    const values = outputs[name];
    expect(values, `the detector output "${name}"`).toBeDefined();
    return { rows: values!.length / cols, cols, data: Float32Array.from(values!, Number) };
  };
  expectClose(asMatrix('ood_score', 1), { rows: expected.length, cols: 1, data: expected }, atol, rtol, "ood_score vs core's energy of the pruned head");
  expectClose(asMatrix(result.outputs.logits, logits.cols), logits, atol, rtol, "the detector's logits vs extract()");
  // Scores within the tolerance of the threshold may fall either side in float32: only the clear ones are checked.
  const clear = (e: number): boolean => Math.abs(e - threshold) > atol + rtol * Math.abs(e);
  const isOod = Array.from(outputs['is_ood'] ?? [], Boolean);
  expect(isOod.length, 'is_ood has one entry per sample').toBe(expected.length);
  expect(isOod.filter((_, i) => clear(expected[i]!)), 'is_ood == (ood_score < threshold)').toEqual(Array.from(expected).filter(clear).map((e) => e < threshold));
  await expectOpnpError(extractor.exportDetector!({ ...options, prunedWeight: { rows: 1, cols: 1, data: new Float32Array(1) } }), 'SHAPE_MISMATCH');
}

/** What a test can do besides asserting: skip itself (an optional capability the extractor does not have). */
interface TestControl {
  readonly skip: (reason: string) => never;
}

/** What the test groups share: the test registrar, the shared extractor (created in `beforeAll`) and the options. */
interface Suite {
  readonly test: (id: ConformanceTestName, title: string, fn: (t: TestControl) => Promise<void>) => void;
  readonly x: () => FeatureExtractor;
  readonly options: ConformanceOptions;
  readonly atol: number;
  readonly rtol: number;
}

/** `shapes`, `logits-match-head`, `batch-order`, `batch-limits`. */
function describeExtraction({ test, x, options, atol, rtol }: Suite): void {
  test('shapes', 'returns features [N x D] and logits [N x C] matching the head', async () => {
    const extractor = x();
    expect(extractor.specificationVersion).toBe('v1');
    expect(typeof extractor.backend).toBe('string');
    const C = extractor.head.weight.rows;
    const D = extractor.head.weight.cols;
    expect(C).toBeGreaterThan(0);
    expect(D).toBeGreaterThan(0);
    expect(extractor.head.bias.length).toBe(C);
    const { features, logits } = await extractor.extract(options.makeBatch(3));
    expect([features.rows, features.cols, features.data.length]).toEqual([3, D, 3 * D]);
    expect([logits.rows, logits.cols, logits.data.length]).toEqual([3, C, 3 * C]);
    expect(features.data).toBeInstanceOf(Float32Array);
    expect(logits.data).toBeInstanceOf(Float32Array);
  });

  test('logits-match-head', 'returns logits equal to W h + b', async () => {
    const extractor = x();
    const { features, logits } = await extractor.extract(options.makeBatch(4));
    const expected = bruteForceLogits(extractor, features);
    let scale = 0;
    for (const v of logits.data) scale = Math.max(scale, Math.abs(v));
    expectClose(logits, expected, atol + 1e-3 * scale, rtol, 'logits vs W h + b');
  });

  test('batch-order', 'returns rows in input order (extract([a, b]) == extract(a), extract(b))', async () => {
    const extractor = x();
    const batch = options.makeBatch(2);
    const both = await extractor.extract(batch);
    const a = await extractor.extract(sliceBatch(batch, 0, 1));
    const b = await extractor.extract(sliceBatch(batch, 1, 1));
    const cat = (x: ExtractResult, y: ExtractResult, key: 'features' | 'logits'): Matrix => {
      const data = new Float32Array(x[key].data.length + y[key].data.length);
      data.set(x[key].data);
      data.set(y[key].data, x[key].data.length);
      return { rows: 2, cols: x[key].cols, data };
    };
    expectClose(both.features, cat(a, b, 'features'), 1e-4, 1e-4, 'features of [a, b] vs a then b');
    expectClose(both.logits, cat(a, b, 'logits'), 1e-4, 1e-4, 'logits of [a, b] vs a then b');
    // The two samples must differ, or the order test proves nothing.
    expect(Array.from(a.logits.data)).not.toEqual(Array.from(b.logits.data));
  });

  test('batch-limits', 'accepts batch size 1 and maxBatchSize', async () => {
    const extractor = x();
    const one = await extractor.extract(options.makeBatch(1));
    expect(one.features.rows).toBe(1);
    const n = extractor.maxBatchSize ?? options.largeBatch ?? 32;
    const big = await extractor.extract(options.makeBatch(n));
    expect(big.features.rows).toBe(n);
    expect(big.logits.rows).toBe(n);
    expectClose(
      { rows: 1, cols: one.logits.cols, data: big.logits.data.subarray(0, one.logits.cols) },
      one.logits,
      1e-4,
      1e-4,
      'first row of the large batch vs the batch of one',
    );
  });
}

/** `concurrent-extracts`, `inputs-unmodified`, `dispose`, `wrong-shape`. */
function describeRobustness({ test, x, options }: Suite): void {
  test('concurrent-extracts', 'handles concurrent extract calls', async () => {
    const extractor = x();
    const batches = [options.makeBatch(1), options.makeBatch(3), options.makeBatch(2)];
    const sequential: ExtractResult[] = [];
    for (const b of batches) sequential.push(await extractor.extract(b));
    const concurrent = await Promise.all(batches.map((b) => extractor.extract(b)));
    concurrent.forEach((r, i) => {
      expectClose(r.features, sequential[i]!.features, 1e-5, 1e-5, `concurrent features #${i}`);
      expectClose(r.logits, sequential[i]!.logits, 1e-5, 1e-5, `concurrent logits #${i}`);
    });
  });

  test('inputs-unmodified', 'leaves the input batch unmodified', async () => {
    const extractor = x();
    const batch = options.makeBatch(2);
    const copy = Float32Array.from(batch.data);
    const shape = [...batch.shape];
    await extractor.extract(batch);
    expect(batch.shape).toEqual(shape);
    expect(Array.from(batch.data)).toEqual(Array.from(copy));
  });

  test('dispose', 'can be disposed twice; extract after dispose rejects with DISPOSED', async () => {
    const own = await options.create();
    await own.extract(options.makeBatch(1));
    await own.dispose();
    await own.dispose();
    await expectOpnpError(own.extract(options.makeBatch(1)), 'DISPOSED');
    if (own.exportDetector) {
      const { weight } = own.head;
      const outputPath = join(tmpdir(), 'opnp-conformance-never-written');
      await expectOpnpError(own.exportDetector({ prunedWeight: weight, outputPath }), 'DISPOSED');
    }
  });

  test('wrong-shape', 'rejects a batch of the wrong shape with SHAPE_MISMATCH', async () => {
    const extractor = x();
    const wrong = (options.wrongShapeBatch ?? defaultWrongShape)(extractor);
    await expectOpnpError(extractor.extract(wrong), 'SHAPE_MISMATCH');
    const good = options.makeBatch(2);
    await expectOpnpError(extractor.extract({ data: good.data.subarray(1), shape: good.shape }), 'SHAPE_MISMATCH');
  });
}

/** `sum(w * logits)` of a batch in float64 (the function whose input gradient `inputGradient` returns). */
async function weightedLogitSum(extractor: FeatureExtractor, batch: InputBatch, w: Matrix): Promise<number> {
  const { logits } = await extractor.extract(batch);
  let s = 0;
  for (let i = 0; i < w.data.length; i++) s += w.data[i]! * logits.data[i]!;
  return s;
}

/**
 * `inputGradient` against the model's own logits: the right length, inputs unmodified, zero for zero weights,
 * linear in the weights, and its directional derivative along a seeded direction `v` equal to the central
 * difference `(S(x + t v) - S(x - t v)) / 2t` of `S = sum(w * logits)` within 5% (kinks of ReLU networks crossed
 * by the `t = 1e-3` step and float32 logits keep it from being exact).
 */
async function checkInputGradient(extractor: FeatureExtractor, batch: InputBatch): Promise<void> {
  const { logits } = await extractor.extract(batch);
  const seeded = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(1000 * (i + 1) * seed) * 0.5);
  const w: Matrix = { rows: logits.rows, cols: logits.cols, data: seeded(logits.data.length, 1.3) };
  const w2: Matrix = { rows: logits.rows, cols: logits.cols, data: seeded(logits.data.length, 2.7) };
  const copy = Float32Array.from(batch.data);
  const g = await extractor.inputGradient!(batch, w);
  expect(g instanceof Float32Array && g.length === batch.data.length, 'a Float32Array in the layout of the input').toBe(true);
  expect(Array.from(batch.data), 'inputs unmodified').toEqual(Array.from(copy));
  const zero = await extractor.inputGradient!(batch, { ...w, data: new Float32Array(w.data.length) });
  expect(zero.every((v) => v === 0), 'zero weights give a zero gradient').toBe(true);
  const g2 = await extractor.inputGradient!(batch, w2);
  const sum = await extractor.inputGradient!(batch, { ...w, data: w.data.map((v, i) => 2 * v + w2.data[i]!) });
  const scale = Math.max(...g.map(Math.abs), ...g2.map(Math.abs));
  sum.forEach((v, i) => expect(Math.abs(v - (2 * g[i]! + g2[i]!)), `linear in the weights at ${i}`).toBeLessThanOrEqual(1e-4 * 3 * scale + 1e-7));
  const v = seeded(batch.data.length, 4.1);
  const t = 1e-3;
  const plus = await weightedLogitSum(extractor, { data: batch.data.map((x, i) => x + t * v[i]!), shape: batch.shape }, w);
  const minus = await weightedLogitSum(extractor, { data: batch.data.map((x, i) => x - t * v[i]!), shape: batch.shape }, w);
  const numeric = (plus - minus) / (2 * t);
  const analytic = g.reduce((a, gi, i) => a + gi * v[i]!, 0);
  expect(Math.abs(numeric - analytic), `directional derivative ${analytic} vs central difference ${numeric}`).toBeLessThanOrEqual(0.05 * Math.abs(numeric) + 1e-3);
}

/** The optional capabilities: `runtime`, `export-detector`, `input-gradient`. */
function describeCapabilities({ test, x, options }: Suite): void {
  test('runtime', 'reports its execution providers and threads (optional runtime)', async (t) => {
    const extractor = x();
    const runtime = extractor.runtime;
    if (runtime === undefined) return t.skip('the extractor has no runtime (optional)');
    expect(Array.isArray(runtime.executionProviders) && runtime.executionProviders.length > 0, 'at least one execution provider').toBe(true);
    for (const provider of runtime.executionProviders) expect(typeof provider === 'string' && provider.length > 0).toBe(true);
    if (runtime.threads !== undefined) expect(Number.isInteger(runtime.threads) && runtime.threads > 0, `threads ${runtime.threads}`).toBe(true);
  });

  test('export-detector', "exports a detector whose ood_score is core's energy of the pruned head (optional exportDetector)", async (t) => {
    const extractor = x();
    if (extractor.exportDetector === undefined) return t.skip('the extractor has no exportDetector (optional)');
    expect(options.detector, 'the extractor has exportDetector: pass options.detector to run what it writes').toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'opnp-conformance-'));
    try {
      await checkDetectorExport(extractor, options.detector!, options.makeBatch(6), dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('input-gradient', 'returns the input gradient of a weighted sum of the logits (optional inputGradient)', async (t) => {
    const extractor = x();
    if (extractor.inputGradient === undefined) return t.skip('the extractor has no inputGradient (optional)');
    await checkInputGradient(extractor, options.makeBatch(3));
  });
}

/**
 * Registers the {@link FeatureExtractor} conformance tests (vitest) under `describe(name)`.
 *
 * Checked: first the v1 members (`specificationVersion`, `backend`, `head`, `input`, `extract`, `dispose`; one
 * `contract` test lists what is missing, and the other tests are then skipped instead of failing with TypeErrors);
 * `features [N x D]` and `logits [N x C]` match the head; `logits == W h + b`; rows come back in input
 * order (`extract([a, b])` equals `extract(a)` then `extract(b)`); batch sizes 1 and `maxBatchSize`; concurrent
 * `extract` calls; inputs left unmodified; double `dispose()` is fine and `extract` after it rejects `DISPOSED`;
 * a batch of the wrong shape rejects `SHAPE_MISMATCH`. Optional capabilities, when present: `runtime` names at
 * least one execution provider (and a positive thread count, if any); `exportDetector` writes the files it reports,
 * whose `ood_score` (run back by {@link ConformanceOptions.detector}) equals core's energy of a pruned head with
 * ReAct clipping and temperature, whose `is_ood` is `ood_score < threshold` and whose logits equal `extract`'s;
 * the `preprocessing` given is reported back (and read back from the file by {@link DetectorRunner.readPreprocessing}),
 * none is recorded without it, and invalid ones are refused with `INVALID_ARGUMENT`;
 * `inputGradient` is linear in its weights and matches a central difference of the logits along a direction.
 * An optional capability the extractor does not have is reported as a skipped test, with the reason.
 */
export function describeFeatureExtractorConformance(name: string, options: ConformanceOptions): void {
  const skipped = new Set(options.skip?.tests ?? []);
  const skipAll = options.skip !== undefined && options.skip.tests === undefined;
  let problems: string[] = [];
  const test = (id: ConformanceTestName, title: string, fn: (t: TestControl) => Promise<void>): void => {
    if (skipped.has(id)) {
      it.skip(`${title} (skipped: ${options.skip!.reason})`, () => undefined);
      return;
    }
    it(title, async (context) => {
      const t: TestControl = { skip: (reason) => context.skip(reason) };
      if (id !== 'contract' && problems.length > 0) t.skip('the extractor does not implement FeatureExtractor v1 (see the contract test)');
      await fn(t);
    });
  };

  (skipAll ? describe.skip : describe)(skipAll ? `${name} (skipped: ${options.skip!.reason})` : name, () => {
    let extractor: FeatureExtractor | undefined;
    beforeAll(async () => {
      extractor = await options.create();
      problems = featureExtractorProblems(extractor);
    });
    afterAll(async () => {
      if (typeof extractor?.dispose === 'function') await extractor.dispose();
    });
    test('contract', 'implements the FeatureExtractor v1 members (specificationVersion, backend, head, input, extract, dispose)', async () => {
      if (problems.length > 0) expect.fail(`the extractor does not implement FeatureExtractor v1: ${problems.join('; ')}`);
    });
    const suite: Suite = {
      test,
      x: () => extractor!,
      options,
      atol: options.tolerance?.atol ?? 1e-4,
      rtol: options.tolerance?.rtol ?? 1e-4,
    };
    describeExtraction(suite);
    describeRobustness(suite);
    describeCapabilities(suite);
  });
}
