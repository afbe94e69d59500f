/**
 * The method registry: every method name (`--methods`) mapped to a definition that says what the method
 * needs (training features, labels, the OPNP point), its hyper-parameters with their defaults, and how
 * to build a scorer. A scorer turns a batch of features `[n x D]` and logits `[n x C]` into scores `[n]`
 * (higher = more in-distribution). Registries are plain objects: a user adds a method to their own
 * registry without touching this package.
 */
import type { JsonValue } from '../fingerprint.js';
import type { OptionRange } from './option-ranges.js';
import { OpnpError, resolveGemmKernel, type FeatureExtractor, type GemmKernel, type InputBatch, type LinearHead, type Matrix, type ParameterSensitivity, type PruningPercentages } from '@opnp/core';

/**
 * Scores `[n]` of a batch of features `[n x D]` and logits `[n x C]` (sync, or async for kernel-backed methods).
 * `inputs` are the batch's model inputs, given to the scorers of methods with `needs.inputs`.
 */
export type Scorer = (features: Matrix, logits: Matrix, inputs?: InputBatch) => Float32Array | Promise<Float32Array>;

/** Values a method's hyper-parameters may take. */
export type MethodOptionValue = number | string | boolean;

/** A method's hyper-parameters by name. */
export type MethodOptions = Readonly<Record<string, MethodOptionValue>>;

/** The OPNP state methods that prune the head are built from. */
export interface OpnpState {
  /** Parameter sensitivity `s [C x D]`. */
  readonly sensitivity: ParameterSensitivity;
  /** Neuron sensitivity `s_j [D]`. */
  readonly neuronSensitivity: Float64Array;
  /** The OPNP point (fixed or chosen by the grid search). */
  readonly percentages: PruningPercentages;
}

/** Everything a method may be fitted on. */
export interface MethodContext {
  readonly head: LinearHead;
  /** Training features of the fit subset `[n_fit x D]`; `rows` is 0 when no method asked for them. */
  readonly fitFeatures: Matrix;
  /** `[n_fit]` labels of the fit subset (-1 = unknown). */
  readonly fitLabels: Int32Array;
  /**
   * Training features of KNN's own subset `[n_knn x D]` (`knnFitSamples` rows), present when a method declares
   * `needs.knnFit`; methods fall back to `fitFeatures` without it.
   */
  readonly knnFitFeatures?: Matrix;
  /** Present when a method with `needs.opnp` is evaluated. */
  readonly opnp?: OpnpState;
  /**
   * The run's GEMM kernel (an evaluation passes its model's, onnxruntime's MatMul with `@opnp/backend-onnx`), for
   * every large product of a method: head products (composed scores, ViM's energy, fit logits), KNN's queries, ViM's
   * eigendecompositions. Methods read it through {@link methodKernel}, which falls back to the fastest registered
   * kernel, and pass it to core's kernel-taking functions (`composeScoreAsync`, `vimScoreAsync`, `logitsWith`, ...).
   */
  readonly kernel?: GemmKernel;
  /** The model, for methods that run it again on perturbed inputs (`needs.inputs`: ODIN). */
  readonly extractor?: FeatureExtractor;
  /** Per-channel std of the input normalisation (`(x / 255 - mean) / std`), when known. */
  readonly inputStd?: readonly number[];
  /**
   * Reports the sub-steps of a long fit from a method's `create` (`done` of `total`, in `unit`s, default `'steps'`;
   * `done >= total` ends them). {@link fitScorers} gives each method its own, shown as the stage `fit <method>`;
   * absent when nothing listens (call it as `context.reportProgress?.(done, total)`).
   */
  readonly reportProgress?: MethodProgress;
}

/**
 * The kernel of a method's matrix products: `context.kernel`, else the fastest registered kernel
 * (`resolveGemmKernel()`, the portable one when nothing else is registered), so a context built without a kernel
 * computes what an evaluation of the same model computes.
 */
export function methodKernel(context: Pick<MethodContext, 'kernel'>): Promise<GemmKernel> {
  return context.kernel ? Promise.resolve(context.kernel) : resolveGemmKernel();
}

/** See {@link MethodContext.reportProgress}. */
export type MethodProgress = (done: number, total: number, unit?: string) => void;

/** Fitted values several methods share (a ReAct clip, a DICE head), keyed by what they depend on. */
export interface SharedFits {
  get<T>(key: string, make: () => T): T;
}

/** What a method needs before it can score. */
export interface MethodNeeds {
  /** The OPNP point and sensitivities. */
  readonly opnp?: boolean;
  /** Training features (the fit subset). */
  readonly fit?: boolean;
  /** Training features of KNN's subset (`knnFitSamples` rows, `context.knnFitFeatures`). */
  readonly knnFit?: boolean;
  /** Training labels. */
  readonly labels?: boolean;
  /** The model inputs of every scored batch (images run through the model; cached features cannot be scored). */
  readonly inputs?: boolean;
}

/**
 * What a method estimates from the fit rows (`context.fitFeatures`, `context.fitLabels`), so a run can warn when the
 * rows cannot hold it (`thinFitWarnings`).
 */
export interface MethodEstimates {
  /**
   * Statistics per class of the labels: `'nearest'` when a score takes the nearest class that has fit rows (classes
   * without rows are left out), `'predicted'` when it reads the statistics of the predicted class (NaN for a class
   * without rows).
   */
  readonly perClass?: 'nearest' | 'predicted';
  /** A covariance of the `D` features (`'covariance'`) or a principal subspace of them (`'subspace'`). */
  readonly spread?: 'covariance' | 'subspace';
}

/** Values to try per option, in order. */
export type SearchGrid = Readonly<Record<string, readonly MethodOptionValue[]>>;

/**
 * A method's hyper-parameter grid for the baseline search (docs/numerics.md#baseline-search), declared in the
 * method's registry entry.
 */
export interface MethodSearchSpace {
  /** The grid, or a function of the context for grids bounded by the data (KNN's `k` at most the fit rows). */
  readonly grid: SearchGrid | ((context: MethodContext) => SearchGrid);
  /** Where the grid comes from, e.g. `OpenOOD v1.5 configs/postprocessors/react.yml (percentile_list)`. */
  readonly source: string;
  /** Short option names for labels (`{ percentile: 'p' }` labels the row `react (p=90)`); default the option name. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** What a method may check about the model before any data is read. */
export interface MethodModelInfo {
  readonly extractor: FeatureExtractor;
  /**
   * The training rows the run plans to fit on (before unreadable samples are skipped), when known: `fit` rows of the
   * fit subset (`fitSamples`) and `knnFit` rows of KNN's subset (`knnFitSamples`).
   */
  readonly trainingRows?: TrainingRows;
}

/** Rows of the training subsets a run fits on (see {@link MethodModelInfo.trainingRows}). */
export interface TrainingRows {
  /** Rows of the fit subset (`context.fitFeatures`). */
  readonly fit: number;
  /** Rows of KNN's subset (`context.knnFitFeatures`, which falls back to the fit subset). */
  readonly knnFit: number;
}

/** Options a method had to change for the data of a run, and why ({@link MethodDefinition.adapt}). */
export interface AdaptedOptions<O extends MethodOptions = MethodOptions> {
  /** The options the method runs with. */
  readonly options: O;
  /** Names the option given, the value used instead, and what would let the given one run (said to the user as a warning). */
  readonly warning: string;
}

/** The dimensions of a model's linear head, which some defaults depend on. */
export interface HeadDims {
  /** Feature dimension `D`. */
  readonly features: number;
  /** Classes `C`. */
  readonly classes: number;
}

/** The type of a hyper-parameter's values. */
export type MethodOptionType = 'number' | 'string' | 'boolean';

/**
 * One method. `O` are its hyper-parameters; `defaults` gives every one of them except the {@link optional} ones,
 * whose value the method chooses from the data when they are absent.
 */
export interface MethodDefinition<O extends MethodOptions = MethodOptions> {
  readonly description: string;
  readonly needs?: MethodNeeds;
  /** What it estimates from the fit rows (for the warnings of a fit on too few rows). */
  readonly estimates?: MethodEstimates;
  readonly defaults: O;
  /**
   * Hyper-parameters without a fixed default, by name with their type: absent unless given, and then chosen by the
   * method from the data (ViM's `dim` from `D`). {@link resolve} says which value it chooses.
   */
  readonly optional?: Readonly<Record<string, MethodOptionType>>;
  /**
   * The options as the method runs with them on a head of `head`'s dimensions: with the values it chooses for
   * absent {@link optional} options. Reports and fingerprints record these instead of absences.
   */
  resolve?(options: O, head: HeadDims): O;
  /**
   * The numbers each numeric hyper-parameter may take (see `OptionRange`), checked before any data is read; options
   * without one take any number of the right type.
   */
  readonly ranges?: Readonly<Record<string, OptionRange>>;
  /** The grid the baseline search tries (none: the method is never searched). */
  readonly search?: MethodSearchSpace;
  /**
   * Called before any data is read: throws when the method cannot run on this model with these options (a
   * missing capability, an input too large), so a run fails in a second instead of after the training pass.
   * May return a note for the user (how the method will run).
   */
  check?(model: MethodModelInfo, options: O): string | undefined;
  /**
   * Called once after the training pass, before the method is fitted, with the rows it fits on: the options it runs
   * with when one of them cannot run on these rows as given (NNGuide's `k` above its bank's rows), and a warning
   * saying so; `undefined` when the options run as given. The adapted options are what the report records.
   */
  adapt?(options: O, rows: TrainingRows): AdaptedOptions<O> | undefined;
  /**
   * What the method reads besides its options, as JSON (e.g. the SHA-256 of a weights file its options name), or
   * `null`. It goes into the fingerprint of a sharded evaluation, so shards whose method read another file than
   * the other shards are refused at the merge instead of mixing their scores. Called after {@link check}.
   */
  identity?(options: O): JsonValue;
  /**
   * Builds the scorer (fitting on `context` as needed). May return a promise (a fit through the run's kernel): the
   * pipeline awaits it before scoring, so the fit is timed and reported as part of the `fit methods` stage.
   */
  create(context: MethodContext, options: O, shared: SharedFits): Scorer | Promise<Scorer>;
}

/** Per-method overrides of hyper-parameters: `{ react: { percentile: 85 }, knn: { k: 10 } }`. */
export type MethodOptionOverrides = Readonly<Record<string, Readonly<Record<string, MethodOptionValue>>>>;

/** A set of methods by name. */
export interface MethodRegistry {
  /** Adds a method. @throws OpnpError `INVALID_ARGUMENT` when the name is taken or malformed */
  register<O extends MethodOptions>(name: string, definition: MethodDefinition<O>): void;
  /** @throws OpnpError `INVALID_ARGUMENT` naming the known methods */
  get(name: string): MethodDefinition;
  has(name: string): boolean;
  /** Names in registration order. */
  names(): string[];
}

/** A registry holding `initial` (by default nothing; see `createMethodRegistry` in the package index for the built-ins). */
export function createEmptyRegistry(initial: Readonly<Record<string, MethodDefinition>> = {}): MethodRegistry {
  const methods = new Map<string, MethodDefinition>();
  const registry: MethodRegistry = {
    register(name, definition) {
      if (!/^[a-z0-9][a-z0-9+_.-]*$/.test(name)) throw new OpnpError('INVALID_ARGUMENT', `Method names are lower-case letters, digits and + _ . -, got "${name}"`);
      if (methods.has(name)) throw new OpnpError('INVALID_ARGUMENT', `A method named "${name}" is already registered`, { hint: 'Pick another name' });
      methods.set(name, definition as unknown as MethodDefinition);
    },
    get(name) {
      const definition = methods.get(name);
      if (!definition) throw new OpnpError('INVALID_ARGUMENT', `Unknown method "${name}"`, { expected: [...methods.keys()].join(', ') });
      return definition;
    },
    has: (name) => methods.has(name),
    names: () => [...methods.keys()],
  };
  for (const [name, definition] of Object.entries(initial)) registry.register(name, definition);
  return registry;
}

/**
 * A method's options: its defaults with `overrides` applied (absent {@link MethodDefinition.optional} options stay absent).
 *
 * @throws OpnpError `INVALID_ARGUMENT` for an unknown option or a value of another type than the option's
 */
export function resolveMethodOptions(name: string, definition: MethodDefinition, overrides: Readonly<Record<string, MethodOptionValue>> = {}): MethodOptions {
  for (const [key, value] of Object.entries(overrides)) {
    const base = definition.defaults[key];
    const type = base !== undefined ? typeof base : definition.optional?.[key];
    if (type === undefined) throw new OpnpError('INVALID_ARGUMENT', `Method "${name}" has no option "${key}"`, { expected: [...Object.keys(definition.defaults), ...Object.keys(definition.optional ?? {})].join(', ') || 'no options' });
    if (typeof value !== type) throw new OpnpError('INVALID_ARGUMENT', `Option ${name}.${key} must be a ${type}`, { actual: value });
  }
  return { ...definition.defaults, ...overrides };
}

/**
 * A method's options as it runs with them on a head of `head`'s dimensions: {@link resolveMethodOptions}, then the
 * values the method chooses for absent optional options ({@link MethodDefinition.resolve}).
 *
 * @throws OpnpError `INVALID_ARGUMENT` as {@link resolveMethodOptions}
 */
export function methodOptionsFor(name: string, definition: MethodDefinition, overrides: Readonly<Record<string, MethodOptionValue>> | undefined, head: HeadDims): MethodOptions {
  const options = resolveMethodOptions(name, definition, overrides);
  return definition.resolve ? definition.resolve(options, head) : options;
}

/**
 * Whether any of `methods` needs the OPNP point / training features / training labels / model inputs; `knnFit: true`
 * is added when one needs KNN's training subset.
 */
export function methodNeeds(registry: MethodRegistry, methods: readonly string[]): Required<Omit<MethodNeeds, 'knnFit'>> & Pick<MethodNeeds, 'knnFit'> {
  const needs = methods.map((m) => registry.get(m).needs ?? {});
  const any = (key: keyof MethodNeeds) => needs.some((n) => n[key] === true);
  return { opnp: any('opnp'), fit: any('fit'), labels: any('labels'), inputs: any('inputs'), ...(any('knnFit') ? { knnFit: true } : {}) };
}

/** A fresh {@link SharedFits}: each fitted value is made once, on first use. */
export function createSharedFits(): SharedFits {
  const cache = new Map<string, unknown>();
  return {
    get<T>(key: string, make: () => T): T {
      if (!cache.has(key)) cache.set(key, make());
      return cache.get(key) as T;
    },
  };
}

/** {@link MethodDefinition.identity} of each of `methods` that has one, by method name. */
export function methodInputsIdentity(registry: MethodRegistry, methods: readonly string[], overrides: MethodOptionOverrides = {}): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const name of methods) {
    const definition = registry.get(name);
    if (definition.identity) out[name] = definition.identity(resolveMethodOptions(name, definition, overrides[name]));
  }
  return out;
}

/** A scorer that waits for an asynchronous fit (whose error is reported when a batch is scored). */
function deferredScorer(fitted: Promise<Scorer>): Scorer {
  fitted.catch(() => undefined); // awaited (and reported) by the scorer
  return async (features, logits, inputs) => (await fitted)(features, logits, inputs);
}

/**
 * Builds the scorers of `methods` (sharing fitted values between them) without waiting: an asynchronous fit (ViM,
 * residual) finishes when the first batch is scored, and its error is reported there. `fitScorers` awaits the fits
 * and reports progress.
 */
export function createScorers(registry: MethodRegistry, methods: readonly string[], context: MethodContext, overrides: MethodOptionOverrides = {}): Map<string, Scorer> {
  const shared = createSharedFits();
  const out = new Map<string, Scorer>();
  for (const name of methods) {
    const definition = registry.get(name);
    const scorer = definition.create(context, resolveMethodOptions(name, definition, overrides[name]), shared);
    out.set(name, scorer instanceof Promise ? deferredScorer(scorer) : scorer);
  }
  return out;
}
