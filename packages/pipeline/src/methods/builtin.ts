/**
 * The built-in methods, in the order of the paper's tables: each one a registry entry over a score of
 * `@opnp/core`, with its hyper-parameters and the defaults of its paper (see docs/numerics.md "Scores"), and,
 * for the methods OpenOOD v1.5 tunes, the grid of the baseline search (docs/numerics.md#baseline-search). The
 * grids are OpenOOD's `postprocessor_sweep` lists (configs/postprocessors/<name>.yml, github.com/Jingkang50/OpenOOD
 * at 3c35632); grids that depend on the data drop the values it cannot take.
 */
import {
  OpnpError,
  composeScoreAsync,
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
  logitsWith,
  mahalanobisScore,
  maxLogit,
  msp,
  mulberry32,
  nciScore,
  nnGuideScore,
  pruneHead,
  pruningMasks,
  reactThreshold,
  residualScoreAsync,
  rmdsScore,
  sampleIndices,
  sheScore,
  vimScoreAsync,
  defaultVimDim,
  type AshVariant,
  type LinearHead,
  type LogitScore,
  type Matrix,
  type PruningMode,
  type ScoreSpec,
  type VimModel,
} from '@opnp/core';
import { odinMethod } from './odin.js';
import { openood } from './openood.js';
import { COUNT_RANGE, NON_NEGATIVE_RANGE, PERCENT_RANGE, POSITIVE_RANGE } from './option-ranges.js';
import { methodKernel, type HeadDims, type MethodContext, type MethodDefinition, type MethodSearchSpace, type OpnpState, type Scorer, type SharedFits } from './registry.js';
import { atTemperature } from './temperature.js';
import { weboMethod } from './webo.js';


/** OpenOOD's ASH and SCALE percentile sweep (`percentile_list` of ash.yml and scale.yml). */
const SHAPING_PERCENTILES = [65, 70, 75, 80, 85, 90, 95];
/** OpenOOD's ReAct percentile sweep (`percentile_list` of react.yml). */
const REACT_PERCENTILES = [85, 90, 95, 99];
/**
 * DICE sparsity levels. OpenOOD v1.5 does not search DICE (dice.yml: `APS_mode: False`, `p_list: [90]`, since
 * commit 6d5197f), so this grid is ours: every 20 points from 10 to 90, which holds the paper's default 90 and
 * the official ImageNet script's 70 (deeplearning-wisc/dice demo-imagenet.sh).
 */
const DICE_PERCENTILES = [10, 30, 50, 70, 90];

/**
 * The scorer of a composed score (transform, head, logit score) with the head product through the run's kernel
 * ({@link methodKernel}).
 */
const composed = (c: MethodContext, spec: ScoreSpec): Scorer => async (h) => composeScoreAsync(h, spec, { kernel: await methodKernel(c) });

const reactSearch: MethodSearchSpace = { grid: { percentile: REACT_PERCENTILES }, source: openood('react', 'percentile_list'), labels: { percentile: 'p' } };

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
      return composed(c, { head, score });
    },
  };
}

/** Energy of the head pruned by `mode` after ReAct clipping. */
function prunedReact(mode: PruningMode, description: string, method: string): MethodDefinition<{ reactPercentile: number }> {
  return {
    description,
    needs: { opnp: true, fit: true },
    defaults: { reactPercentile: 90 },
    ranges: { reactPercentile: PERCENT_RANGE },
    create: (c, o, shared) => {
      const head = prunedOf(c, shared, mode, method);
      const clip = clipOf(c, shared, o.reactPercentile);
      return composed(c, { head, transform: { kind: 'react', clip } });
    },
  };
}

const opnpReact = prunedReact('opnp', 'OPNP with ReAct clipping', 'opnp+react');

function ashMethod(variant: AshVariant): MethodDefinition<{ percentile: number }> {
  return {
    description: `ASH-${variant.toUpperCase()}: activation shaping, then energy`,
    defaults: { percentile: 90 },
    ranges: { percentile: PERCENT_RANGE },
    search: { grid: { percentile: SHAPING_PERCENTILES }, source: openood('ash', 'percentile_list'), labels: { percentile: 'p' } },
    create: (c, o) => composed(c, { head: c.head, transform: { kind: 'ash', variant, percentile: o.percentile } }),
  };
}

const react: MethodDefinition<{ percentile: number }> = {
  description: 'ReAct: energy after clipping features at a training percentile',
  needs: { fit: true },
  defaults: { percentile: 90 },
  ranges: { percentile: PERCENT_RANGE },
  search: reactSearch,
  create: (c, o, shared) => {
    const clip = clipOf(c, shared, o.percentile);
    return composed(c, { head: c.head, transform: { kind: 'react', clip } });
  },
};

const dice: MethodDefinition<{ percentile: number }> = {
  description: 'DICE: energy of the contribution-sparsified head',
  needs: { fit: true },
  defaults: { percentile: 90 },
  ranges: { percentile: PERCENT_RANGE },
  search: { grid: { percentile: DICE_PERCENTILES }, source: 'ours (OpenOOD v1.5 does not search DICE): 10, 30, 50, 70, 90', labels: { percentile: 'p' } },
  create: (c, o, shared) => {
    const head = diceOf(c, shared, o.percentile);
    return composed(c, { head });
  },
};

const diceReact: MethodDefinition<{ percentile: number; reactPercentile: number }> = {
  description: 'DICE head after ReAct clipping',
  needs: { fit: true },
  defaults: { percentile: 90, reactPercentile: 90 },
  ranges: { percentile: PERCENT_RANGE, reactPercentile: PERCENT_RANGE },
  search: {
    grid: { percentile: DICE_PERCENTILES, reactPercentile: REACT_PERCENTILES },
    source: `DICE as dice; ReAct as ${openood('react', 'percentile_list')}`,
    labels: { percentile: 'p', reactPercentile: 'react p' },
  },
  create: (c, o, shared) => {
    const head = diceOf(c, shared, o.percentile);
    const clip = clipOf(c, shared, o.reactPercentile);
    return composed(c, { head, transform: { kind: 'react', clip } });
  },
};

/**
 * The ViM fit for principal dimension `dim` (absent: `defaultVimDim(D)`), shared by `vim` and `residual`. It runs through
 * the run's kernel (its float64 products do the eigendecompositions and alpha's residual norms, its GEMM alpha's
 * logits); the scorers' `create` awaits it, so it is
 * timed and reported with the other fits, and a fit error is reported there.
 */
function vimModelOf(c: MethodContext, shared: SharedFits, given: number | undefined): Promise<VimModel> {
  const dim = given ?? defaultVimDim(c.head.weight.cols);
  return shared.get(`vim:${dim}`, () => {
    const model = methodKernel(c).then((kernel) => fitVimAsync(c.fitFeatures, c.head, { dim, kernel }));
    model.catch(() => undefined); // awaited (and reported) by the scorers
    return model;
  });
}

const scale: MethodDefinition<{ percentile: number }> = {
  description: 'SCALE',
  defaults: { percentile: 85 },
  ranges: { percentile: PERCENT_RANGE },
  search: { grid: { percentile: SHAPING_PERCENTILES }, source: openood('scale', 'percentile_list'), labels: { percentile: 'p' } },
  create: (c, o) => composed(c, { head: c.head, transform: { kind: 'scale', percentile: o.percentile } }),
};

/** GEN's `M` above `C` all mean every class: the values below `C` and the first at or above it. */
function genMs(C: number): number[] {
  const all = [10, 50, 100, 200, 500, 1000];
  const first = all.findIndex((m) => m >= C);
  return first < 0 ? all : all.slice(0, first + 1);
}

const genMethod: MethodDefinition<{ gamma: number; M: number }> = {
  description: 'GEN: negated generalised entropy of the top-M softmax probabilities',
  defaults: { gamma: 0.1, M: 100 },
  ranges: { gamma: POSITIVE_RANGE, M: COUNT_RANGE },
  search: { grid: (c) => ({ gamma: [0.01, 0.1, 0.5, 1, 2, 5, 10], M: genMs(c.head.weight.rows) }), source: openood('gen', 'gamma_list, M_list'), labels: { gamma: 'gamma', M: 'M' } },
  create: (_c, o) => (_h, f) => gen(f, { gamma: o.gamma, M: o.M }),
};

/** ViM's and Residual's `dim`: absent by default, then the official default for D (`defaultVimDim`). */
const VIM_DIM = {
  optional: { dim: 'number' },
  ranges: { dim: COUNT_RANGE },
  resolve: (o: { dim?: number }, head: HeadDims) => ({ ...o, dim: o.dim ?? defaultVimDim(head.features) }),
} as const;

const vim: MethodDefinition<{ dim?: number }> = {
  description: 'ViM: energy minus the scaled residual norm outside the principal subspace of training features (dim: the principal dimension, default the official one for D)',
  needs: { fit: true },
  estimates: { spread: 'subspace' },
  defaults: {},
  ...VIM_DIM,
  // ViM's dim must stay below D: values the features cannot take are dropped.
  search: { grid: (c) => ({ dim: [256, 1000].filter((d) => d < c.head.weight.cols) }), source: openood('vim', 'dim_list'), labels: { dim: 'dim' } },
  create: async (c, o, shared) => {
    const model = await vimModelOf(c, shared, o.dim);
    const kernel = await methodKernel(c);
    return (h) => vimScoreAsync(model, h, { kernel });
  },
};

const mahalanobis: MethodDefinition<{ relativeTolerance: number }> = {
  description: 'Mahalanobis distance to the nearest class mean (shared covariance)',
  needs: { fit: true, labels: true },
  estimates: { perClass: 'nearest', spread: 'covariance' },
  defaults: { relativeTolerance: 1e-6 },
  ranges: { relativeTolerance: { min: 0, max: 1, maxExclusive: true } },
  create: (c, o) => {
    const model = fitMahalanobis(c.fitFeatures, c.fitLabels, c.head.weight.rows, { relativeTolerance: o.relativeTolerance, allowEmptyClasses: true });
    return (h) => mahalanobisScore(model, h);
  },
};

/** The training rows KNN searches: its own subset (`knnFitSamples`), else the fit subset. */
const knnFeaturesOf = (c: MethodContext): Matrix => c.knnFitFeatures ?? c.fitFeatures;

/**
 * Refuses `knn.k` above the training rows KNN searches (core's knnScore would too, without naming the option): a cap
 * would score with another k than the one the report records.
 */
function assertKnnRankFits(k: number, rows: number): void {
  if (k <= rows) return;
  throw new OpnpError('INVALID_ARGUMENT', `knn.k is ${k} but KNN searches ${rows} training row${rows === 1 ? '' : 's'}: k must be at most the number of training rows`, {
    hint: `Lower knn.k to at most ${rows}, or let KNN search more training rows (opnp eval: --knn-fit-samples or --train-fraction; the library: knnFitSamples or trainFraction)`,
  });
}

const knn: MethodDefinition<{ k: number }> = {
  description: 'KNN: distance to the k-th nearest normalised training feature (its own training subset, knnFitSamples)',
  needs: { knnFit: true },
  defaults: { k: 50 },
  ranges: { k: COUNT_RANGE },
  // k above the fit rows would all score like k = rows: only the values the KNN subset can take are tried.
  search: { grid: (c) => ({ k: [50, 100, 200, 500, 1000].filter((k) => k <= knnFeaturesOf(c).rows) }), source: openood('knn', 'K_list'), labels: { k: 'k' } },
  // Before the training pass, on the rows it plans to keep; create checks again on the rows read (skipped samples).
  check: (model, o) => {
    if (model.trainingRows) assertKnnRankFits(o.k, model.trainingRows.knnFit);
    return undefined;
  },
  create: (c, o, shared) => {
    // The normalised bank is shared by every k (the grid of the baseline search fits it once).
    const train = knnFeaturesOf(c);
    assertKnnRankFits(o.k, train.rows);
    const bank = shared.get('knn-bank', () => fitKnn(train, { k: 1 }));
    const model = { ...bank, k: o.k };
    // Query blocks through the run's GEMM kernel (onnxruntime: about numpy's speed); scores do not depend on it.
    const kernel = c.kernel;
    return kernel ? (h) => knnScoreAsync(model, h, { kernel }) : (h) => knnScore(model, h);
  },
};

/** Logits of the fit subset under the original head, through the run's kernel (shared by the methods fitted on them). */
function fitLogitsOf(c: MethodContext, shared: SharedFits): Promise<Matrix> {
  return shared.get('fit-logits', () => {
    const f = methodKernel(c).then((kernel) => logitsWith(kernel, c.head, c.fitFeatures));
    f.catch(() => undefined); // awaited (and reported) by the methods' fits
    return f;
  });
}

const entropyMethod = atTemperature('Entropy: negative entropy of softmax(f / T)', (_h, f, temperature) => entropy(f, { temperature }));

const klm: MethodDefinition<Record<string, never>> = {
  description: 'KL matching: KL divergence to the nearest class-mean softmax template (templates by predicted class on the fit subset)',
  needs: { fit: true },
  defaults: {},
  create: async (c, _o, shared) => {
    const model = fitKlMatching(await fitLogitsOf(c, shared));
    return (_h, f) => klMatchingScore(model, f);
  },
};

const she: MethodDefinition<Record<string, never>> = {
  description: 'SHE: inner product with the mean feature of correctly classified training samples of the predicted class',
  needs: { fit: true, labels: true },
  estimates: { perClass: 'predicted' },
  defaults: {},
  create: async (c, _o, shared) => {
    const model = fitShe(c.fitFeatures, c.fitLabels, c.head, { trainLogits: await fitLogitsOf(c, shared) });
    return (h, f) => sheScore(model, h, f);
  },
};

const fdbd: MethodDefinition<{ distanceAsNormalizer: boolean }> = {
  description: 'fDBD: summed distance to the decision boundaries of the predicted class over the distance to the training mean',
  needs: { fit: true },
  defaults: { distanceAsNormalizer: true },
  search: { grid: { distanceAsNormalizer: [true, false] }, source: openood('fdbd', 'distance_as_normalizer_list'), labels: { distanceAsNormalizer: 'distance' } },
  create: (c, o) => {
    const model = fitFdbd(c.fitFeatures, c.head);
    return (h, f) => fdbdScore(model, h, f, { distanceAsNormalizer: o.distanceAsNormalizer });
  },
};

const rmds: MethodDefinition<{ relativeTolerance: number }> = {
  description: 'RMDS: class-conditional minus background Mahalanobis distance',
  needs: { fit: true, labels: true },
  estimates: { perClass: 'nearest', spread: 'covariance' },
  defaults: { relativeTolerance: 1e-6 },
  ranges: { relativeTolerance: { min: 0, max: 1, maxExclusive: true } },
  create: (c, o) => {
    const model = fitRmds(c.fitFeatures, c.fitLabels, c.head.weight.rows, { relativeTolerance: o.relativeTolerance, allowEmptyClasses: true });
    return (h) => rmdsScore(model, h);
  },
};

/**
 * Rows of the NNGuide bank drawn from `n` fit rows: `round(fraction * n)`, at least one, at most `n` (the official
 * bank is a random `bankset_ratio` of the training set, whatever `k`; docs/numerics.md#nnguide).
 */
export function nnGuideBankRows(n: number, fraction: number): number {
  if (!(fraction > 0 && fraction <= 1)) throw new OpnpError('INVALID_ARGUMENT', 'nnguide.bankFraction must be in (0, 1]', { actual: fraction });
  return Math.min(n, Math.max(1, Math.round(fraction * n)));
}

/** The NNGuide bank: {@link nnGuideBankRows} rows of the fit subset, seeded, in index order. */
async function nnGuideBank(c: MethodContext, shared: SharedFits, o: { bankFraction: number; seed: number }): Promise<{ features: Matrix; logits: Matrix }> {
  const all = await fitLogitsOf(c, shared);
  const n = c.fitFeatures.rows;
  const size = nnGuideBankRows(n, o.bankFraction);
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
  ranges: { k: COUNT_RANGE, bankFraction: { min: 0, max: 1, minExclusive: true }, seed: { min: 0, integer: true } },
  // k above the bank's rows runs with k = the bank's rows (refusing would stop small runs), said and recorded.
  adapt: (o, rows) => {
    const bankRows = nnGuideBankRows(rows.fit, o.bankFraction);
    if (o.k <= bankRows || rows.fit === 0) return undefined;
    return {
      options: { ...o, k: bankRows },
      warning:
        `nnguide.k is ${o.k} but the NNGuide bank has ${bankRows} row${bankRows === 1 ? '' : 's'} (nnguide.bankFraction ${o.bankFraction} of ${rows.fit} fit rows): ` +
        `nnguide runs with k = ${bankRows}, which the report records; to run k = ${o.k}, raise nnguide.bankFraction (opnp eval: --method-option nnguide.bankFraction=<f>) ` +
        `or the fit rows (opnp eval: --fit-samples or --train-fraction; the library: fitSamples or trainFraction)`,
    };
  },
  create: async (c, o, shared) => {
    const bank = await nnGuideBank(c, shared, o);
    // adapt lowered a k above the bank's rows before this; the cap is the safety net of callers that skip it.
    const model = fitNnGuide(bank.features, bank.logits, { k: Math.min(o.k, bank.features.rows) });
    return (h, f) => nnGuideScore(model, h, f);
  },
};

const nci: MethodDefinition<{ alpha: number }> = {
  description: 'NCI: proximity to the predicted class weight direction plus alpha times the L1 norm',
  needs: { fit: true },
  defaults: { alpha: 1e-4 },
  ranges: { alpha: NON_NEGATIVE_RANGE },
  search: { grid: { alpha: [1e-4, 1e-3, 1e-2, 0.1] }, source: openood('nci', 'alpha_list'), labels: { alpha: 'alpha' } },
  create: (c, o) => {
    const model = fitNci(c.fitFeatures, c.head);
    return (h, f) => nciScore(model, h, f, { alpha: o.alpha });
  },
};

const residual: MethodDefinition<{ dim?: number }> = {
  description: 'Residual: negative norm of the feature residual outside the principal subspace (ViM without energy; dim as ViM\'s)',
  needs: { fit: true },
  estimates: { spread: 'subspace' },
  defaults: {},
  ...VIM_DIM,
  create: async (c, o, shared) => {
    const model = await vimModelOf(c, shared, o.dim);
    const kernel = await methodKernel(c);
    return (h) => residualScoreAsync(model, h, { kernel });
  },
};

/** Every built-in method, in the order of the paper's tables. */
export const BUILTIN_METHODS: Readonly<Record<string, MethodDefinition>> = Object.freeze({
  msp: atTemperature('maximum softmax probability max_c softmax(f / T)_c', (_h, f, temperature) => msp(f, { temperature })),
  odin: odinMethod,
  maxlogit: { description: 'maximum logit', defaults: {}, create: () => (_h, f) => maxLogit(f) },
  energy: atTemperature('energy score T logsumexp(f / T)', (_h, f, temperature) => energy(f, { temperature })),
  webo: weboMethod,
  gradnorm: atTemperature('GradNorm (closed form for the last layer)', (h, f, temperature) => gradNorm(h, f, { temperature })),
  react,
  dice,
  'dice+react': diceReact,
  'ash-p': ashMethod('p'),
  'ash-b': ashMethod('b'),
  'ash-s': ashMethod('s'),
  scale,
  gen: genMethod,
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
