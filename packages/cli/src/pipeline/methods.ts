/**
 * The method registry: every `--methods` name mapped to a scorer factory. A scorer turns a batch of
 * features `[n x D]` and logits `[n x C]` into scores `[n]` (higher = more in-distribution).
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
  type LinearHead,
  type Matrix,
  type ParameterSensitivity,
  type PruningMode,
  type PruningPercentages,
} from '@opnp/core';
import { flagError } from '../errors.js';

/** Scores `[n]` of a batch. */
export type Scorer = (features: Matrix, logits: Matrix) => Float32Array;

/** Everything a method may be fitted on. */
export interface MethodContext {
  readonly head: LinearHead;
  /** Training features of the fit subset `[n_fit x D]` and their labels. */
  readonly fitFeatures: Matrix;
  readonly fitLabels: Int32Array;
  readonly sensitivity: ParameterSensitivity;
  readonly neuronSensitivity: Float64Array;
  /** The OPNP point (fixed or chosen by the grid search). */
  readonly percentages: PruningPercentages;
  /** Hyperparameters. */
  readonly reactPercentile: number;
  readonly dicePercentile: number;
  readonly ashPercentile: number;
  readonly knnK: number;
}

/** What a method needs before it can score. */
interface MethodDefinition {
  readonly description: string;
  /** Uses the OPNP point. */
  readonly opnp?: boolean;
  /** Uses training features (the fit subset). */
  readonly fit?: boolean;
  /** Needs training labels. */
  readonly labels?: boolean;
  create(context: MethodContext, cache: Map<string, unknown>): Scorer;
}

function cached<T>(cache: Map<string, unknown>, key: string, make: () => T): T {
  if (!cache.has(key)) cache.set(key, make());
  return cache.get(key) as T;
}

const clipOf = (c: MethodContext, cache: Map<string, unknown>) => cached(cache, 'react-clip', () => reactThreshold(c.fitFeatures, c.reactPercentile));
const diceOf = (c: MethodContext, cache: Map<string, unknown>) => cached(cache, 'dice-head', () => diceHead(c.head, featureMean(c.fitFeatures), { percentile: c.dicePercentile }).head);
const prunedOf = (c: MethodContext, cache: Map<string, unknown>, mode: PruningMode) =>
  cached(cache, `pruned-${mode}`, () => pruneHead(c.head, pruningMasks(c.sensitivity, c.neuronSensitivity, c.percentages, mode)));

function pruned(mode: PruningMode, withReact: boolean, description: string): MethodDefinition {
  return {
    description,
    opnp: true,
    fit: withReact,
    create: (c, cache) => {
      const head = prunedOf(c, cache, mode);
      if (!withReact) return (h) => composeScore(h, { head });
      const clip = clipOf(c, cache);
      return (h) => composeScore(h, { head, transform: { kind: 'react', clip } });
    },
  };
}

function ashMethod(variant: 'p' | 'b' | 's'): MethodDefinition {
  return {
    description: `ASH-${variant.toUpperCase()}: activation shaping, then energy`,
    create: (c) => (h) => composeScore(h, { head: c.head, transform: { kind: 'ash', variant, percentile: c.ashPercentile } }),
  };
}

/** Every method, in the order of the paper's tables. */
export const METHODS: Readonly<Record<string, MethodDefinition>> = Object.freeze({
  msp: { description: 'maximum softmax probability', create: () => (_h, f) => msp(f) },
  maxlogit: { description: 'maximum logit', create: () => (_h, f) => maxLogit(f) },
  energy: { description: 'energy score T logsumexp(f / T)', create: () => (_h, f) => energy(f) },
  gradnorm: { description: 'GradNorm (closed form for the last layer)', create: () => (h, f) => gradNorm(h, f) },
  react: {
    description: 'ReAct: energy after clipping features at a training percentile',
    fit: true,
    create: (c, cache) => {
      const clip = clipOf(c, cache);
      return (h) => composeScore(h, { head: c.head, transform: { kind: 'react', clip } });
    },
  },
  dice: {
    description: 'DICE: energy of the contribution-sparsified head',
    fit: true,
    create: (c, cache) => {
      const head = diceOf(c, cache);
      return (h) => composeScore(h, { head });
    },
  },
  'dice+react': {
    description: 'DICE head after ReAct clipping',
    fit: true,
    create: (c, cache) => {
      const head = diceOf(c, cache);
      const clip = clipOf(c, cache);
      return (h) => composeScore(h, { head, transform: { kind: 'react', clip } });
    },
  },
  'ash-p': ashMethod('p'),
  'ash-b': ashMethod('b'),
  'ash-s': ashMethod('s'),
  scale: { description: 'SCALE', create: (c) => (h) => composeScore(h, { head: c.head, transform: { kind: 'scale' } }) },
  gen: { description: 'GEN: negated generalised entropy of the top-M softmax probabilities', create: () => (_h, f) => gen(f) },
  vim: {
    description: 'ViM: energy minus the scaled residual norm outside the principal subspace of training features',
    fit: true,
    create: (c) => {
      const model = fitVim(c.fitFeatures, c.head);
      return (h) => vimScore(model, h);
    },
  },
  mahalanobis: {
    description: 'Mahalanobis distance to the nearest class mean (shared covariance)',
    fit: true,
    labels: true,
    create: (c) => {
      const model = fitMahalanobis(c.fitFeatures, c.fitLabels, c.head.weight.rows);
      return (h) => mahalanobisScore(model, h);
    },
  },
  knn: {
    description: 'KNN: distance to the k-th nearest normalised training feature',
    fit: true,
    create: (c) => {
      const model = fitKnn(c.fitFeatures, { k: Math.min(c.knnK, c.fitFeatures.rows) });
      return (h) => knnScore(model, h);
    },
  },
  opp: pruned('opp', false, 'OPNP parameter pruning only'),
  onp: pruned('onp', false, 'OPNP neuron pruning only'),
  opnp: pruned('opnp', false, 'OPNP parameter and neuron pruning'),
  'opnp+react': pruned('opnp', true, 'OPNP with ReAct clipping'),
});

/** The default `--methods`. */
export const DEFAULT_METHODS: readonly string[] = Object.freeze(['msp', 'maxlogit', 'energy', 'gradnorm', 'react', 'dice', 'dice+react', 'ash-s', 'mahalanobis', 'knn', 'opp', 'onp', 'opnp', 'opnp+react']);

/** Parses `--methods a,b,c` (case-insensitive, duplicates dropped); throws on unknown names. */
export function parseMethods(text: string): string[] {
  const names = text.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  if (names.length === 0) throw flagError('--methods', 'expected a comma-separated list of methods');
  const unknown = names.filter((n) => !(n in METHODS));
  if (unknown.length > 0) throw flagError('--methods', `unknown method${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')} (known: ${Object.keys(METHODS).join(', ')})`);
  return [...new Set(names)];
}

/** Whether any of `methods` needs the OPNP point / training features / training labels. */
export function methodNeeds(methods: readonly string[]): { opnp: boolean; fit: boolean; labels: boolean } {
  const defs = methods.map((m) => METHODS[m]!);
  return { opnp: defs.some((d) => d.opnp === true), fit: defs.some((d) => d.fit === true), labels: defs.some((d) => d.labels === true) };
}

/** Builds the scorers of `methods` (sharing ReAct clips, DICE and pruned heads). */
export function createScorers(methods: readonly string[], context: MethodContext): Map<string, Scorer> {
  const cache = new Map<string, unknown>();
  const out = new Map<string, Scorer>();
  for (const name of methods) {
    const def = METHODS[name];
    if (!def) throw new OpnpError('INVALID_ARGUMENT', `Unknown method "${name}"`);
    out.set(name, def.create(context, cache));
  }
  return out;
}
