/**
 * The backend contract checks: a registered Backend, the extractor its load returns, each extract result, and the
 * head check (`logits = W h + b`) with its float32 tolerance and the likely causes it names.
 */
import { describe, expect, it } from 'vitest';
import {
  assertExtractResult,
  assertHeadMatchesLogits,
  createLinearFeatureExtractor,
  featureExtractorProblems,
  linearHead,
  loadFeatureExtractor,
  mulberry32,
  registerBackend,
  type Backend,
  type ExtractResult,
  type FeatureExtractor,
  type LinearHead,
  type OpnpError,
} from '@opnp/core';
import { randomMatrix } from '@opnp/core/testing';

const owner = { backend: 'toy', model: 'm.toy' };

/** The error `fn` throws (or the promise rejects with). */
async function caught(fn: () => unknown): Promise<OpnpError> {
  try {
    await fn();
  } catch (error) {
    return error as OpnpError;
  }
  throw new Error('expected an error');
}

/** `W h + b` of every row, summed in float64 and rounded to float32 once (brute force, independent of core). */
function exactLogits(head: LinearHead, features: Float32Array, rows: number): Float32Array {
  const { rows: C, cols: D, data: w } = head.weight;
  const out = new Float32Array(rows * C);
  for (let n = 0; n < rows; n++) {
    for (let c = 0; c < C; c++) {
      let s = head.bias[c]!;
      for (let d = 0; d < D; d++) s += w[c * D + d]! * features[n * D + d]!;
      out[n * C + c] = s;
    }
  }
  return out;
}

/** The same sums accumulated in float32 term by term (what a float32 model computes, the worst ordering). */
function float32Logits(head: LinearHead, features: Float32Array, rows: number): Float32Array {
  const { rows: C, cols: D, data: w } = head.weight;
  const out = new Float32Array(rows * C);
  for (let n = 0; n < rows; n++) {
    for (let c = 0; c < C; c++) {
      let s = Math.fround(head.bias[c]!);
      for (let d = 0; d < D; d++) s = Math.fround(s + Math.fround(w[c * D + d]! * features[n * D + d]!));
      out[n * C + c] = s;
    }
  }
  return out;
}

function result(head: LinearHead, features: Float32Array, rows: number, logits: Float32Array): ExtractResult {
  return { features: { rows, cols: head.weight.cols, data: features }, logits: { rows, cols: head.weight.rows, data: logits } };
}

describe('assertHeadMatchesLogits', () => {
  const C = 10;
  const D = 2048;
  const rows = 16;
  const head = linearHead(randomMatrix(C, D, mulberry32(1), (u) => (u * 2 - 1) * 0.1), Float32Array.from({ length: C }, (_, c) => 0.5 + c));
  const features = randomMatrix(rows, D, mulberry32(2), (u) => u * 6).data; // ReLU-like, non-negative

  it('accepts logits a float32 model computes (float32 accumulation over D = 2048)', () => {
    const logits = float32Logits(head, features, rows);
    expect(() => assertHeadMatchesLogits(head, result(head, features, rows, logits), owner)).not.toThrow();
  });

  it('names the row, class, both values and "bias" when the head has no bias', async () => {
    const logits = exactLogits(head, features, rows);
    const noBias = linearHead(head.weight);
    const error = await caught(() => assertHeadMatchesLogits(noBias, result(noBias, features, rows, logits), owner));
    expect(error.code).toBe('BACKEND_FAILURE');
    expect(error.message).toContain('backend "toy" (model m.toy)');
    // The largest difference is the largest bias (class C - 1), on every row alike up to float32 rounding.
    expect(error.message).toMatch(new RegExp(`row \\d+, class ${C - 1}: extract returned `));
    expect(error.message).toContain(`largest difference ${head.bias[C - 1]!.toPrecision(3)} over the first 16 rows`);
    expect(error.message).toMatch(/W h \+ b is -?\d/);
    expect(error.hint).toMatch(/^Likely cause: the logits differ from W h \+ b by the same amount on every row: the head bias is missing/);
  });

  it('refuses head rows in another class order, and probabilities returned as logits', async () => {
    const logits = exactLogits(head, features, rows);
    const order = Array.from({ length: C }, (_, c) => (c + 1) % C);
    const w = new Float32Array(C * D);
    order.forEach((from, c) => w.set(head.weight.data.subarray(from * D, (from + 1) * D), c * D));
    const permuted = linearHead({ rows: C, cols: D, data: w }, order.map((from) => head.bias[from]!));
    const wrongOrder = await caught(() => assertHeadMatchesLogits(permuted, result(permuted, features, rows, logits), owner));
    expect(wrongOrder.code).toBe('BACKEND_FAILURE');
    expect(wrongOrder.hint).toContain("the head's class rows are in another order than the logits' columns");
    const probabilities = new Float32Array(logits.length);
    for (let n = 0; n < rows; n++) {
      const row = logits.subarray(n * C, (n + 1) * C);
      const max = Math.max(...row);
      const sum = row.reduce((a, v) => a + Math.exp(v - max), 0);
      row.forEach((v, c) => (probabilities[n * C + c] = Math.exp(v - max) / sum));
    }
    const softmax = await caught(() => assertHeadMatchesLogits(head, result(head, features, rows, probabilities), owner));
    expect(softmax.hint).toMatch(/^Likely cause: every logits row is in \[0, 1\] and sums to 1: extract returns probabilities/);
  });
});

describe('assertExtractResult', () => {
  const head = linearHead(randomMatrix(3, 4, mulberry32(3)));
  const good = (n: number): ExtractResult => ({ features: { rows: n, cols: 4, data: new Float32Array(n * 4) }, logits: { rows: n, cols: 3, data: new Float32Array(n * 3) } });

  it('names a missing row, a Float64Array, a plain Array and a wrong width', async () => {
    expect(() => assertExtractResult(good(5), 5, head, owner)).not.toThrow();
    const short = await caught(() => assertExtractResult(good(255), 256, head, owner));
    expect(short).toMatchObject({ code: 'BACKEND_FAILURE' });
    expect(short.message).toContain('extract of backend "toy" (model m.toy) returned bad features: 255 rows for a batch of 256');
    const f64 = { ...good(2), features: { rows: 2, cols: 4, data: new Float64Array(8) } } as unknown as ExtractResult;
    expect((await caught(() => assertExtractResult(f64, 2, head, owner))).message).toContain('features is a Float64Array; extractors must return Float32Array');
    const plain = { ...good(2), logits: { rows: 2, cols: 3, data: [0, 0, 0, 0, 0, 0] } } as unknown as ExtractResult;
    expect((await caught(() => assertExtractResult(plain, 2, head, owner))).message).toContain('logits is a plain Array; extractors must return Float32Array');
    const wide = { ...good(2), logits: { rows: 2, cols: 2, data: new Float32Array(4) } };
    expect((await caught(() => assertExtractResult(wide, 2, head, owner))).message).toContain('2 columns where the head has 3');
  });
});

describe('the extractor and backend contract', () => {
  const head = linearHead(randomMatrix(2, 3, mulberry32(4)));
  const input = { name: 'x', shape: [null, 3], layout: 'flat' } as const;
  const extractor = (): FeatureExtractor => createLinearFeatureExtractor({ head, input });

  it('lists every missing or malformed member', () => {
    expect(featureExtractorProblems(extractor())).toEqual([]);
    const { dispose: _d, extract: _e, ...rest } = { ...extractor(), extract: extractor().extract, dispose: extractor().dispose };
    expect(featureExtractorProblems(rest)).toEqual(['the extractor has no extract method', 'the extractor has no dispose method']);
    const noInputHead = { ...extractor(), extract: async () => ({}), dispose: async () => undefined, input: undefined, head: undefined, specificationVersion: 'v2' };
    const problems = featureExtractorProblems(noInputHead).join('; ');
    expect(problems).toContain(`specificationVersion is "v2", this @opnp/core implements 'v1'`);
    expect(problems).toContain('head is missing');
    expect(problems).toContain('input is missing');
    expect(featureExtractorProblems({ ...noInputHead, specificationVersion: 'v1', head, input: { ...input, shape: [3] } }).join('; ')).toContain('it must start with the batch dimension');
    expect(featureExtractorProblems({ ...noInputHead, specificationVersion: 'v1', head, input: { ...input, layout: 'FLAT' } }).join('; ')).toContain(`input.layout is "FLAT", not one of 'NCHW', 'NHWC', 'flat'`);
  });

  it('loadFeatureExtractor refuses what load returns without dispose, and a backend without canLoad', async () => {
    let disposed = 0;
    const base: Backend = { specificationVersion: 'v1', name: 'contract-test', canLoad: (s) => s === 'no-dispose.ct' || s === 'no-head.ct', load: async () => extractor() };
    registerBackend('contract-test', () => ({
      ...base,
      load: async (source) => {
        const x = extractor();
        if (source === 'no-head.ct') return { ...x, extract: x.extract, dispose: async () => void disposed++, head: undefined } as unknown as FeatureExtractor;
        return { ...x, extract: x.extract, dispose: undefined } as unknown as FeatureExtractor;
      },
    }), 50);
    const noDispose = await caught(() => loadFeatureExtractor('no-dispose.ct'));
    expect(noDispose.code).toBe('BACKEND_FAILURE');
    expect(noDispose.message).toContain('The extractor loaded by backend "contract-test" (model no-dispose.ct) does not implement FeatureExtractor v1: the extractor has no dispose method');
    const noHead = await caught(() => loadFeatureExtractor('no-head.ct'));
    expect(noHead.message).toContain('head is missing');
    expect(disposed, 'the refused extractor is disposed of').toBe(1);
    registerBackend('contract-no-canload', () => ({ ...base, name: 'contract-no-canload', canLoad: undefined }) as unknown as Backend, 60);
    const noCanLoad = await caught(() => loadFeatureExtractor('other.file'));
    expect(noCanLoad.code).toBe('BACKEND_UNAVAILABLE');
    expect(noCanLoad.message).toContain('contract-no-canload (failed to initialise: The backend registered as "contract-no-canload" does not implement Backend v1: it has no canLoad method');
    expect(noCanLoad.hint).toContain("a custom backend's register module");
  });
});
