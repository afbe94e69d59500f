/**
 * The baseline search (docs/numerics.md#baseline-search): the hyper-parameters of every method with a search
 * space (declared in its registry entry) chosen on the same validation data as the OPNP grid search, with
 * OpenOOD v1.5's rule (`openood/evaluation_api/evaluator.py`, `Evaluator.hyperparam_search`): every point of the
 * grid is scored on the ID and OOD validation sets and the point with the **highest AUROC** is kept, the first one
 * on ties (`if auroc > max_auroc`), the grid enumerated with the first option varying fastest (OpenOOD's
 * `recursive_generator`). With several OOD validation sets the AUROC is their mean (OpenOOD has one).
 *
 * Options the user fixed (`methodOptions`, `temperature`) are not searched.
 */
import { OpnpError, type Matrix } from '@opnp/core';
import { oodMetrics } from '@opnp/metrics';
import { scoreSet } from '../collect.js';
import type { FeatureSource } from '../feature-source.js';
import { fitScorerList } from '../methods/fit-scorers.js';
import {
  resolveMethodOptions,
  type MethodContext,
  type MethodDefinition,
  type MethodOptionOverrides,
  type MethodOptionValue,
  type MethodRegistry,
  type SearchGrid,
} from '../methods/registry.js';
import type { ProgressListener } from '../progress.js';
import type { ValidationData, ValidationSet } from './validation.js';
import { optionNames, type OptionNames } from '../option-names.js';

/** The selection rule, as the report states it. */
export const BASELINE_SEARCH_RULE = 'highest mean validation AUROC over the OOD validation sets; the first grid point on ties (OpenOOD v1.5 automatic parameter search)';

/** One grid point's validation result (fractions; means over the OOD validation sets). */
export interface BaselineGridPoint {
  readonly options: Readonly<Record<string, MethodOptionValue>>;
  readonly auroc: number;
  readonly fpr95: number;
}

/** The search of one method. */
export interface SearchedMethod {
  /** The chosen values of the searched options. */
  readonly chosen: Readonly<Record<string, MethodOptionValue>>;
  /** The table label, e.g. `react (p=90)`. */
  readonly label: string;
  /** Where the grid comes from. */
  readonly source: string;
  /** Mean validation AUROC / FPR95 of the chosen point. */
  readonly auroc: number;
  readonly fpr95: number;
  /** Every point tried, in grid order. */
  readonly grid: readonly BaselineGridPoint[];
}

/** What {@link searchBaselines} chose. */
export interface BaselineSearchResult {
  readonly rule: string;
  /** Samples of the validation sets. */
  readonly validation: { readonly idSamples: number; readonly ood: Readonly<Record<string, number>> };
  /** Per searched method. */
  readonly methods: Readonly<Record<string, SearchedMethod>>;
  /** Methods with a search space that were not searched, and why (every option fixed, no value fits the data). */
  readonly notSearched: Readonly<Record<string, string>>;
}

/** Options of {@link searchBaselines}. */
export interface BaselineSearchOptions {
  readonly registry: MethodRegistry;
  readonly methods: readonly string[];
  /** The user's options: the options they set are not searched. */
  readonly methodOptions?: MethodOptionOverrides;
  readonly context: MethodContext;
  readonly batchSize: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
  readonly onInfo?: (message: string) => void;
  /** What messages call the OOD validation sets (default the library's `valOod`). */
  readonly optionNames?: OptionNames;
}

/**
 * The points of `grid` in OpenOOD's order: the first option varies fastest (`recursive_generator`). Options with
 * no values are left out.
 */
export function baselineGridPoints(grid: SearchGrid): Record<string, MethodOptionValue>[] {
  let points: Record<string, MethodOptionValue>[] = [{}];
  for (const [name, values] of Object.entries(grid)) {
    if (values.length === 0) continue;
    points = values.flatMap((value) => points.map((point) => ({ ...point, [name]: value })));
  }
  return points;
}

/** `p=90`: values under the search space's short names. */
function valuesLabel(definition: MethodDefinition, values: Readonly<Record<string, MethodOptionValue>>): string {
  const names = definition.search?.labels ?? {};
  return Object.entries(values).map(([option, value]) => `${names[option] ?? option}=${String(value)}`).join(', ');
}

/** `react (p=90)`: the method and its chosen values under the search space's short names. */
export function searchedLabel(method: string, definition: MethodDefinition, chosen: Readonly<Record<string, MethodOptionValue>>): string {
  return `${method} (${valuesLabel(definition, chosen)})`;
}

/** A validation set as a feature source: from memory, or streamed through the model again for methods that need its inputs. */
function sourceOf(set: ValidationSet, inputs: boolean): { source: FeatureSource; subset?: Uint32Array; count: number } {
  if (inputs) return { source: set.source, ...(set.subset ? { subset: set.subset } : {}), count: set.subset?.length ?? set.source.count };
  const { features, logits } = set;
  const rows = (m: Matrix, start: number, end: number): Matrix => ({ rows: end - start, cols: m.cols, data: m.data.subarray(start * m.cols, end * m.cols) });
  const source: FeatureSource = {
    spec: `validation:${set.name}`,
    kind: 'features',
    count: features.rows,
    preprocess: set.source.preprocess,
    readLabels: async () => new Int32Array(features.rows).fill(-1),
    identity: () => set.source.identity(),
    async *batches(o) {
      const started = performance.now();
      for (let start = 0; start < features.rows; start += o.batchSize) {
        o.signal?.throwIfAborted();
        const end = Math.min(features.rows, start + o.batchSize);
        yield { features: rows(features, start, end), logits: rows(logits, start, end), labels: new Int32Array(end - start).fill(-1), indices: Uint32Array.from({ length: end - start }, (_, i) => start + i) };
        // After the consumer scored the batch: the rate is that of the scoring.
        o.onProgress?.({ count: end, total: features.rows, rate: (end * 1000) / Math.max(1, performance.now() - started) });
      }
    },
  };
  return { source, count: features.rows };
}

/** The grid of `definition` minus the options the user fixed. */
function searchableGrid(definition: MethodDefinition, context: MethodContext, fixed: Readonly<Record<string, MethodOptionValue>>): SearchGrid {
  const search = definition.search!;
  const grid = typeof search.grid === 'function' ? search.grid(context) : search.grid;
  return Object.fromEntries(Object.entries(grid).filter(([option]) => fixed[option] === undefined));
}

/** Scores every point on every validation set and picks the best (see the module comment). */
async function searchMethod(method: string, definition: MethodDefinition, points: readonly Record<string, MethodOptionValue>[], validation: ValidationData, options: BaselineSearchOptions): Promise<SearchedMethod> {
  const fixed = options.methodOptions?.[method] ?? {};
  const toFit = points.map((point, i) => ({ key: String(i), label: valuesLabel(definition, point), definition, options: resolveMethodOptions(method, definition, { ...fixed, ...point }) }));
  const scorers = await fitScorerList(toFit, options.context, {
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    stage: `search ${method}: fit`,
    unit: 'configurations',
    subStage: (label) => `search ${method}: fit ${label}`,
  });
  const inputs = definition.needs?.inputs === true;
  const common = { batchSize: options.batchSize, ...(options.signal ? { signal: options.signal } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) };
  const scoreValidation = async (set: ValidationSet) => {
    const { source, subset, count } = sourceOf(set, inputs);
    return (await scoreSet(source, scorers, { ...common, ...(subset ? { subset } : {}), count, stage: `search ${method}: ${set.name === 'id' ? 'ID validation' : set.name}` })).scores;
  };
  const id = await scoreValidation(validation.id);
  const ood: Map<string, Float32Array>[] = [];
  for (const set of validation.ood) ood.push(await scoreValidation(set));
  const grid = points.map((point, i): BaselineGridPoint => {
    const metrics = ood.map((scores) => oodMetrics(id.get(String(i))!, scores.get(String(i))!));
    const mean = (key: 'auroc' | 'fpr95') => metrics.reduce((sum, m) => sum + m[key], 0) / metrics.length;
    return { options: point, auroc: mean('auroc'), fpr95: mean('fpr95') };
  });
  let best = 0;
  for (let i = 1; i < grid.length; i++) if (grid[i]!.auroc > grid[best]!.auroc) best = i;
  const chosen = grid[best]!;
  return { chosen: chosen.options, label: searchedLabel(method, definition, chosen.options), source: definition.search!.source, auroc: chosen.auroc, fpr95: chosen.fpr95, grid };
}

/**
 * Searches the hyper-parameters of every method in `options.methods` that declares a search space (see the module
 * comment). Methods without one keep their options.
 *
 * @throws OpnpError `INVALID_ARGUMENT` without an OOD validation set; metric errors (`NON_FINITE`) when a grid
 * point scores NaN
 */
export async function searchBaselines(validation: ValidationData, options: BaselineSearchOptions): Promise<BaselineSearchResult> {
  if (validation.ood.length === 0) throw new OpnpError('INVALID_ARGUMENT', 'The baseline search needs at least one OOD validation set', { hint: `Pass an OOD validation set (${optionNames(options.optionNames).valOod}), or let evaluate() use its noise set` });
  const methods: Record<string, SearchedMethod> = {};
  const notSearched: Record<string, string> = {};
  for (const method of options.methods) {
    const definition = options.registry.get(method);
    if (!definition.search) continue;
    const fixed = options.methodOptions?.[method] ?? {};
    const points = baselineGridPoints(searchableGrid(definition, options.context, fixed));
    if (Object.keys(points[0]!).length === 0) {
      const reason = Object.keys(fixed).length > 0 ? 'every searched option is set explicitly' : 'no grid value fits this model and data';
      notSearched[method] = reason;
      options.onInfo?.(`baseline search: ${method} is not searched (${reason})`);
      continue;
    }
    const searched = await searchMethod(method, definition, points, validation, options);
    methods[method] = searched;
    options.onInfo?.(`baseline search: chose ${searched.label} of ${points.length} point${points.length === 1 ? '' : 's'} (validation AUROC ${(searched.auroc * 100).toFixed(2)}%)`);
  }
  return {
    rule: BASELINE_SEARCH_RULE,
    validation: { idSamples: validation.id.features.rows, ood: Object.fromEntries(validation.ood.map((set) => [set.name, set.features.rows])) },
    methods,
    notSearched,
  };
}
