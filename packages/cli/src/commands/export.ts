/**
 * `opnp export`: a deployable ONNX OOD detector. The model keeps its input and outputs and gains
 * `ood_score` (float32 [N], the energy of the OPNP-pruned head, optionally after ReAct clipping) and, with
 * `--threshold-from`, `is_ood` (bool [N], `ood_score < tau` at the FPR95 threshold of the given ID data).
 */
import type { Command } from 'commander';
import { OpnpError, composeScore, keptWeightCount, neuronSensitivity, pruneHead, pruningMasks, reactThreshold, type Matrix, type ParameterSensitivity, type PruningPercentages } from '@opnp/core';
import { loadNpy } from '@opnp/datasets';
import { exportOodDetector, type DetectedHead, type OnnxModel } from '@opnp/backend-onnx';
import { UsageError, flagError } from '../errors.js';
import { writeLine } from '../io.js';
import { parseFraction, parseInteger, parseOpnpPercentages } from '../options.js';
import { collectFeatures } from '../pipeline/collect.js';
import { openFeatureSource } from '../pipeline/feature-source.js';
import { loadModel, type LoadedModel } from '../pipeline/model.js';
import { fitSubset, runTrainingPass, trainingIndices } from '../pipeline/sensitivity.js';
import { fpr95Threshold } from '../pipeline/threshold.js';
import { addPreprocessOptions, addRunOptions, infoWriter, preprocessFlags, progressFactory, type CommandContext } from './shared.js';

interface ExportFlags {
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

function onnxParts(model: LoadedModel): { model: OnnxModel; detection: DetectedHead } {
  const ex = model.extractor as unknown as { backend: string; model?: OnnxModel; detection?: DetectedHead };
  if (ex.backend !== 'onnx' || !ex.model || !ex.detection) {
    throw new OpnpError('BACKEND_UNAVAILABLE', 'opnp export writes ONNX detectors and needs an .onnx model', { file: model.path, hint: 'For TensorFlow.js models use the export of @opnp/backend-tfjs' });
  }
  return { model: ex.model, detection: ex.detection };
}

/** How to run the detector from onnxruntime in Node, Python and the browser. */
export function usageSnippets(file: string, inputName: string, inputShape: readonly (number | null)[], logitsName: string, withDecision: boolean): string {
  const shape = inputShape.map((d, i) => (d === null ? (i === 0 ? 1 : '?') : d));
  const outputs = withDecision ? `'${logitsName}', 'ood_score', 'is_ood'` : `'${logitsName}', 'ood_score'`;
  const py = withDecision ? `logits, ood_score, is_ood = session.run(["${logitsName}", "ood_score", "is_ood"], {"${inputName}": x})` : `logits, ood_score = session.run(["${logitsName}", "ood_score"], {"${inputName}": x})`;
  const decision = withDecision ? '\n// is_ood: out.is_ood.data (true = out-of-distribution)' : '';
  return `Run it with onnxruntime (input preprocessed as for --train: x/255, then (x - mean) / std, shape [${shape.join(', ')}]):

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

/** Registers `opnp export`. */
export function registerExport(program: Command, context: CommandContext): void {
  const command = program
    .command('export')
    .description('write an ONNX OOD detector: the model plus ood_score (OPNP energy) and optionally is_ood')
    .requiredOption('--model <file>', 'the ONNX classifier')
    .option('--train <dataset>', 'training set for the sensitivity (and the ReAct clip); not needed with --sensitivity and --react-clip')
    .option('--train-fraction <0-1>', 'use a seeded subset of the training set', (v) => parseFraction('--train-fraction', v))
    .option('--seed <n>', 'seed of the training subset', (v) => parseInteger('--seed', v, { allowZero: true }), 0)
    .requiredOption('--opnp <p_min=%,p_max=%,n_min=%,n_max=%>', 'the OPNP percentages (e.g. from opnp eval)', parseOpnpPercentages)
    .option('--sensitivity <sens.npy>', 'a saved [C, D] sensitivity (opnp sensitivity --out) instead of a training pass')
    .option('--react', 'clip features at the ReAct threshold before the pruned head')
    .option('--react-clip <c>', 'the ReAct clip value (default: the --react-percentile of the training features)', (v) => {
      const c = Number(v);
      if (v.trim() === '' || !Number.isFinite(c)) throw flagError('--react-clip', `expected a number, got "${v}"`);
      return c;
    })
    .option('--react-percentile <q>', 'percentile of the training features for the ReAct clip', (v) => {
      const q = Number(v);
      if (v.trim() === '' || !(q >= 0 && q <= 100)) throw flagError('--react-percentile', `expected a percentage in [0, 100], got "${v}"`);
      return q;
    }, 90)
    .option('--fit-samples <n>', 'training rows used for the ReAct percentile', (v) => parseInteger('--fit-samples', v), 20000)
    .option('--threshold-from <dataset>', 'ID validation set: add is_ood at the threshold keeping 95% of it')
    .requiredOption('--out <detector.onnx>', 'where to write the detector (atomically)');
  addPreprocessOptions(command);
  addRunOptions(command);
  command.addHelpText(
    'after',
    `
Example:
  opnp export --model mnist-cnn.onnx --train idx:./mnist/train-images-idx3-ubyte --mean 0.1307 --std 0.3081 \\
    --opnp p_min=10,p_max=1,n_min=10,n_max=1 --threshold-from idx:./mnist-val-images-idx3-ubyte --out detector.onnx
  # reuse a saved sensitivity (no training pass):
  opnp sensitivity --model m.onnx --train ... --out sens.npy
  opnp export --model m.onnx --sensitivity sens.npy --opnp ... --react --react-clip 1.23 --out detector.onnx`,
  );
  command.action(async (flags: ExportFlags) => {
    const { io } = context;
    const quiet = flags.quiet === true;
    const info = infoWriter(io, quiet);
    if (flags.sensitivity === undefined && flags.train === undefined) throw new UsageError('pass --train <dataset> (or a saved --sensitivity <sens.npy>)');
    if (flags.reactClip !== undefined && !flags.react) throw new UsageError('--react-clip needs --react');
    if (flags.react && flags.reactClip === undefined && flags.train === undefined) throw new UsageError('--react needs --train (for the clip percentile) or --react-clip <c>');
    const model = await loadModel(flags.model, (m) => info(`model: ${m}`));
    try {
      const onnx = onnxParts(model);
      const head = model.extractor.head;
      const C = head.weight.rows;
      const D = head.weight.cols;
      const open = (spec: string) => openFeatureSource(spec, { model, preprocess: preprocessFlags(flags) });
      const batch = { batchSize: flags.batchSize, ...(io.signal ? { signal: io.signal } : {}) };
      const wantClip = flags.react === true && flags.reactClip === undefined;

      let sensitivity: ParameterSensitivity;
      let fitFeatures: Matrix | undefined;
      if (flags.sensitivity !== undefined) {
        sensitivity = await readSensitivityNpy(flags.sensitivity, C, D);
        if (wantClip) {
          const train = await open(flags.train!);
          const fit = fitSubset(trainingIndices(train.count, flags.trainFraction, flags.seed), flags.fitSamples, flags.seed);
          fitFeatures = (await collectFeatures(train, { ...batch, subset: fit, dim: D })).features;
        }
      } else {
        const train = await open(flags.train!);
        const indices = trainingIndices(train.count, flags.trainFraction, flags.seed);
        const pass = await runTrainingPass({
          model,
          source: train,
          indices,
          batchSize: flags.batchSize,
          ...(wantClip ? { fitIndices: fitSubset(indices, flags.fitSamples, flags.seed) } : {}),
          progress: progressFactory(io, quiet)('train'),
          ...(io.signal ? { signal: io.signal } : {}),
          onInfo: info,
        });
        sensitivity = pass.accumulator.result();
        if (wantClip) fitFeatures = pass.fitFeatures;
        info(`sensitivity over ${sensitivity.count} training samples`);
      }
      const reactClip = flags.react ? (flags.reactClip ?? reactThreshold(fitFeatures!, flags.reactPercentile)) : undefined;
      const masks = pruningMasks(sensitivity, neuronSensitivity(sensitivity), flags.opnp, 'opnp');
      const pruned = pruneHead(head, masks);

      let threshold: number | undefined;
      let kept: { kept: number; total: number } | undefined;
      if (flags.thresholdFrom !== undefined) {
        const val = (await collectFeatures(await open(flags.thresholdFrom), { ...batch, dim: D })).features;
        const scores = composeScore(val, { head: pruned, ...(reactClip !== undefined ? { transform: { kind: 'react' as const, clip: reactClip } } : {}) });
        threshold = fpr95Threshold(scores);
        kept = { kept: scores.filter((s) => s >= threshold!).length, total: scores.length };
      }

      await exportOodDetector({
        model: onnx.model,
        head: onnx.detection,
        prunedWeight: pruned.weight,
        bias: pruned.bias,
        ...(reactClip !== undefined ? { reactClip } : {}),
        ...(threshold !== undefined ? { threshold } : {}),
        outputPath: flags.out,
      });

      const p = flags.opnp;
      const graph = onnx.model.proto.graph!;
      const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
      const inputName = graph.input?.find((i) => !initializers.has(i.name))?.name ?? model.extractor.input.name;
      const out = io.stdout;
      writeLine(out, `wrote ${flags.out}`);
      writeLine(out, `  OPNP: p_min=${p.pMin}% p_max=${p.pMax}% n_min=${p.nMin}% n_max=${p.nMax}% (${keptWeightCount(masks)} of ${C * D} weights, ${masks.neuronKept} of ${D} neurons kept)`);
      if (reactClip !== undefined) writeLine(out, `  ReAct clip: ${reactClip}`);
      writeLine(out, `  outputs: ${onnx.detection.logitsTensor} (unchanged), ood_score float32 [N] (energy of the pruned head; higher = more in-distribution)${threshold !== undefined ? ', is_ood bool [N]' : ''}`);
      if (threshold !== undefined && kept) writeLine(out, `  threshold: ${threshold} (is_ood = ood_score < threshold; keeps ${kept.kept} of ${kept.total} ID validation samples, ${((kept.kept / kept.total) * 100).toFixed(2)}%)`);
      writeLine(out);
      out.write(usageSnippets(flags.out, inputName, model.extractor.input.shape, onnx.detection.logitsTensor, threshold !== undefined));
    } finally {
      await model.extractor.dispose();
    }
  });
}
