/**
 * Plausible mistakes of a new user with the inputs (a class folder missing, normalisation given in the wrong
 * units, flags that contradict each other): each ends in a clear error or a warning on stderr, never in exit 0
 * with silently wrong numbers. Through the CLI on the demo's MNIST.
 */
import { copyFileSync, cpSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { encodeNpy, loadIdx, loadNpy } from '@opnp/datasets/node';
import onnxProto from 'onnx-proto';
import { describeOnnxDetector, loadOnnxModel } from '@opnp/backend-onnx';
import { demoAssetPath } from '../src/commands/demo.js';
import { cli, FASHION, FASHION_VAL, MODEL, NORMALISE, tempDir, TEST, TRAIN } from './helpers.js';

const SMALL_TRAIN = ['--train', TRAIN, '--train-fraction', '0.05'];

/** Writes the first `count` MNIST test images as PNGs into `root/<digit>/`, leaving out the digits in `skip`. */
async function digitFolder(root: string, count: number, skip: readonly number[]): Promise<void> {
  const images = await loadIdx(demoAssetPath('mnist-test-2500-images-idx3-ubyte.gz'));
  const labels = await loadIdx(demoAssetPath('mnist-test-2500-labels-idx1-ubyte.gz'));
  const [, h, w] = images.dims as [number, number, number];
  for (let i = 0; i < count; i++) {
    const digit = Number(labels.data[i]);
    if (skip.includes(digit)) continue;
    mkdirSync(join(root, String(digit)), { recursive: true });
    const pixels = Buffer.from((images.data as Uint8Array).subarray(i * h * w, (i + 1) * h * w));
    await sharp(pixels, { raw: { width: w, height: h, channels: 1 } }).png().toFile(join(root, String(digit), `${i}.png`));
  }
}

describe('A6. an image folder missing a class', () => {
  it('is refused as the ID test set, naming the folder, the classes found and the model\'s; an empty class folder keeps the numbering', async () => {
    const dir = tempDir();
    const folder = join(dir, 'digits');
    await digitFolder(folder, 100, [3]);
    const base = ['eval', '--model', MODEL, ...SMALL_TRAIN, ...NORMALISE, '--methods', 'msp', '--val-noise', '50'];
    const missing = await cli([...base, '--test', `folder:${folder}`, '--ood', `f=${FASHION_VAL}`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`opnp: the image folder ${folder} has 9 class folders (0, 1, 2, 4, 5, 6, 7, 8, 9) but the model has 10 classes`);
    expect(missing.stderr).toMatch(/pass --test-labels <file>/);
    expect(missing.stdout).toBe('');
    // As an OOD set its labels are not used: accepted.
    const ood = await cli([...base, '--test', `idx:${demoAssetPath('mnist-test-2500-images-idx3-ubyte.gz')}`, '--ood', `f=folder:${folder}`]);
    expect(ood.stderr).not.toMatch(/class folders/);
    expect(ood.code).toBe(0);
    // The class present as an empty folder: every label in place (accuracy as high as on the IDX test set).
    mkdirSync(join(folder, '3'));
    const complete = await cli([...base, '--test', `folder:${folder}`, '--ood', `f=${FASHION_VAL}`]);
    expect(complete.code).toBe(0);
    const accuracy = Number(/ID accuracy: ([\d.]+)%/.exec(complete.stdout)?.[1]);
    expect(accuracy).toBeGreaterThan(90);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('A6. a training folder missing a class', () => {
  it('is refused only when a method uses the training labels', async () => {
    const dir = tempDir();
    const folder = join(dir, 'digits');
    await digitFolder(folder, 100, [3]);
    const base = ['eval', '--model', MODEL, '--train', `folder:${folder}`, '--test', TEST, '--ood', `f=${FASHION_VAL}`, ...NORMALISE, '--val-noise', '50', '-q'];
    const energy = await cli([...base, '--methods', 'energy']);
    expect(energy.code, energy.stderr).toBe(0);
    const mahalanobis = await cli([...base, '--methods', 'energy,mahalanobis']);
    expect(mahalanobis.code).toBe(1);
    expect(mahalanobis.stderr).toMatch(/has 9 class folders .* but the model has 10 classes.*--train-labels <file>/);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('A6. an image folder missing a class, extracted with its labels', () => {
  it('is refused when the labels are written (--labels-out), accepted for features only', async () => {
    const dir = tempDir();
    const folder = join(dir, 'digits');
    await digitFolder(folder, 100, [7]);
    const base = ['extract', '--model', MODEL, '--data', `folder:${folder}`, ...NORMALISE, '-q'];
    const labelled = await cli([...base, '--out', join(dir, 'f.npy'), '--labels-out', join(dir, 'y.npy')]);
    expect(labelled.code).toBe(1);
    expect(labelled.stderr).toContain(`the image folder ${folder} has 9 class folders (0, 1, 2, 3, 4, 5, 6, 8, 9) but the model has 10 classes`);
    expect(labelled.stderr).toMatch(/pass --labels <file>/);
    expect(existsSync(join(dir, 'y.npy'))).toBe(false);
    const featuresOnly = await cli([...base, '--out', join(dir, 'g.npy')]);
    expect(featuresOnly.code, featuresOnly.stderr).toBe(0);
    // Marked #nolabels: its folder names are no labels, so nothing is compared with the model's classes; the labels
    // written are -1 (unknown) for the same rows, as for any unlabelled set.
    const unlabelled = await cli(['extract', '--model', MODEL, '--data', `folder:${folder}#nolabels`, ...NORMALISE, '-q', '--out', join(dir, 'h.npy'), '--labels-out', join(dir, 'z.npy')]);
    expect(unlabelled.code, unlabelled.stderr).toBe(0);
    const features = await loadNpy(join(dir, 'g.npy'));
    expect((await loadNpy(join(dir, 'h.npy'))).data).toEqual(features.data);
    expect(Array.from((await loadNpy(join(dir, 'z.npy'))).data)).toEqual(new Array(features.shape[0]).fill(-1));
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('C1. opnp export without --mean/--std', () => {
  it('records no normalisation and says so in words, in the JSON and in the snippets\' header', async () => {
    const dir = tempDir();
    const out = join(dir, 'd.onnx');
    const run = await cli(['export', '--model', MODEL, ...SMALL_TRAIN, '--opnp', 'p_min=10,p_max=1,n_min=10,n_max=1', '--out', out, '-q']);
    expect(run.code).toBe(0);
    const recorded = describeOnnxDetector(await loadOnnxModel(out)).preprocessing;
    expect(recorded).toEqual({ layout: 'NCHW', channels: 1, resize: 28, centerCrop: [28, 28] });
    expect(run.stdout).toContain('input preprocessing (recorded as opnp.preprocess): resize the shorter side to 28, centre-crop 28 x 28, grey (1 channel), x / 255, no mean/std normalisation, NCHW');
    expect(run.stdout).toContain(`    ${JSON.stringify(recorded)}`);
    expect(run.stdout).toMatch(/no --mean\/--std given: the detector expects pixels only scaled to \[0, 1\]; .* export again with its --mean and --std/);
    expect(run.stdout).toContain('(input preprocessed as recorded: x / 255 only, no mean/std normalisation, shape [1, 1, 28, 28])');
    expect(run.stdout).not.toContain('as for --train');
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('C2. implausible normalisation values', () => {
  const extract = (dir: string, ...flags: string[]) => cli(['extract', '--model', MODEL, '--data', FASHION_VAL, '--out', join(dir, 'f.npy'), '-q', ...flags]);

  it.each([
    [['--std', '0'], '--std: standard deviations must be > 0, got 0'],
    [['--std', '-1'], '--std: standard deviations must be > 0, got -1'],
    [['--std', '0.2,-0.3,0.2'], '--std: standard deviations must be > 0, got -0.3 in "0.2,-0.3,0.2"'],
    [['--std', '0x10'], '--std: expected a decimal number or comma-separated decimal numbers (one per channel), got "0x10"'],
    [['--mean', 'NaN'], '--mean: expected a decimal number or comma-separated decimal numbers (one per channel), got "NaN"'],
    [['--mean', '0b1'], '--mean: expected a decimal number or comma-separated decimal numbers (one per channel), got "0b1"'],
  ])('%j is an error before any work', async (flags, message) => {
    const dir = tempDir();
    const run = await extract(dir, ...flags);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`opnp: ${message}\n`);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a mean outside [0, 1] or a std above 1 is a warning on stderr (even with --quiet), naming the likely intended values', async () => {
    const dir = tempDir();
    const run = await extract(dir, '--mean', '33.3', '--std', '77.1');
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('opnp: warning: --mean 33.3 is outside [0, 1]: the mean is subtracted from pixels already scaled to [0, 1] (x / 255); for a mean given in percent or on the 0-255 scale pass 0.333 (if it is in percent) or 0.1306 (if it is on the 0-255 scale)\n');
    expect(run.stderr).toMatch(/^opnp: warning: --std 77\.1 is above 1: .* pass 0\.771 \(if it is in percent\) or 0\.3024 \(if it is on the 0-255 scale\)$/m);
    const plausible = await extract(dir, '--mean', '0.1307', '--std', '0.3081', '--restart');
    expect(plausible.stderr).toBe('');
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('C3. flags that contradict each other', () => {
  const run = ['eval', '--model', MODEL, ...SMALL_TRAIN, '--test', TEST, ...NORMALISE, '--methods', 'msp', '--ood', `f=${FASHION}`, '-q', '--format', 'json'];

  it('--seed beside --seeds is named as ignored', async () => {
    const both = await cli([...run, '--seed', '3', '--seeds', '1,2', '--val-noise', '50']);
    expect(both.code).toBe(0);
    expect(both.stderr).toContain('opnp: warning: --seed 3 is ignored: --seeds 1,2 gives the seed of each run\n');
    const seeds = await cli([...run, '--seeds', '1,2', '--val-noise', '50']);
    expect(seeds.stderr).not.toContain('warning');
  });

  it('the same --model twice runs once, with a warning', async () => {
    const twice = await cli([...run, '--model', `./${MODEL.replace(process.cwd() + '/', '')}`, '--val-noise', '50']);
    expect(twice.code).toBe(0);
    expect(twice.stderr).toMatch(/^opnp: warning: --model \.\/\S+mnist-cnn\.onnx is given more than once: it runs once$/m);
    const once = await cli([...run, '--val-noise', '50']);
    expect(twice.stdout).toBe(once.stdout);
  });

  it('eval and ablate say, as demo does, that the validation split is held out only when something is searched', async () => {
    for (const command of ['eval', 'ablate']) {
      const help = await cli([command, '--help']);
      expect(help.stdout.replace(/\s+/g, ' ')).toContain('held out only when something is searched (an OPNP method without --opnp, or --search-baselines), otherwise every test sample is scored, as in opnp demo');
    }
  });

  it('an --val-ood set that is (or holds) an --ood set is named as leakage', async () => {
    const same = await cli([...run, '--val-ood', `v=${FASHION}`]);
    expect(same.code).toBe(0);
    expect(same.stderr).toContain(`opnp: warning: --val-ood v=${FASHION} reads the same data as --ood f=${FASHION}: the point searched on it is tuned on that OOD test set`);
    const disjoint = await cli([...run, '--val-ood', `v=${FASHION_VAL}`]);
    expect(disjoint.stderr).not.toContain('warning');
    const dir = tempDir();
    await digitFolder(join(dir, 'digits'), 20, []);
    const nested = await cli([...run, '--ood', `d=folder:${join(dir, 'digits', '7')}`, '--val-ood', `folder:${dir}#nolabels`]);
    expect(nested.stderr).toContain(`opnp: warning: --val-ood folder:${dir}#nolabels reads the same data as --ood d=folder:${join(dir, 'digits', '7')}`);
    rmSync(dir, { recursive: true, force: true });
  });

  it('compares by real path: a symlinked --model runs once; the ID test set as --val-ood and an --ood given twice are named', async () => {
    const dir = tempDir();
    const link = join(dir, 'link.onnx');
    symlinkSync(MODEL, link);
    const linked = await cli([...run, '--model', link, '--val-noise', '50']);
    expect(linked.code).toBe(0);
    expect(linked.stderr).toContain(`opnp: warning: --model ${link} is given more than once: it runs once`);
    const idAsOod = await cli([...run, '--val-ood', `v=${TEST}`]);
    expect(idAsOod.stderr).toContain(`opnp: warning: --val-ood v=${TEST} reads the ID test data (--test ${TEST}): the search would treat in-distribution samples as OOD`);
    const fashionLink = join(dir, 'fashion.gz');
    symlinkSync(FASHION.replace(/^idx:/, ''), fashionLink);
    const twice = await cli([...run, '--ood', `g=idx:${fashionLink}`, '--val-noise', '50']);
    expect(twice.stderr).toContain(`opnp: warning: --ood g=idx:${fashionLink} reads the same data as --ood f=${FASHION}: that set would count twice in the average`);
    rmSync(dir, { recursive: true, force: true });
  });

  it('compares by contents too: a copied --model runs once; a copied --ood set as --val-ood and a copied --ood folder are named', async () => {
    const dir = tempDir();
    const copy = join(dir, 'copy.onnx');
    copyFileSync(MODEL, copy);
    const models = await cli([...run, '--model', copy, '--val-noise', '50']);
    expect(models.code).toBe(0);
    expect(models.stderr).toContain(`opnp: warning: --model ${copy} is a copy of --model ${MODEL} (the files have identical contents): it runs once\n`);
    const once = await cli([...run, '--val-noise', '50']);
    expect(models.stdout).toBe(once.stdout);
    const fashionCopy = join(dir, 'fashion.gz');
    copyFileSync(FASHION.replace(/^idx:/, ''), fashionCopy);
    const digits = join(dir, 'digits');
    await digitFolder(digits, 20, []);
    cpSync(digits, join(dir, 'digits-copy'), { recursive: true });
    const sets = await cli([...run, '--val-ood', `v=idx:${fashionCopy}`, '--ood', `d=folder:${digits}`, '--ood', `e=folder:${join(dir, 'digits-copy')}`]);
    expect(sets.code).toBe(0);
    expect(sets.stderr).toContain(`opnp: warning: --val-ood v=idx:${fashionCopy} reads the same data as --ood f=${FASHION} (the files have identical contents): the point searched on it is tuned on that OOD test set`);
    expect(sets.stderr).toContain(`opnp: warning: --ood e=folder:${join(dir, 'digits-copy')} reads the same data as --ood d=folder:${digits} (the folders have identical contents): that set would count twice in the average`);
    const testCopy = join(dir, 'test.gz');
    copyFileSync(TEST.replace(/^idx:/, ''), testCopy);
    const idAsTestOod = await cli([...run, '--ood', `same=${TEST}`, '--ood', `copy=idx:${testCopy}`, '--val-noise', '50']);
    expect(idAsTestOod.code).toBe(0);
    expect(idAsTestOod.stderr).toContain(`opnp: warning: --ood same=${TEST} reads the ID test data (--test ${TEST}): its FPR95 and AUROC compare the ID test set with itself`);
    expect(idAsTestOod.stderr).toContain(`opnp: warning: --ood copy=idx:${testCopy} reads the ID test data (--test ${TEST}; the files have identical contents): its FPR95 and AUROC compare the ID test set with itself`);
    rmSync(dir, { recursive: true, force: true });
  });
});

/** An ONNX model: `nodes` over input `x` of `dims`, the listed float initializers, outputs `outputs`. */
function onnxModel(dims: (number | string)[], nodes: { op: string; inputs: string[]; outputs: string[]; attrs?: Record<string, number> }[], inits: { name: string; dims: number[]; values: number[] }[], outputs: string[]): Uint8Array {
  const { onnx } = onnxProto;
  const info = (name: string, shape?: (number | string)[]) => ({ name, type: { tensorType: { elemType: 1, ...(shape ? { shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } : {}) } } });
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'g',
        node: nodes.map((n) => ({ opType: n.op, input: n.inputs, output: n.outputs, attribute: Object.entries(n.attrs ?? {}).map(([name, i]) => ({ name, type: 2, i })) })),
        initializer: inits.map((t) => ({ name: t.name, dims: t.dims, dataType: 1, floatData: t.values })),
        input: [info('x', dims)],
        output: outputs.map((o) => info(o)),
      },
    }),
  ).finish();
}

/** W [3 x 4] and b [3] of a small head. */
const HEAD_INITS = [
  { name: 'W', dims: [3, 4], values: [0.5, -0.25, 1, 0.125, -1, 0.75, 0.25, -0.5, 0.375, 0.5, -0.75, 1] },
  { name: 'b', dims: [3], values: [0.1, -0.2, 0.3] },
];

describe('C4. messages in command-line terms', () => {
  it('--opnp with a misspelt key suggests the right one', async () => {
    const run = await cli(['export', '--model', MODEL, '--sensitivity', 's.npy', '--opnp', 'pmin=10,p_max=1,n_min=10,n_max=1', '--out', 'd.onnx']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('opnp: --opnp: expected key=value with keys p_min, p_max, n_min, n_max, got "pmin=10"; did you mean p_min?\n');
  });

  it('--neuron-statistic and --statistics take the same names: l2 and the paper\'s norm alike', async () => {
    const dir = tempDir();
    const norm = await cli(['sensitivity', '--model', MODEL, ...SMALL_TRAIN, '--neuron-statistic', 'norm', '--neuron-out', join(dir, 'n.npy'), '--out', join(dir, 's.npy'), '--state-out', join(dir, 'st.npy')]);
    expect(norm.code).toBe(0);
    // The success line says where each output went.
    expect(norm.stderr).toMatch(new RegExp(`^opnp: sensitivity of 10 x 128 weights over 300 samples written to ${join(dir, 's.npy')} \\(--out\\), ${join(dir, 'n.npy')} \\(--neuron-out, l2\\), ${join(dir, 'st.npy')} \\(--state-out\\)$`, 'm'));
    for (const shard of ['1/2', '2/2']) {
      const part = await cli(['sensitivity', '--model', MODEL, ...SMALL_TRAIN, '--shard', shard, '--state-out', join(dir, `st${shard[0]}.npy`), '-q']);
      expect(part.code).toBe(0);
    }
    const l2 = await cli(['sensitivity', 'merge', join(dir, 'st1.npy'), join(dir, 'st2.npy'), '--neuron-statistic', 'l2', '--neuron-out', join(dir, 'n2.npy')]);
    expect(l2.code).toBe(0);
    expect(l2.stderr).toContain(`opnp: merged 2 states: 300 samples, written to ${join(dir, 'n2.npy')} (--neuron-out, l2)`);
    // The same statistic by both names (the shards' batches round differently: equal to 1e-6; l2 and mean differ far more).
    const [whole, merged] = [await loadNpy(join(dir, 'n.npy')), await loadNpy(join(dir, 'n2.npy'))];
    expect(merged.shape).toEqual([128]);
    for (let j = 0; j < 128; j++) expect(Math.abs(Number(merged.data[j]) - Number(whole.data[j]))).toBeLessThanOrEqual(1e-6 * Math.abs(Number(whole.data[j])));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a detector written by opnp export is refused as --model by eval, extract and sensitivity, before any work', async () => {
    const dir = tempDir();
    const detector = join(dir, 'd.onnx');
    expect((await cli(['export', '--model', MODEL, '--train', TRAIN, '--train-fraction', '0.05', '--opnp', 'p_min=10,p_max=1,n_min=10,n_max=1', '--out', detector, '-q'])).code).toBe(0);
    const message = `opnp: --model: ${detector} is an OOD detector written by opnp export (it has an ood_score output), not a classifier. Pass the classifier it was exported from as --model;`;
    const runs = [
      await cli(['eval', '--model', detector, ...SMALL_TRAIN, '--test', TEST, '--ood', `f=${FASHION_VAL}`]),
      await cli(['extract', '--model', detector, '--data', FASHION_VAL, '--out', join(dir, 'f.npy')]),
      await cli(['sensitivity', '--model', detector, ...SMALL_TRAIN, '--out', join(dir, 's.npy')]),
    ];
    for (const run of runs) {
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(message);
      expect(run.stderr).not.toMatch(/\/\d+|samples/); // no progress: refused before the data is read
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('a model ending in LogSoftmax is read through to its logits, with a lower-case note; a model without a head names no library option', async () => {
    const dir = tempDir();
    const logSoftmax = join(dir, 'log-softmax.onnx');
    writeFileSync(logSoftmax, onnxModel(['N', 4], [{ op: 'Gemm', inputs: ['x', 'W', 'b'], outputs: ['logits'], attrs: { transB: 1 } }, { op: 'LogSoftmax', inputs: ['logits'], outputs: ['logprobs'], attrs: { axis: 1 } }], HEAD_INITS, ['logprobs']));
    const rows = Float32Array.from([1, 2, 3, 4, -1, 0.5, 0, 2]);
    writeFileSync(join(dir, 'x.npy'), encodeNpy({ dtype: 'float32', shape: [2, 4], data: rows }));
    const run = await cli(['extract', '--model', logSoftmax, '--data', `npy:${join(dir, 'x.npy')}`, '--out', join(dir, 'f.npy'), '--logits-out', join(dir, 'l.npy')]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('opnp: model: the model returns log-probabilities: graph output "logprobs" is LogSoftmax of "logits". Using the LogSoftmax input as the logits.');
    // The logits go through a Relu before the output: no head is found, and the Gemm is named as a candidate.
    const noHead = join(dir, 'no-head.onnx');
    writeFileSync(noHead, onnxModel(['N', 4], [{ op: 'Gemm', inputs: ['x', 'W', 'b'], outputs: ['logits'], attrs: { transB: 1 } }, { op: 'Relu', inputs: ['logits'], outputs: ['y'] }], HEAD_INITS, ['y']));
    const refused = await cli(['extract', '--model', noHead, '--data', `npy:${join(dir, 'x.npy')}`, '--out', join(dir, 'g.npy')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^opnp: could not find the classifier head/);
    expect(refused.stderr).toContain('Candidate nodes: Gemm#0 (Gemm, input "x", weight [3, 4], output "logits"). opnp takes the classifier head to be the fully connected layer (Gemm, or MatMul + Add) whose output is a graph output');
    expect(refused.stderr).not.toMatch(/headNode|featureTensor/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a model of any input size with images of varying sizes asks for --crop or --resize in flag syntax', async () => {
    const dir = tempDir();
    const model = join(dir, 'any-size.onnx');
    const nodes = [
      { op: 'GlobalAveragePool', inputs: ['x'], outputs: ['pooled'] },
      { op: 'Flatten', inputs: ['pooled'], outputs: ['h'] },
      { op: 'Gemm', inputs: ['h', 'W', 'b'], outputs: ['logits'], attrs: { transB: 1 } },
    ];
    writeFileSync(model, onnxModel(['N', 3, 'H', 'W'], nodes, [{ name: 'W', dims: [2, 3], values: [1, 0, -1, 0.5, 0.5, 0.5] }, { name: 'b', dims: [2], values: [0, 0] }], ['logits']));
    const images = join(dir, 'images');
    mkdirSync(images);
    for (const [i, [w, h]] of [[20, 30], [25, 18]].entries()) await sharp({ create: { width: w!, height: h!, channels: 3, background: { r: 10, g: 20, b: 30 } } }).png().toFile(join(images, `${i}.png`));
    const run = await cli(['extract', '--model', model, '--data', `folder:${images}`, '--out', join(dir, 'f.npy'), '-q']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('opnp: the images of this dataset differ in size: give --crop or --resize height,width');
    expect(run.stderr).toContain('ImageNet-style: --resize 256 --crop 224');
    expect(run.stderr).not.toMatch(/preprocess\.|centerCrop|\{/);
    rmSync(dir, { recursive: true, force: true });
  });
});
