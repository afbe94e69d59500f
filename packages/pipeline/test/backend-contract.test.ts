/**
 * The pipeline's checks of a custom backend's extractor: its members before any work, each extract result (rows,
 * float32), the head against the logits on the first batch (`logits = W h + b`), and its maxBatchSize.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLinearFeatureExtractor, linearHead, mulberry32, portableGemmKernel, type ExtractResult, type FeatureExtractor, type InputBatch, type OpnpError } from '@opnp/core';
import { randomMatrix } from '@opnp/core/testing';
import { writeNpy } from '@opnp/datasets/node';
import { evaluate, type EvaluationConfig, type LoadedModel } from '../src/index.js';
import { tempDir } from './helpers.js';

const I = 6;
const D = 8;
const C = 3;
const projection = randomMatrix(D, I, mulberry32(1));
const head = linearHead(randomMatrix(C, D, mulberry32(2)), [0.5, -1, 2]);
const input = { name: 'x', shape: [null, I], layout: 'flat' } as const;

let specs: { train: string; test: string; ood: string };
beforeAll(async () => {
  const dir = tempDir();
  const set = async (name: string, n: number, seed: number, shift: number) => {
    await writeNpy(join(dir, name), randomMatrix(n, I, mulberry32(seed), (u) => u * 2 - 1 + shift));
    return `npy:${join(dir, name)}`;
  };
  specs = { train: await set('train.npy', 300, 3, 0), test: await set('test.npy', 100, 4, 0), ood: await set('ood.npy', 100, 5, 1.5) };
});

/** The linear extractor with some members replaced (`extract` and `dispose` bound to it unless replaced). */
function extractor(overrides: Partial<Record<keyof FeatureExtractor, unknown>> = {}): FeatureExtractor {
  const base = createLinearFeatureExtractor({ projection, head, input });
  return { ...base, extract: (b: InputBatch) => base.extract(b), dispose: () => base.dispose(), ...overrides } as FeatureExtractor;
}

/** `extract` of the plain linear extractor, its result passed through `f`. */
function mapped(f: (r: ExtractResult, batch: InputBatch) => unknown): (b: InputBatch) => Promise<unknown> {
  const base = createLinearFeatureExtractor({ projection, head, input });
  return async (b) => f(await base.extract(b), b);
}

function config(x: FeatureExtractor, extra: Partial<EvaluationConfig> = {}): EvaluationConfig {
  const model: LoadedModel = { path: 'toy-in-memory', identity: 'toy-in-memory', extractor: x, kernel: portableGemmKernel };
  return { model, train: specs.train, test: specs.test, ood: [{ name: 'ood', spec: specs.ood }], methods: ['msp', 'energy'], ...extra };
}

async function failure(x: FeatureExtractor, extra: Partial<EvaluationConfig> = {}): Promise<OpnpError> {
  const error = await evaluate(config(x, extra)).then(
    () => undefined,
    (e: unknown) => e as OpnpError,
  );
  expect(error, 'evaluate should fail').toBeDefined();
  return error!;
}

describe('evaluate with a custom extractor', () => {
  it('runs one whose head reproduces its logits', async () => {
    const { report } = await evaluate(config(extractor()));
    expect(report.counts.idTest).toBe(100);
  });

  it('refuses a head without its bias, head rows in another class order, and probabilities for logits', async () => {
    const noBias = await failure(extractor({ head: linearHead(head.weight) }));
    expect(noBias.code).toBe('BACKEND_FAILURE');
    expect(noBias.message).toMatch(/^The logits of backend "linear" \(model toy-in-memory\) are not W h \+ b of its head: row \d+, class \d+: extract returned -?[\d.]+, W h \+ b is -?[\d.]+/);
    expect(noBias.hint).toContain('the head bias is missing');
    const order = [1, 2, 0];
    const w = new Float32Array(C * D);
    order.forEach((from, c) => w.set(head.weight.data.subarray(from * D, (from + 1) * D), c * D));
    const permuted = await failure(extractor({ head: linearHead({ rows: C, cols: D, data: w }, order.map((from) => head.bias[from]!)) }));
    expect(permuted.hint).toContain("the head's class rows are in another order than the logits' columns");
    const softmax = mapped((r) => {
      const p = new Float32Array(r.logits.data.length);
      for (let n = 0; n < r.logits.rows; n++) {
        const row = r.logits.data.subarray(n * C, (n + 1) * C);
        const m = Math.max(...row);
        const s = row.reduce((a, v) => a + Math.exp(v - m), 0);
        row.forEach((v, c) => (p[n * C + c] = Math.exp(v - m) / s));
      }
      return { features: r.features, logits: { ...r.logits, data: p } };
    });
    expect((await failure(extractor({ extract: softmax }))).hint).toContain('extract returns probabilities (softmax), not the pre-softmax logits');
  });

  it('trusts the head check an extractor ran itself (the built-in backends do not pay twice)', async () => {
    const checked = { maxAbsDiff: 0, maxRelDiff: 0, withinTolerance: true, samples: 16 };
    const { report } = await evaluate(config(extractor({ head: linearHead(head.weight), headCheck: checked })));
    expect(report.counts.idTest).toBe(100);
  });

  it('names a result with a row missing, or Float64Array / plain Array data', async () => {
    const short = mapped((r) => ({ features: { ...r.features, rows: r.features.rows - 1, data: r.features.data.subarray(D) }, logits: r.logits }));
    const error = await failure(extractor({ extract: short }));
    expect(error.code).toBe('BACKEND_FAILURE');
    const [, got, asked] = /^extract of backend "linear" \(model toy-in-memory\) returned bad features: (\d+) rows for a batch of (\d+)/.exec(error.message) ?? [];
    expect([Number(got), Number(asked)]).toEqual([Number(asked) - 1, Number(asked)]);
    const f64 = mapped((r) => ({ features: { ...r.features, data: Float64Array.from(r.features.data) }, logits: r.logits }));
    expect((await failure(extractor({ extract: f64 }))).message).toContain('features is a Float64Array; extractors must return Float32Array');
    const plain = mapped((r) => ({ features: r.features, logits: { ...r.logits, data: Array.from(r.logits.data) } }));
    expect((await failure(extractor({ extract: plain }))).message).toContain('logits is a plain Array; extractors must return Float32Array');
  });

  it('refuses an extractor without dispose before running anything', async () => {
    let calls = 0;
    const error = await failure(extractor({ dispose: undefined, extract: mapped((r) => (calls++, r)) }));
    expect(error.code).toBe('BACKEND_FAILURE');
    expect(error.message).toContain('The extractor loaded by backend "linear" (model toy-in-memory) does not implement FeatureExtractor v1: the extractor has no dispose method');
    expect(calls).toBe(0);
  });

  it("uses the extractor's maxBatchSize when no batch size is chosen, and names it when one too large is", async () => {
    let largest = 0;
    const limited = () => extractor({ maxBatchSize: 10, extract: mapped((r, b) => ((largest = Math.max(largest, b.shape[0]!)), r)) });
    const infos: string[] = [];
    const { report } = await evaluate(config(limited(), { onInfo: (m) => infos.push(m) }));
    expect(report.counts.idTest).toBe(100);
    expect(largest).toBe(10);
    expect(infos).toContain('model: the extractor of backend "linear" takes at most 10 samples per batch (maxBatchSize): using batches of 10');
    const chosen = await failure(limited(), { batchSize: 256 });
    expect(chosen.code).toBe('INVALID_ARGUMENT');
    expect(chosen.message).toContain('A batch of 256 samples is more than the extractor of backend "linear" takes: its maxBatchSize is 10');
    expect(chosen.hint).toContain('Pass batchSize: 10');
  });
});
