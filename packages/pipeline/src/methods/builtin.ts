/**
 * The built-in methods, in the order of the paper's tables: each one a registry entry over a score of
 * `@opnp/core`, with its hyper-parameters and the defaults of its paper (see docs/numerics.md "Scores").
 */
import {
  OpnpError,
  composeScore,
  diceHead,
  energy,
  featureMean,
  fitKnn,
  fitMahalanobis,
  fitVim,
  gen,
  gradNorm,
  knnScore,
  mahalanobisScore,
  maxLogit,
  msp,
  pruneHead,
  pruningMasks,
  reactThreshold,
  vimScore,
  type AshVariant,
  type LinearHead,
  type PruningMode,
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

function pruned(mode: PruningMode, description: string): MethodDefinition<Record<string, never>> {
  return {
    description,
    needs: { opnp: true },
    defaults: {},
    create: (c, _o, shared) => {
      const head = prunedOf(c, shared, mode, mode);
      return (h) => composeScore(h, { head });
    },
  };
}

const opnpReact: MethodDefinition<{ reactPercentile: number }> = {
  description: 'OPNP with ReAct clipping',
  needs: { opnp: true, fit: true },
  defaults: { reactPercentile: 90 },
  create: (c, o, shared) => {
    const head = prunedOf(c, shared, 'opnp', 'opnp+react');
    const clip = clipOf(c, shared, o.reactPercentile);
    return (h) => composeScore(h, { head, transform: { kind: 'react', clip } });
  },
};

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

const vim: MethodDefinition<{ dim: number }> = {
  description: 'ViM: energy minus the scaled residual norm outside the principal subspace of training features (dim 0 = the official default for D)',
  needs: { fit: true },
  defaults: { dim: 0 },
  create: (c, o) => {
    const model = fitVim(c.fitFeatures, c.head, o.dim > 0 ? { dim: o.dim } : {});
    return (h) => vimScore(model, h);
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
    return (h) => knnScore(model, h);
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
} as Record<string, MethodDefinition>);

/** The default method list of an evaluation. */
export const DEFAULT_METHODS: readonly string[] = Object.freeze(['msp', 'maxlogit', 'energy', 'gradnorm', 'react', 'dice', 'dice+react', 'ash-s', 'mahalanobis', 'knn', 'opp', 'onp', 'opnp', 'opnp+react']);
