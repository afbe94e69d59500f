/**
 * The built-in methods compute their head products (composed scores, ViM's energy, the fit logits of KL matching,
 * SHE and NNGuide; and ViM's and Residual's float64 projections) with the run's kernel (`context.kernel`), never with core's portable kernel, and their scores
 * depend on the kernel only through the float32 rounding of the logits (docs/numerics.md#score-composition).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import '@opnp/backend-onnx/register';
import {
  computeSensitivity,
  fitKlMatching,
  fitNnGuide,
  fitShe,
  fitVimAsync,
  klMatchingScore,
  linearHead,
  logits,
  logitsWith,
  neuronSensitivity,
  nnGuideScore,
  portableGemmKernel,
  resolveGemmKernel,
  residualScoreAsync,
  sheScore,
  vimScoreAsync,
  mulberry32 as mulberry,
  type GemmKernel,
} from '@opnp/core';
import { FLOAT32_UNIT_ROUNDOFF, counting, headLogitBound, portableRoundings, randomMatrix, roundedFloat64GemmKernel, rowMaxima, type GemmCall } from '@opnp/core/testing';
import { BUILTIN_METHODS, createMethodRegistry, fitScorers, methodKernel, type MethodContext } from '../src/index.js';

const C = 23;
const D = 600; // three slices of 256 products in the portable kernel
const head = linearHead(randomMatrix(C, D, mulberry(1), (u) => (u * 2 - 1) * 0.1), randomMatrix(1, C, mulberry(2), (u) => u - 0.5).data);
const fitFeatures = randomMatrix(300, D, mulberry(3), (u) => Math.max(0, u * 3 - 1));
const test = randomMatrix(37, D, mulberry(4), (u) => Math.max(0, u * 3 - 1));
const testLogits = logits(head, test);

/** Methods that score through a (pruned, DICE or transformed) head: one head product per scored batch. */
const COMPOSED = ['react', 'dice', 'dice+react', 'ash-p', 'ash-b', 'ash-s', 'scale', 'opp', 'onp', 'opnp', 'opnp+react', 'msp+opnp', 'energy+opnp', 'react+opnp', 'opp+react'];
/** Methods whose fit multiplies the fit subset by the head. */
const FIT_LOGITS = ['klm', 'she', 'nnguide'];

async function contextWith(kernel: GemmKernel): Promise<MethodContext> {
  const f = logits(head, fitFeatures);
  const fitLabels = Int32Array.from({ length: fitFeatures.rows }, (_, n) => {
    let y = 0;
    for (let c = 1; c < C; c++) if (f.data[n * C + c]! > f.data[n * C + y]!) y = c;
    return n % 4 === 0 ? (y + 1) % C : y;
  });
  const sensitivity = await computeSensitivity(head, fitFeatures);
  const opnp = { sensitivity, neuronSensitivity: neuronSensitivity(sensitivity), percentages: { pMin: 20, pMax: 5, nMin: 10, nMax: 5 } };
  return { head, fitFeatures, fitLabels, opnp, kernel };
}

/** Scores of `methods` on the test rows (fitted on `context`), by method. */
async function scoresOf(methods: readonly string[], context: MethodContext, options = {}): Promise<Map<string, Float32Array>> {
  const scorers = await fitScorers(createMethodRegistry(), methods, context, options);
  const out = new Map<string, Float32Array>();
  for (const [name, scorer] of scorers) out.set(name, await scorer(test, testLogits));
  return out;
}

/** The head product of a scored batch among `calls`: op(a) = the (transformed) test rows, op(b) = a `C x D` head. */
const isHeadProduct = (rows: number) => (c: GemmCall) => c.m === rows && c.k === D && c.n === C && c.transB;

afterEach(() => vi.restoreAllMocks());

describe('built-in methods through the run kernel', () => {
  it('no built-in method multiplies with the portable kernel when the run has a kernel; head methods use it', async () => {
    const run = counting(roundedFloat64GemmKernel);
    const context = await contextWith(run.kernel);
    const methods = Object.keys(BUILTIN_METHODS).filter((m) => BUILTIN_METHODS[m]!.needs?.inputs !== true);
    const portable = vi.spyOn(portableGemmKernel, 'gemmSync');
    for (const method of methods) {
      run.calls.length = 0;
      const scorer = (await fitScorers(createMethodRegistry(), [method], context, { knn: { k: 5 }, vim: { dim: 500 }, residual: { dim: 500 } })).get(method)!;
      const fitCalls = run.calls.splice(0);
      await scorer(test, testLogits);
      if (COMPOSED.includes(method) || method === 'vim') expect(run.calls.filter(isHeadProduct(test.rows)).length, method).toBe(1);
      if (FIT_LOGITS.includes(method)) expect(fitCalls.filter(isHeadProduct(fitFeatures.rows)).length, method).toBe(1);
    }
    expect(portable).not.toHaveBeenCalled();
  });

  it('composed scores: the same with the portable kernel and another, up to the float32 rounding of the logits', async () => {
    const portable = await scoresOf(COMPOSED, await contextWith(portableGemmKernel));
    const onnx = await resolveGemmKernel();
    expect(onnx.name).toBe('onnxruntime');
    // Roundings along one dot product, the portable kernel's plus the other's: one for the rounded-float64 reference,
    // up to D for onnxruntime's float32 accumulation.
    for (const [other, roundings] of [[roundedFloat64GemmKernel, 1], [onnx, D]] as const) {
      const run = counting(other);
      const context = await contextWith(run.kernel);
      for (const method of COMPOSED) {
        run.calls.length = 0;
        const got = (await scoresOf([method], context)).get(method)!;
        const product = run.calls.find(isHeadProduct(test.rows))!;
        const rowBound = rowMaxima(headLogitBound(product.a, { weight: product.b, bias: head.bias }, portableRoundings(D) + roundings), C);
        const want = portable.get(method)!;
        for (let n = 0; n < test.rows; n++) {
          const allowed = rowBound[n]! + FLOAT32_UNIT_ROUNDOFF * (Math.abs(got[n]!) + Math.abs(want[n]!));
          expect(Math.abs(got[n]! - want[n]!), `${method} with ${other.name}, row ${n}`).toBeLessThanOrEqual(allowed);
        }
      }
    }
  });

  it('vim, residual and the fit-logit methods score as their core functions with the logits of the run kernel', async () => {
    const kernel = await resolveGemmKernel();
    const context = await contextWith(kernel);
    const got = await scoresOf(['vim', 'residual', ...FIT_LOGITS], context, { vim: { dim: 500 }, residual: { dim: 500 }, nnguide: { bankFraction: 1 } });
    const fitLogits = await logitsWith(kernel, head, fitFeatures);
    const vim = await fitVimAsync(fitFeatures, head, { dim: 500, kernel });
    const want: Record<string, Float32Array> = {
      vim: await vimScoreAsync(vim, test, { kernel }),
      residual: await residualScoreAsync(vim, test, { kernel }),
      klm: klMatchingScore(fitKlMatching(fitLogits), testLogits),
      she: sheScore(fitShe(fitFeatures, context.fitLabels, head, { trainLogits: fitLogits }), test, testLogits),
      nnguide: nnGuideScore(fitNnGuide(fitFeatures, fitLogits, { k: 10 }), test, testLogits),
    };
    for (const [method, scores] of Object.entries(want)) expect(Array.from(got.get(method)!), method).toEqual(Array.from(scores));
  });

  it('methodKernel: the context kernel, else the fastest registered one', async () => {
    expect(await methodKernel({ kernel: roundedFloat64GemmKernel })).toBe(roundedFloat64GemmKernel);
    expect(await methodKernel({})).toBe(await resolveGemmKernel());
  });
});
