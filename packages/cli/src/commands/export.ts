/**
 * `opnp export`: a deployable ONNX OOD detector. The model keeps its input and outputs and gains
 * `ood_score` (float32 [N], the energy of the OPNP-pruned head, optionally after ReAct clipping) and, with
 * `--threshold-from`, `is_ood` (bool [N], `ood_score < tau` at the FPR95 threshold of the given ID data). The
 * detector records the input preprocessing (`opnp.preprocess`: --mean/--std/--resize/--crop/--resize-kernel
 * resolved against the model's input; the training pass and the threshold set use the same). Without --mean/--std
 * it records no normalisation, and the success output says so in words.
 */
import type { Command } from 'commander';
import { OpnpError, composeScoreAsync, keptWeightCount, neuronSensitivity, pruneHead, pruningMasks, reactThreshold, type DetectorExportResult, type DetectorPreprocessing, type Matrix, type ParameterSensitivity, type PruningPercentages } from '@opnp/core';
import { checkDetectorPreprocessing } from '@opnp/core/backend';
import { loadNpy, preprocessOptionsFor } from '@opnp/datasets/node';
import {
  assertBatchSize,
  assertNotAnInput,
  assertParentFolder,
  datasetInputFiles,
  collectFeatures,
  fit,
  fitSubset,
  fpr95Threshold,
  openFeatureSource,
  stageReporter,
  trainingFingerprint,
  trainingIndices,
  type LoadedModel,
} from '@opnp/pipeline';
import { UsageError, flagError } from '../errors.js';
import { writeLine, type CliIo } from '../io.js';
import { withModel, type RuntimeFlags } from '../model.js';
import { normalisationWords, preprocessingWords } from '../format/preprocessing-words.js';
import { checkDatasetSpec, parseFraction, parseInteger, parseOpnpPercentages } from '../options.js';
import { addFlagWarnings, addPreprocessOptions, addRunOptions, imageWorkersOption, infoWriter, preprocessFlags, progressListener, skipWarner, type CommandContext, PREPROCESS_FLAG_NAMES, preprocessArguments, CLI_OPTION_NAMES } from './shared.js';

interface ExportFlags extends RuntimeFlags {
  model: string;
  train?: string;
  trainFraction?: number;
  seed: number;
  mean?: number[];
  std?: number[];
  opnp: PruningPercentages;
  sensitivity?: string;
  react?: boolean;
  reactClip?: number;
  reactPercentile: number;
  fitSamples: number;
  thresholdFrom?: string;
  out: string;
  batchSize: number;
  quiet?: boolean;
}

/** Reads a `[C, D]` sensitivity `.npy` (opnp sensitivity --out, or sensitivity/parameter.npy of a results folder). */
export async function readSensitivityNpy(path: string, classes: number, dim: number): Promise<ParameterSensitivity> {
  const array = await loadNpy(path);
  if (array.shape.length !== 2 || array.shape[0] !== classes || array.shape[1] !== dim) {
    throw new OpnpError('SHAPE_MISMATCH', "--sensitivity must be a [C, D] .npy of the model head's shape", { file: path, expected: `[${classes}, ${dim}]`, actual: array.shape });
  }
  const values = Float64Array.from(array.data);
  const bad = values.findIndex((v) => !Number.isFinite(v) || v < 0);
  if (bad >= 0) throw new OpnpError('NON_FINITE', '--sensitivity holds a negative or non-finite value', { file: path, offset: bad, actual: values[bad] });
  return { classes, dim, count: 0, values };
}

/** The scaling and normalisation a caller applies, for the snippets' headers. */
function snippetPreprocessing(p: DetectorPreprocessing | undefined): string {
  if (p === undefined) return 'x / 255, then (x - mean) / std with the values the model was trained with';
  return p.mean === undefined && p.std === undefined ? 'x / 255 only, no mean/std normalisation' : `x / 255, then ${normalisationWords(p)}`;
}

/** How to run the detector from onnxruntime in Node, Python and the browser. */
export function usageSnippets(file: string, inputName: string, inputShape: readonly (number | null)[], logitsName: string, withDecision: boolean, preprocessing?: DetectorPreprocessing): string {
  const shape = inputShape.map((d, i) => (d === null ? (i === 0 ? 1 : '?') : d));
  const outputs = withDecision ? `'${logitsName}', 'ood_score', 'is_ood'` : `'${logitsName}', 'ood_score'`;
  const py = withDecision ? `logits, ood_score, is_ood = session.run(["${logitsName}", "ood_score", "is_ood"], {"${inputName}": x})` : `logits, ood_score = session.run(["${logitsName}", "ood_score"], {"${inputName}": x})`;
  const decision = withDecision ? '\n// is_ood: out.is_ood.data (true = out-of-distribution)' : '';
  return `Run it with onnxruntime (input preprocessed as recorded: ${snippetPreprocessing(preprocessing)}, shape [${shape.join(', ')}]):

# Node (npm install onnxruntime-node)
import * as ort from 'onnxruntime-node';
const session = await ort.InferenceSession.create('${file}');
const input = new ort.Tensor('float32', data /* Float32Array */, [${shape.join(', ')}]);
const out = await session.run({ '${inputName}': input }, [${outputs}]);
// ood_score: out.ood_score.data (higher = more in-distribution)${decision}

# Python (pip install onnxruntime numpy)
import numpy as np, onnxruntime as ort
session = ort.InferenceSession("${file}")
x = np.zeros((${shape.join(', ')}), dtype=np.float32)  # your preprocessed batch
${py}

# Browser (npm install onnxruntime-web)
import * as ort from 'onnxruntime-web';
const session = await ort.InferenceSession.create('${file.split('/').pop()}');  // URL of the file
const out = await session.run({ '${inputName}': new ort.Tensor('float32', data, [${shape.join(', ')}]) });
`;
}


/** How to run a TensorFlow.js detector. */
export function tfjsUsageSnippet(result: DetectorExportResult): string {
  const shape = result.input.shape.map((d, i) => (d === null ? (i === 0 ? 1 : '?') : d));
  return `Run it with TensorFlow.js (input preprocessed as recorded: ${snippetPreprocessing(result.preprocessing)}, shape [${shape.join(', ')}]):

import * as tf from '@tensorflow/tfjs';
const model = await tf.loadGraphModel('${result.path}');  // a URL in the browser, file:// in Node with tfjs-node
const [logits, oodScore${result.outputs.isOod ? ', isOod' : ''}] = model.execute(tf.tensor(data, [${shape.join(', ')}]), [${result.outputs.all.map((n) => `'${n}'`).join(', ')}]);
`;
}

const HELP = `
Example:
  opnp export --model mnist-cnn.onnx --train idx:./mnist/train-images-idx3-ubyte --mean 0.1307 --std 0.3081 \\
    --opnp p_min=10,p_max=1,n_min=10,n_max=1 --threshold-from idx:./mnist-val-images-idx3-ubyte --out detector.onnx
  # reuse a saved sensitivity (no training pass):
  opnp sensitivity --model m.onnx --train ... --out sens.npy
  opnp export --model m.onnx --sensitivity sens.npy --opnp ... --react --react-clip 1.23 --out detector.onnx

ONNX models export an .onnx file; TensorFlow.js models (with @opnp/backend-tfjs) a graph-model folder.`;

function parseReactClip(v: string): number {
  const c = Number(v);
  if (v.trim() === '' || !Number.isFinite(c)) throw flagError('--react-clip', `expected a number, got "${v}"`);
  return c;
}

function parseReactPercentile(v: string): number {
  const q = Number(v);
  if (v.trim() === '' || !(q >= 0 && q <= 100)) throw flagError('--react-percentile', `expected a percentage in [0, 100], got "${v}"`);
  return q;
}

/** Registers `opnp export`. */
export function registerExport(program: Command, context: CommandContext): void {
  const command = program
    .command('export')
    .description('write a deployable OOD detector: the model plus ood_score (OPNP energy) and optionally is_ood')
    .requiredOption('--model <file>', 'the classifier (model.onnx, or model.json with @opnp/backend-tfjs)')
    .option('--train <dataset>', 'training set for the sensitivity (and the ReAct clip); not needed with --sensitivity and --react-clip', (v) => checkDatasetSpec('--train', v))
    .option('--train-fraction <0-1>', 'use a seeded subset of the training set', (v) => parseFraction('--train-fraction', v))
    .option('--seed <n>', 'seed of the training subset', (v) => parseInteger('--seed', v, { allowZero: true }), 0)
    .requiredOption('--opnp <p_min=%,p_max=%,n_min=%,n_max=%>', 'the OPNP percentages (e.g. from opnp eval)', parseOpnpPercentages)
    .option('--sensitivity <sens.npy>', 'a saved [C, D] sensitivity (opnp sensitivity --out) instead of a training pass')
    .option('--react', 'clip features at the ReAct threshold before the pruned head')
    .option('--react-clip <c>', 'the ReAct clip value (default: the --react-percentile of the training features)', parseReactClip)
    .option('--react-percentile <q>', 'percentile of the training features for the ReAct clip', parseReactPercentile, 90)
    .option('--fit-samples <n>', 'training rows used for the ReAct percentile', (v) => parseInteger('--fit-samples', v), 20000)
    .option('--threshold-from <dataset>', 'ID validation set: add is_ood at the threshold keeping 95% of it', (v) => checkDatasetSpec('--threshold-from', v))
    .requiredOption('--out <detector>', 'where to write the detector (atomically)');
  addPreprocessOptions(command);
  addFlagWarnings(command, context.io);
  addRunOptions(command);
  command.addHelpText('after', HELP);
  command.action((flags: ExportFlags) => runExport(context, flags));
}

function checkFlags(flags: ExportFlags): void {
  if (flags.sensitivity === undefined && flags.train === undefined) throw new UsageError('pass --train <dataset> (or a saved --sensitivity <sens.npy>)');
  if (flags.reactClip !== undefined && !flags.react) throw new UsageError('--react-clip needs --react');
  if (flags.react && flags.reactClip === undefined && flags.train === undefined) throw new UsageError('--react needs --train (for the clip percentile) or --react-clip <c>');
}

/** The sensitivity (saved, or from a training pass) and, when the clip is to be computed, the fit features. */
async function sensitivityAndFit(model: LoadedModel, flags: ExportFlags, io: CliIo, info: (m: string) => void): Promise<{ sensitivity: ParameterSensitivity; fitFeatures?: Matrix }> {
  const { rows: C, cols: D } = model.extractor.head.weight;
  const wantClip = flags.react === true && flags.reactClip === undefined;
  const saved = flags.sensitivity !== undefined ? await readSensitivityNpy(flags.sensitivity, C, D) : undefined;
  if (saved && !wantClip) return { sensitivity: saved };
  const train = await openFeatureSource(flags.train!, { model, ...preprocessArguments(flags), ...imageWorkersOption(flags) });
  const indices = trainingIndices(train.count, flags.trainFraction, flags.seed);
  const fitted = await fit(model, train, {
    sensitivity: saved === undefined,
    indices,
    fitIndices: wantClip ? fitSubset(indices, flags.fitSamples, flags.seed) : new Uint32Array(0),
    fingerprint: await trainingFingerprint({ model, source: train, indices, ...(flags.trainFraction !== undefined ? { fraction: flags.trainFraction } : {}), seed: flags.seed }),
    batchSize: flags.batchSize,
    ...(io.signal ? { signal: io.signal } : {}),
    onProgress: progressListener(io, flags.quiet === true),
    onInfo: info,
    onSkip: skipWarner(io, flags.train),
  });
  const sensitivity = saved ?? fitted.opnp?.sensitivity;
  if (!sensitivity) throw new OpnpError('EMPTY_INPUT', 'No sensitivity was computed');
  if (!saved) info(`sensitivity over ${sensitivity.count} training samples`);
  return { sensitivity, ...(wantClip ? { fitFeatures: fitted.fitFeatures } : {}) };
}

async function runExport(context: CommandContext, flags: ExportFlags): Promise<void> {
  const { io } = context;
  const info = infoWriter(io, flags.quiet === true);
  checkFlags(flags);
  await assertParentFolder(flags.out, 'the detector (--out)');
  const inputs = [{ path: flags.model, what: 'the model (--model)' }, ...(flags.train !== undefined ? datasetInputFiles(flags.train, '--train') : []), ...(flags.thresholdFrom !== undefined ? datasetInputFiles(flags.thresholdFrom, '--threshold-from') : [])];
  if (flags.sensitivity !== undefined) inputs.push({ path: flags.sensitivity, what: 'the sensitivity (--sensitivity)' });
  await assertNotAnInput({ path: flags.out, what: 'the detector (--out)' }, inputs);
  await withModel(flags.model, info, async (model) => {
    const extractor = model.extractor;
    if (!extractor.exportDetector) {
      throw new OpnpError('BACKEND_UNAVAILABLE', `The ${extractor.backend} backend cannot export detectors`, { file: model.path, hint: 'Use an ONNX model, or a TensorFlow.js model with @opnp/backend-tfjs' });
    }
    assertBatchSize(model, flags.batchSize, undefined, CLI_OPTION_NAMES);
    // Recorded in the detector; checked before the training pass (e.g. 3 --mean values for a grey model).
    const preprocessing = checkDetectorPreprocessing(preprocessOptionsFor(extractor.input, preprocessFlags(flags)), 'the preprocessing flags', {
      ...PREPROCESS_FLAG_NAMES,
      channels: "the model input's channel count",
    });
    const { head } = extractor;
    const { sensitivity, fitFeatures } = await sensitivityAndFit(model, flags, io, info);
    const reactClip = flags.react ? (flags.reactClip ?? reactThreshold(fitFeatures!, flags.reactPercentile)) : undefined;
    const masks = pruningMasks(sensitivity, neuronSensitivity(sensitivity), flags.opnp, 'opnp');
    const pruned = pruneHead(head, masks);
    let threshold: { value: number; kept: number; total: number } | undefined;
    if (flags.thresholdFrom !== undefined) {
      const val = await openFeatureSource(flags.thresholdFrom, { model, ...preprocessArguments(flags), ...imageWorkersOption(flags) });
      const stage = stageReporter(progressListener(io, flags.quiet === true), 'threshold set', val.count);
      const features = (await collectFeatures(val, { batchSize: flags.batchSize, dim: head.weight.cols, ...(io.signal ? { signal: io.signal } : {}), onSkip: skipWarner(io, flags.thresholdFrom), onProgress: stage.onProgress })).features;
      stage.done(val.count);
      // The detector's score (the pruned head's energy), the head product through the run's kernel.
      const scores = await composeScoreAsync(features, { head: pruned, ...(reactClip !== undefined ? { transform: { kind: 'react' as const, clip: reactClip } } : {}) }, { kernel: model.kernel });
      const value = fpr95Threshold(scores);
      threshold = { value, kept: scores.filter((s) => s >= value).length, total: scores.length };
    }
    const result = await extractor.exportDetector({ prunedWeight: pruned.weight, bias: pruned.bias, preprocessing, outputPath: flags.out, ...(reactClip !== undefined ? { reactClip } : {}), ...(threshold ? { threshold: threshold.value } : {}) });
    printExport(io, flags, result, { kept: keptWeightCount(masks), total: head.weight.rows * head.weight.cols, neurons: masks.neuronKept, dim: head.weight.cols }, threshold);
  }, flags);
}

function printExport(io: CliIo, flags: ExportFlags, result: DetectorExportResult, kept: { kept: number; total: number; neurons: number; dim: number }, threshold?: { value: number; kept: number; total: number }): void {
  const out = io.stdout;
  const p = flags.opnp;
  writeLine(out, `wrote ${result.path}`);
  writeLine(out, `  OPNP: p_min=${p.pMin}% p_max=${p.pMax}% n_min=${p.nMin}% n_max=${p.nMax}% (${kept.kept} of ${kept.total} weights, ${kept.neurons} of ${kept.dim} neurons kept)`);
  if (result.reactClip !== undefined) writeLine(out, `  ReAct clip: ${result.reactClip}`);
  writeLine(out, `  outputs: ${result.outputs.logits} (unchanged), ${result.outputs.oodScore} float32 [N] (energy of the pruned head; higher = more in-distribution)${result.outputs.isOod ? `, ${result.outputs.isOod} bool [N]` : ''}`);
  if (result.preprocessing) {
    writeLine(out, `  input preprocessing (recorded as opnp.preprocess): ${preprocessingWords(result.preprocessing)}`);
    writeLine(out, `    ${JSON.stringify(result.preprocessing)}`);
    if (flags.mean === undefined && flags.std === undefined) writeLine(out, '    no --mean/--std given: the detector expects pixels only scaled to [0, 1]; if the model was trained on normalised inputs, export again with its --mean and --std');
  }
  if (threshold) writeLine(out, `  threshold: ${threshold.value} (is_ood = ood_score < threshold; keeps ${threshold.kept} of ${threshold.total} ID validation samples, ${((threshold.kept / threshold.total) * 100).toFixed(2)}%)`);
  writeLine(out);
  if (result.format === 'onnx') out.write(usageSnippets(result.path, result.input.name, result.input.shape, result.outputs.logits, threshold !== undefined, result.preprocessing));
  else out.write(tfjsUsageSnippet(result));
}
