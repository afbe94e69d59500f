/**
 * The built-in methods, in the order of the paper's tables: each one a registry entry over a score of
 * `@opnp/core`, with its hyper-parameters and the defaults of its paper (see docs/numerics.md "Scores").
 */
import {
  OpnpError,
  composeScore,
  diceHead,
  energy,
  entropy,
  fdbdScore,
  featureMean,
  fitFdbd,
  fitKlMatching,
  fitKnn,
  fitMahalanobis,
  fitNci,
  fitNnGuide,
  fitRmds,
  fitShe,
  fitVimAsync,
  gen,
  gradNorm,
  klMatchingScore,
  knnScore,
  knnScoreAsync,
  logits,
  mahalanobisScore,
  maxLogit,
  msp,
  mulberry32,
  nciScore,
  nnGuideScore,
  pruneHead,
  pruningMasks,
  reactThreshold,
  residualScore,
  rmdsScore,
  sampleIndices,
  sheScore,
  vimScore,
  type AshVariant,
  type LinearHead,
  type LogitScore,
  type Matrix,
  type PruningMode,
  type VimModel,
} from '@opnp/core';
import type { MethodContext, MethodDefinition, OpnpState, SharedFits } from './registry.js';

const clipOf = (c: MethodContext, shared: SharedFits, percentile: number) => shared.get(`react-clip:${percentile}`, () => reactThreshold(c.fitFeatures, percentile));
const diceOf = (c: MethodContext, shared: SharedFits, percentile: number): LinearHead =>
  shared.get(`dice-head:${percentile}`, () => diceHead(c.head, featureMean(c.fitFeatures), { percentile }).head);

function opnpOf(c: MethodContext, method: string): OpnpState {
  if (!c.opnp) throw new OpnpError('INVALID_ARGUMENT', `Method "${method}" needs the OPNP sensitivity and point`, { hint: 'Declare needs: { opnp: true } so the pipeline computes them' });
  return c.opnp;
}

const prunedOf = (c: MethodContext, shared: SharedFits, mode: PruningMode, method: string): LinearHead => {
  const state = opnpOf(c, method);
  return shared.get(`pruned:${mode}`, () => pruneHead(c.head, pruningMasks(state.sensitivity, state.neuronSensitivity, state.percentages, mode)));
};

/** A logit score (energy by default) of the head pruned by `mode`. */
function pruned(mode: PruningMode, description: string, score: LogitScore = 'energy', method: string = mode): MethodDefinition<Record<string, never>> {
  return {
    description,
    needs: { opnp: true },
    defaults: {},
    create: (c, _o, shared) => {
      const head = prunedOf(c, shared, mode, method);
      return (h) => composeScore(h, { head, score });
    },
  };
}

/** Energy of the head pruned by `mode` after ReAct clipping. */
function prunedReact(mode: PruningMode, description: string, method: string): MethodDefinition<{ reactPercentile: number }> {
  return {
    description,
    needs: { opnp: true, fit: true },
    defaults: { reactPercentile: 90 },
    create: (c, o, shared) => {
      const head = prunedOf(c, shared, mode, method);
      const clip = clipOf(c, shared, o.reactPercentile);
      return (h) => composeScore(h, { head, transform: { kind: 'react', clip } });
    },
  };
}

const opnpReact = prunedReact('opnp', 'OPNP with ReAct clipping', 'opnp+react');

function ashMethod(variant: AshVariant): MethodDefinition<{ percentile: number }> {
  return {
    description: `ASH-${variant.toUpperCase()}: activation shaping, then energy`,
    defaults: { percentile: 90 },
    create: (c, o) => (h) => composeScore(h, { head: c.head, transform: { kind: 'ash', variant, percentile: o.percentile } }),
  };
}

const react: MethodDefinition<{ percentile: number }> = {
  description: 'ReAct: energy after clipping features at a training percentile',
  needs: { fit: true },
  defaults: { percentile: 90 },
  create: (c, o, shared) => {
    const clip = clipOf(c, shared, o.percentile);
    return (h) => composeScore(h, { head: c.head, transform: { kind: 'react', clip } });
  },
};

const dice: MethodDefinition<{ percentile: number }> = {
  description: 'DICE: energy of the contribution-sparsified head',
  needs: { fit: true },
  defaults: { percentile: 90 },
  create: (c, o, shared) => {
    const head = diceOf(c, shared, o.percentile);
    return (h) => composeScore(h, { head });
  },
};

const diceReact: MethodDefinition<{ percentile: number; reactPercentile: number }> = {
  description: 'DICE head after ReAct clipping',
  needs: { fit: true },
  defaults: { percentile: 90, reactPercentile: 90 },
  create: (c, o, shared) => {
    const head = diceOf(c, shared, o.percentile);
    const clip = clipOf(c, shared, o.reactPercentile);
    return (h) => composeScore(h, { head, transform: { kind: 'react', clip } });
  },
};

/**
 * The ViM fit for principal dimension `dim` (0 = the default for D), shared by `vim` and `residual`. It runs through
 * the run's kernel (its float64 products do the eigendecompositions) when the first batch is scored; a fit error is
 * reported there.
 */
function vimModelOf(c: MethodContext, shared: SharedFits, dim: number): Promise<VimModel> {
  return shared.get(`vim:${dim}`, () => {
    const model = fitVimAsync(c.fitFeatures, c.head, { ...(dim > 0 ? { dim } : {}), ...(c.kernel ? { kernel: c.kernel } : {}) });
    model.catch(() => undefined); // awaited (and reported) by the scorers
    return model;
  });
}

const vim: MethodDefinition<{ dim: number }> = {
  description: 'ViM: energy minus the scaled residual norm outside the principal subspace of training features (dim 0 = the official default for D)',
  needs: { fit: true },
  defaults: { dim: 0 },
  create: (c, o, shared) => {
    const model = vimModelOf(c, shared, o.dim);
    return async (h) => vimScore(await model, h);
  },
};

const mahalanobis: MethodDefinition<{ relativeTolerance: number }> = {
  description: 'Mahalanobis distance to the nearest class mean (shared covariance)',
  needs: { fit: true, labels: true },
  defaults: { relativeTolerance: 1e-6 },
  create: (c, o) => {
    const model = fitMahalanobis(c.fitFeatures, c.fitLabels, c.head.weight.rows, { relativeTolerance: o.relativeTolerance });
    return (h) => mahalanobisScore(model, h);
  },
};

const knn: MethodDefinition<{ k: number }> = {
  description: 'KNN: distance to the k-th nearest normalised training feature',
  needs: { fit: true },
  defaults: { k: 50 },
  create: (c, o) => {
    const model = fitKnn(c.fitFeatures, { k: Math.min(o.k, c.fitFeatures.rows) });
    // Query blocks through the run's GEMM kernel (onnxruntime: about numpy's speed); scores do not depend on it.
    const kernel = c.kernel;
    return kernel ? (h) => knnScoreAsync(model, h, { kernel }) : (h) => knnScore(model, h);
  },
};

/** Logits of the fit subset under the original head (shared by the methods fitted on them). */
const fitLogitsOf = (c: MethodContext, shared: SharedFits): Matrix => shared.get('fit-logits', () => logits(c.head, c.fitFeatures));

const entropyMethod: MethodDefinition<Record<string, never>> = {
  description: 'Entropy: negative entropy of the softmax',
  defaults: {},
  create: () => (_h, f) => entropy(f),
};

const klm: MethodDefinition<Record<string, never>> = {
  description: 'KL matching: KL divergence to the nearest class-mean softmax template (templates by predicted class on the fit subset)',
  needs: { fit: true },
  defaults: {},
  create: (c, _o, shared) => {
    const model = fitKlMatching(fitLogitsOf(c, shared));
    return (_h, f) => klMatchingScore(model, f);
  },
};

const she: MethodDefinition<Record<string, never>> = {
  description: 'SHE: inner product with the mean feature of correctly classified training samples of the predicted class',
  needs: { fit: true, labels: true },
  defaults: {},
  create: (c) => {
    const model = fitShe(c.fitFeatures, c.fitLabels, c.head);
    return (h, f) => sheScore(model, h, f);
  },
};

const fdbd: MethodDefinition<{ distanceAsNormalizer: boolean }> = {
  description: 'fDBD: summed distance to the decision boundaries of the predicted class over the distance to the training mean',
  needs: { fit: true },
  defaults: { distanceAsNormalizer: true },
  create: (c, o) => {
    const model = fitFdbd(c.fitFeatures, c.head);
    return (h, f) => fdbdScore(model, h, f, { distanceAsNormalizer: o.distanceAsNormalizer });
  },
};

const rmds: MethodDefinition<{ relativeTolerance: number }> = {
  description: 'RMDS: class-conditional minus background Mahalanobis distance',
  needs: { fit: true, labels: true },
  defaults: { relativeTolerance: 1e-6 },
  create: (c, o) => {
    const model = fitRmds(c.fitFeatures, c.fitLabels, c.head.weight.rows, { relativeTolerance: o.relativeTolerance });
    return (h) => rmdsScore(model, h);
  },
};

/** The NNGuide bank: `max(k, round(fraction * n))` rows of the fit subset (at most all), seeded, in index order. */
function nnGuideBank(c: MethodContext, shared: SharedFits, o: { k: number; bankFraction: number; seed: number }): { features: Matrix; logits: Matrix } {
  const all = fitLogitsOf(c, shared);
  const n = c.fitFeatures.rows;
  if (!(o.bankFraction > 0 && o.bankFraction <= 1)) throw new OpnpError('INVALID_ARGUMENT', 'nnguide.bankFraction must be in (0, 1]', { actual: o.bankFraction });
  const size = Math.min(n, Math.max(o.k, Math.round(o.bankFraction * n)));
  const picked = size === n ? Uint32Array.from({ length: n }, (_, i) => i) : sampleIndices(n, size, mulberry32(o.seed));
  const take = (m: Matrix): Matrix => {
    const data = new Float32Array(size * m.cols);
    picked.forEach((r, i) => data.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), i * m.cols));
    return { rows: size, cols: m.cols, data };
  };
  return { features: take(c.fitFeatures), logits: take(all) };
}

const nnguide: MethodDefinition<{ k: number; bankFraction: number; seed: number }> = {
  description: 'NNGuide: energy times the mean top-k similarity to a bank of energy-scaled normalised training features',
  needs: { fit: true },
  defaults: { k: 10, bankFraction: 0.01, seed: 0 },
  create: (c, o, shared) => {
    const bank = nnGuideBank(c, shared, o);
    const model = fitNnGuide(bank.features, bank.logits, { k: Math.min(o.k, bank.features.rows) });
    return (h, f) => nnGuideScore(model, h, f);
  },
};

const nci: MethodDefinition<{ alpha: number }> = {
  description: 'NCI: proximity to the predicted class weight direction plus alpha times the L1 norm',
  needs: { fit: true },
  defaults: { alpha: 1e-4 },
  create: (c, o) => {
    const model = fitNci(c.fitFeatures, c.head);
    return (h, f) => nciScore(model, h, f, { alpha: o.alpha });
  },
};

const residual: MethodDefinition<{ dim: number }> = {
  description: 'Residual: negative norm of the feature residual outside the principal subspace (ViM without energy; dim 0 = the official default for D)',
  needs: { fit: true },
  defaults: { dim: 0 },
  create: (c, o, shared) => {
    const model = vimModelOf(c, shared, o.dim);
    return async (h) => residualScore(await model, h);
  },
};

/** Every built-in method, in the order of the paper's tables. */
export const BUILTIN_METHODS: Readonly<Record<string, MethodDefinition>> = Object.freeze({
  msp: { description: 'maximum softmax probability', defaults: {}, create: () => (_h, f) => msp(f) },
  maxlogit: { description: 'maximum logit', defaults: {}, create: () => (_h, f) => maxLogit(f) },
  energy: { description: 'energy score T logsumexp(f / T)', defaults: {}, create: () => (_h, f) => energy(f) },
  gradnorm: { description: 'GradNorm (closed form for the last layer)', defaults: {}, create: () => (h, f) => gradNorm(h, f) },
  react,
  dice,
  'dice+react': diceReact,
  'ash-p': ashMethod('p'),
  'ash-b': ashMethod('b'),
  'ash-s': ashMethod('s'),
  scale: { description: 'SCALE', defaults: { percentile: 85 }, create: (c, o) => (h) => composeScore(h, { head: c.head, transform: { kind: 'scale', percentile: o.percentile as number } }) },
  gen: { description: 'GEN: negated generalised entropy of the top-M softmax probabilities', defaults: { gamma: 0.1, M: 100 }, create: (_c, o) => (_h, f) => gen(f, { gamma: o.gamma as number, M: o.M as number }) },
  vim,
  mahalanobis,
  knn,
  opp: pruned('opp', 'OPNP parameter pruning only'),
  onp: pruned('onp', 'OPNP neuron pruning only'),
  opnp: pruned('opnp', 'OPNP parameter and neuron pruning'),
  'opnp+react': opnpReact,
  entropy: entropyMethod,
  klm,
  she,
  fdbd,
  rmds,
  nnguide,
  nci,
  residual,
  'msp+opnp': pruned('opnp', 'MSP of the OPNP-pruned head', 'msp', 'msp+opnp'),
  'energy+opnp': pruned('opnp', 'energy of the OPNP-pruned head (the same scorer as opnp)', 'energy', 'energy+opnp'),
  'react+opnp': opnpReact,
  'opp+react': prunedReact('opp', 'ReAct clipping before the OPP-pruned head', 'opp+react'),
} as Record<string, MethodDefinition>);

/** The default method list of an evaluation. */
export const DEFAULT_METHODS: readonly string[] = Object.freeze(['msp', 'maxlogit', 'energy', 'gradnorm', 'react', 'dice', 'dice+react', 'ash-s', 'mahalanobis', 'knn', 'opp', 'onp', 'opnp', 'opnp+react']);
