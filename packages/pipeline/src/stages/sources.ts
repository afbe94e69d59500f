/**
 * Stage 0 of an evaluation: open every set before any work (a missing OOD folder fails in a second, not
 * after the training pass), and settle the preprocessing. Cached features record the preprocessing they
 * were extracted with; sets that still go through the model (the noise validation set, image folders)
 * use the same, and a different one given explicitly is refused.
 */
import { OpnpError } from '@opnp/core';
import { preprocessOptionsFor, type PreprocessOptionNames, type PreprocessOptions } from '@opnp/datasets';
import { parseFeaturesSpec } from '../cached-features.js';
import { openFeatureSource, type FeatureSource } from '../feature-source.js';
import { canonicalJson, describeFingerprintChanges, jsonChanges, showFingerprintValue, type JsonValue } from '../fingerprint.js';
import type { LoadedModel } from '../model.js';
import type { NamedSpec } from '../evaluation-types.js';
import { methodNeeds } from '../methods/registry.js';
import { validationNeeds, type ResolvedConfig } from './config.js';
import { optionNames, preprocessName, preprocessValue } from '../option-names.js';

/** Every set of an evaluation, opened. */
export interface EvaluationSources {
  readonly train: FeatureSource;
  readonly test: FeatureSource;
  /** OOD test sets in the order given. */
  readonly ood: readonly (readonly [string, FeatureSource])[];
  /** OOD validation sets of the grid search (the given ones, or the noise set). */
  readonly valOod: readonly (readonly [string, FeatureSource])[];
}

const same = (a: PreprocessOptions, b: PreprocessOptions) => canonicalJson(a as unknown as JsonValue) === canonicalJson(b as unknown as JsonValue);

function isEmpty(flags: PreprocessOptions | undefined): boolean {
  return flags === undefined || Object.values(flags).every((v) => v === undefined);
}

/** The fields in which two preprocessings differ, each named as the caller names it (`--mean`, else `mean`). */
function preprocessChanges(stored: PreprocessOptions, current: PreprocessOptions, names: PreprocessOptionNames) {
  const asJson = (p: PreprocessOptions) => p as unknown as { readonly [key: string]: JsonValue };
  return jsonChanges(asJson(stored), asJson(current)).map((c) => ({ ...c, path: names[c.path as keyof PreprocessOptions] ?? c.path }));
}

/** The normalisation, resize and crop options as the caller names them: `--mean/--std/--resize/--crop`. */
function preprocessFields(names: PreprocessOptionNames): string {
  return (['mean', 'std', 'resize', 'centerCrop'] as const).map((o) => preprocessName(names, o)).join('/');
}

/** The preprocessing for sets run through the model, reconciled with what cached features recorded. */
function settlePreprocess(model: LoadedModel, flags: PreprocessOptions | undefined, cached: readonly FeatureSource[], modelRun: readonly string[], names: PreprocessOptionNames = {}): PreprocessOptions | undefined {
  const recorded = cached.filter((s) => s.preprocess !== undefined);
  for (const source of recorded.slice(1)) {
    if (!same(source.preprocess!, recorded[0]!.preprocess!)) {
      const values = preprocessChanges(recorded[0]!.preprocess!, source.preprocess!, {}).map((c) => `${c.path} ${showFingerprintValue(c.stored)} and ${showFingerprintValue(c.current)}`);
      throw new OpnpError('STATE_MISMATCH', `The cached features ${recorded[0]!.spec} and ${source.spec} were extracted with different preprocessing (${values.join('; ')})`, { hint: `Extract every set with the same ${preprocessFields(names)}` });
    }
  }
  const first = recorded[0]?.preprocess;
  if (!isEmpty(flags)) {
    const given = preprocessOptionsFor(model.extractor.input, { ...flags });
    if (first && !same(given, first)) {
      // Each differing field: the value recorded at extraction ("was"), the one these flags give ("now").
      const changes = describeFingerprintChanges(preprocessChanges(first, given, names));
      throw new OpnpError('STATE_MISMATCH', `The preprocessing flags differ from the preprocessing the cached features ${recorded[0]!.spec} were extracted with: ${changes}`, {
        hint: 'Drop the preprocessing flags (the recorded preprocessing is used) or extract the features again',
      });
    }
    return flags;
  }
  if (first) return first;
  const unrecorded = cached.find((s) => s.preprocess === undefined);
  if (unrecorded && modelRun.length > 0) {
    throw new OpnpError('INVALID_ARGUMENT', `${modelRun[0]} goes through the model, but the preprocessing of the cached features ${unrecorded.spec} is unknown (no sidecar)`, {
      hint: `Pass the ${preprocessName(names, 'mean')}/${preprocessName(names, 'std')} (and ${preprocessName(names, 'resize')}/${preprocessName(names, 'centerCrop')}) used for the extraction (${preprocessValue(names, 'mean', 0)} and ${preprocessValue(names, 'std', 1)} for none), or give every set as cached features`,
    });
  }
  return flags;
}

/** Opens every set (see the module comment). */
export async function openSources(model: LoadedModel, config: ResolvedConfig, info: (message: string) => void): Promise<EvaluationSources> {
  const valSpecs: NamedSpec[] = config.valOod.length > 0 ? [...config.valOod] : [];
  // Validation sets are opened only when something is searched: the OPNP point (an OPNP method, or the figure
  // inputs, and no fixed point) or the baselines (searchBaselines).
  const needs = validationNeeds(config);
  const needsSearch = needs.opnp || needs.baselines;
  if (needsSearch && valSpecs.length === 0) valSpecs.push({ name: 'noise', spec: `noise:${config.valNoise}#seed=${config.seed + 1001}` });
  // The labels of the ID test set are used (accuracy), those of the training set by methods that need them
  // (class-conditional fits); those of the OOD sets are not. Only used labels are checked against the model's classes.
  const trainLabelsUsed = methodNeeds(config.registry, config.methods).labels;
  const names = optionNames(config.optionNames);
  const all: { key: string; spec: string; argument: string; labels?: string; labelsOption?: string }[] = [
    { key: 'train', spec: config.train, argument: `${names.train} ${config.train}`, ...(trainLabelsUsed ? { labelsOption: names.trainLabels } : {}), ...(config.trainLabels !== undefined ? { labels: config.trainLabels } : {}) },
    { key: 'test', spec: config.test, argument: `${names.test} ${config.test}`, labelsOption: names.testLabels, ...(config.testLabels !== undefined ? { labels: config.testLabels } : {}) },
    ...config.ood.map((o) => ({ key: `ood:${o.name}`, spec: o.spec, argument: `${names.ood} ${o.name}=${o.spec}` })),
    ...valSpecs.map((o) => ({ key: `val:${o.name}`, spec: o.spec, argument: `${names.valOod} ${o.name}=${o.spec}` })),
  ];
  const opened = new Map<string, FeatureSource>();
  const passOptions = { ...(config.imageWorkers !== undefined ? { imageWorkers: config.imageWorkers } : {}), ...(config.preprocessNames ? { preprocessNames: config.preprocessNames } : {}) };
  const open = async (entry: (typeof all)[number], preprocess: PreprocessOptions | undefined) =>
    opened.set(entry.key, await openFeatureSource(entry.spec, { model, argument: entry.argument, ...(preprocess ? { preprocess } : {}), ...(entry.labels !== undefined ? { labelsFile: entry.labels } : {}), ...(entry.labelsOption !== undefined ? { classCheck: { labelsOption: entry.labelsOption } } : {}), ...passOptions }));
  for (const entry of all.filter((e) => parseFeaturesSpec(e.spec))) await open(entry, undefined);
  const modelRun = all.filter((e) => !parseFeaturesSpec(e.spec));
  const cached = [...opened.values()];
  const preprocess = settlePreprocess(model, config.preprocess, cached, modelRun.map((e) => e.spec), config.preprocessNames);
  if (isEmpty(config.preprocess) && cached.some((s) => s.preprocess !== undefined) && modelRun.length > 0) info(`using the preprocessing recorded with the cached features for ${modelRun.map((e) => e.spec).join(', ')}`);
  for (const entry of modelRun) await open(entry, preprocess);
  if (needsSearch && config.valOod.length === 0) info(`no OOD validation set given: using ${config.valNoise} seeded uniform-noise images for the ${needs.opnp ? 'grid search' : 'baseline search'}`);
  const get = (key: string) => opened.get(key)!;
  return {
    train: get('train'),
    test: get('test'),
    ood: config.ood.map((o) => [o.name, get(`ood:${o.name}`)] as const),
    valOod: valSpecs.map((o) => [o.name, get(`val:${o.name}`)] as const),
  };
}
