/**
 * Every head pattern: LayersModels built here with tfjs-layers (saved and loaded back through the file system),
 * and small GraphDefs. Each detected head must reproduce the model's own output as W h + b (brute force here).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOpnpError } from '@opnp/core';
import { GraphDefBuilder, attr, fileSystemIO, initTfjsBackend, loadTfjsFeatureExtractor, type TfjsLoadOptions } from '../src/node/index.js';
import { bruteLogits, firstMismatch, seeded, tempDir } from './helpers.js';

const D = 6;
const C = 4;
const N = 3;
let tmp: ReturnType<typeof tempDir>;
beforeAll(async () => {
  await initTfjsBackend({ prefer: 'cpu' });
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

async function saved(model: tfl.LayersModel, name: string): Promise<string> {
  const dir = `${tmp.dir}/${name}`;
  await model.save(fileSystemIO(dir));
  model.dispose();
  return `${dir}/model.json`;
}

async function expectCode(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  const error = await p.then(() => undefined, (e: unknown) => e);
  expect(isOpnpError(error), String(error)).toBe(true);
  expect((error as { code: string }).code).toBe(code);
  if (message) expect((error as Error).message).toMatch(message);
}

/** Loads, extracts on seeded inputs, and checks logits == W h + b (brute force) and == the expected model output. */
async function checkHead(source: Parameters<typeof loadTfjsFeatureExtractor>[0], inputShape: number[], options: TfjsLoadOptions, expectLogits?: (x: tf.Tensor) => tf.Tensor) {
  const warnings: string[] = [];
  const extractor = await loadTfjsFeatureExtractor(source, { backend: 'cpu', onWarning: (m) => warnings.push(m), ...options });
  const per = inputShape.reduce((a, b) => a * b, 1);
  const data = seeded(N * per, 7);
  const { features, logits } = await extractor.extract({ data, shape: [N, ...inputShape] });
  const { weight, bias } = extractor.head;
  const brute = bruteLogits(features.data, N, weight.data, bias, weight.rows, weight.cols);
  expect(firstMismatch(logits.data, brute, 1e-5, 1e-5)).toBeUndefined();
  if (expectLogits) {
    const want = tf.tidy(() => expectLogits(tf.tensor(data, [N, ...inputShape]))).dataSync();
    expect(firstMismatch(logits.data, want, 1e-5, 1e-5)).toBeUndefined();
  }
  await extractor.dispose();
  return { extractor, warnings };
}

describe('LayersModel heads', () => {
  function mlp(headActivation: 'linear' | 'softmax', tail?: 'softmax-layer' | 'activation-layer' | 'dropout'): tfl.Sequential {
    const m = tfl.sequential();
    m.add(tfl.layers.dense({ units: D, inputShape: [5], activation: 'relu', name: 'body' }));
    m.add(tfl.layers.dense({ units: C, activation: headActivation, name: 'head', biasInitializer: 'randomNormal' }));
    if (tail === 'softmax-layer') m.add(tfl.layers.softmax({ name: 'probs' }));
    if (tail === 'activation-layer') m.add(tfl.layers.activation({ activation: 'softmax', name: 'probs' }));
    if (tail === 'dropout') m.add(tfl.layers.dropout({ rate: 0.5, name: 'drop' }));
    return m;
  }

  it('last Dense (linear) of a Sequential model, saved and loaded back from disk', async () => {
    const m = mlp('linear');
    const path = await saved(m, 'linear');
    const loaded = await tfl.loadLayersModel(fileSystemIO(path));
    const { extractor, warnings } = await checkHead(path, [5], {}, (x) => loaded.predict(x) as tf.Tensor);
    loaded.dispose();
    expect(extractor.detection).toMatchObject({ kind: 'layers-model', layer: 'head', featureLayer: 'body', outputIsProbabilities: false });
    expect(warnings).toEqual([]);
  });

  it('Dense with softmax activation: logits are its pre-activation (warned)', async () => {
    const path = await saved(mlp('softmax'), 'softmax-act');
    const { extractor, warnings } = await checkHead(path, [5], {});
    expect(extractor.detection).toMatchObject({ layer: 'head', activation: 'softmax', outputIsProbabilities: true });
    expect(warnings.join()).toMatch(/probabilities/);
  });

  for (const tail of ['softmax-layer', 'activation-layer', 'dropout'] as const) {
    it(`looks through a trailing ${tail}`, async () => {
      const path = await saved(mlp('linear', tail), `tail-${tail}`);
      const { extractor } = await checkHead(path, [5], {});
      expect(extractor.detection).toMatchObject({ layer: 'head', outputIsProbabilities: tail !== 'dropout' });
    });
  }

  it('functional model with two outputs: ambiguous, candidates listed; headNode resolves it', async () => {
    const input = tfl.input({ shape: [5] });
    const body = tfl.layers.dense({ units: D, activation: 'relu', name: 'body' }).apply(input) as tfl.SymbolicTensor;
    const a = tfl.layers.dense({ units: C, name: 'head_a' }).apply(body) as tfl.SymbolicTensor;
    const b = tfl.layers.dense({ units: 2, name: 'head_b' }).apply(body) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: [a, b] });
    const path = await saved(model, 'two-heads');
    await expectCode(loadTfjsFeatureExtractor(path, { backend: 'cpu' }), 'MODEL_HEAD_AMBIGUOUS', /head_a.*head_b/);
    const { extractor } = await checkHead(path, [5], { headNode: 'head_b' });
    expect([extractor.head.weight.rows, extractor.head.weight.cols]).toEqual([2, D]);
    await expectCode(loadTfjsFeatureExtractor(path, { backend: 'cpu', featureTensor: 'body' }), 'MODEL_HEAD_AMBIGUOUS');
    await expectCode(loadTfjsFeatureExtractor(path, { backend: 'cpu', headNode: 'body', featureTensor: 'nope' }), 'MODEL_HEAD_NOT_FOUND');
  });

  it('featureTensor picks the Dense that reads it', async () => {
    const path = await saved(mlp('linear'), 'by-feature');
    const { extractor } = await checkHead(path, [5], { featureTensor: 'body' });
    expect(extractor.detection).toMatchObject({ layer: 'head' });
  });

  it('an output not produced by Dense: MODEL_HEAD_NOT_FOUND listing the Dense layers', async () => {
    const m = tfl.sequential();
    m.add(tfl.layers.dense({ units: D, inputShape: [5], name: 'only_dense' }));
    m.add(tfl.layers.reshape({ targetShape: [2, 3], name: 'reshape' }));
    const path = await saved(m, 'no-head');
    await expectCode(loadTfjsFeatureExtractor(path, { backend: 'cpu' }), 'MODEL_HEAD_NOT_FOUND', /only_dense/);
    await expectCode(loadTfjsFeatureExtractor(path, { backend: 'cpu', headNode: 'reshape' }), 'MODEL_HEAD_NOT_FOUND', /not a Dense layer/);
  });

  it('a CNN (Conv2D -> GlobalAveragePooling2D -> Dense) saved to disk', async () => {
    const m = tfl.sequential();
    m.add(tfl.layers.conv2d({ inputShape: [6, 6, 2], filters: 5, kernelSize: 3, activation: 'relu', name: 'conv' }));
    m.add(tfl.layers.globalAveragePooling2d({ name: 'gap' }));
    m.add(tfl.layers.dense({ units: 3, name: 'fc' }));
    const path = await saved(m, 'cnn');
    const { extractor } = await checkHead(path, [6, 6, 2], {});
    expect(extractor.input.layout).toBe('NHWC');
    expect(extractor.detection).toMatchObject({ layer: 'fc', featureLayer: 'gap' });
  });
});

describe('GraphModel heads', () => {
  const W = seeded(D * C, 3); // stored as [D, C] unless transposed
  const WT = new Float32Array(C * D);
  for (let j = 0; j < D; j++) for (let c = 0; c < C; c++) WT[c * D + j] = W[j * C + c]!;
  const B = seeded(C, 4);
  const body = seeded(5 * D, 5);

  /** input [N, 5] -> Relu(MatMul(x, body)) = features -> head(...) */
  function graph(head: (b: GraphDefBuilder, h: string) => string | string[], name = 'g'): ReturnType<GraphDefBuilder['artifacts']> {
    const b = new GraphDefBuilder();
    const x = b.placeholder('x', [null, 5]);
    const h = b.op('Relu', [b.op('MatMul', [x, b.constant('body/w', body, [5, D])], {}, 'body/MatMul')], {}, 'features');
    const outs = head(b, h);
    void name;
    return b.artifacts([{ name: x, shape: [null, 5] }], Array.isArray(outs) ? outs : [outs]);
  }
  const reference = (x: tf.Tensor) => tf.add(tf.matMul(tf.relu(tf.matMul(x, tf.tensor2d(body, [5, D]))), tf.tensor2d(W, [D, C])), B);

  const cases: [string, (b: GraphDefBuilder, h: string) => string | string[], string, boolean][] = [
    ['MatMul + BiasAdd', (b, h) => b.op('BiasAdd', [b.op('MatMul', [h, b.constant('w', W, [D, C])]), b.constant('b', B, [C])], {}, 'logits'), 'MatMul+BiasAdd', false],
    ['Add(bias, MatMul) (bias first)', (b, h) => b.op('Add', [b.constant('b', B, [C]), b.op('MatMul', [h, b.constant('w', W, [D, C])])], {}, 'logits'), 'MatMul+Add', false],
    ['AddV2 + transpose_b', (b, h) => b.op('AddV2', [b.op('MatMul', [h, b.constant('w', WT, [C, D])], { transpose_b: attr.bool(true) }), b.constant('b', B, [C])], {}, 'logits'), 'MatMul+Add', false],
    ['_FusedMatMul [BiasAdd]', (b, h) => b.op('_FusedMatMul', [h, b.constant('w', W, [D, C]), b.constant('b', B, [C])], { fused_ops: attr.strings(['BiasAdd']), num_args: attr.int(1) }, 'logits'), '_FusedMatMul', false],
    ['MatMul + BiasAdd + Softmax (+ Identity)', (b, h) => b.op('Identity', [b.op('Softmax', [b.op('BiasAdd', [b.op('MatMul', [h, b.constant('w', W, [D, C])]), b.constant('b', B, [C])], {}, 'logits')], {}, 'probs')], {}, 'out'), 'MatMul+BiasAdd', true],
    ['MatMul + BiasAdd + LogSoftmax (tf.nn.log_softmax)', (b, h) => b.op('LogSoftmax', [b.op('BiasAdd', [b.op('MatMul', [h, b.constant('w', W, [D, C])]), b.constant('b', B, [C])], {}, 'logits')], {}, 'logprobs'), 'MatMul+BiasAdd', true],
    ['_FusedMatMul + Softmax', (b, h) => b.op('Softmax', [b.op('_FusedMatMul', [h, b.constant('w', W, [D, C]), b.constant('b', B, [C])], { fused_ops: attr.strings(['BiasAdd']), num_args: attr.int(1) }, 'logits')], {}, 'probs'), '_FusedMatMul', true],
  ];
  for (const [title, head, pattern, probabilities] of cases) {
    it(title, async () => {
      const { extractor, warnings } = await checkHead(graph(head), [5], {}, reference);
      expect(extractor.detection).toMatchObject({ kind: 'graph-model', pattern, logitsNode: 'logits', featureTensor: 'features', outputIsProbabilities: probabilities });
      expect(firstMismatch(extractor.head.weight.data, WT, 0)).toBeUndefined();
      expect(firstMismatch(extractor.head.bias, B, 0)).toBeUndefined();
      expect(warnings.length).toBe(probabilities ? 1 : 0);
    });
  }

  it('bare MatMul (no bias): zero bias', async () => {
    const { extractor } = await checkHead(graph((b, h) => b.op('MatMul', [h, b.constant('w', W, [D, C])], {}, 'logits')), [5], {}, (x) => tf.sub(reference(x), B));
    expect(extractor.detection).toMatchObject({ pattern: 'MatMul' });
    expect(Array.from(extractor.head.bias)).toEqual([0, 0, 0, 0]);
  });

  it('a _FusedMatMul with a fused Relu is not a head: NOT_FOUND with candidates', async () => {
    const a = graph((b, h) => b.op('_FusedMatMul', [h, b.constant('w', W, [D, C]), b.constant('b', B, [C])], { fused_ops: attr.strings(['BiasAdd', 'Relu']), num_args: attr.int(1) }, 'logits'));
    await expectCode(loadTfjsFeatureExtractor(a, { backend: 'cpu' }), 'MODEL_HEAD_NOT_FOUND', /fused_ops \[BiasAdd, Relu\].*body\/MatMul/);
  });

  it('two linear outputs: ambiguous; headNode (a MatMul, extended to its BiasAdd) or featureTensor resolves', async () => {
    const two = () =>
      graph((b, h) => [
        b.op('BiasAdd', [b.op('MatMul', [h, b.constant('w', W, [D, C])], {}, 'head/MatMul'), b.constant('b', B, [C])], {}, 'logits'),
        b.op('MatMul', [b.op('Tanh', [h], {}, 'other_features'), b.constant('w2', W, [D, C])], {}, 'aux'),
      ]);
    await expectCode(loadTfjsFeatureExtractor(two(), { backend: 'cpu' }), 'MODEL_HEAD_AMBIGUOUS', /logits.*aux/);
    const byNode = await checkHead(two(), [5], { headNode: 'head/MatMul' });
    expect(byNode.extractor.detection).toMatchObject({ logitsNode: 'logits', pattern: 'MatMul+BiasAdd' });
    const byFeature = await checkHead(two(), [5], { featureTensor: 'other_features' });
    expect(byFeature.extractor.detection).toMatchObject({ logitsNode: 'aux', featureTensor: 'other_features' });
    await expectCode(loadTfjsFeatureExtractor(two(), { backend: 'cpu', headNode: 'missing' }), 'MODEL_HEAD_NOT_FOUND', /head\/MatMul/);
  });
});
