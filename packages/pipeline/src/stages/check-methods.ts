/**
 * Checks of the methods against the model and the opened sets, before any data is read: a method's own
 * `check` (a capability it needs, an input too large, KNN's `k` above the training rows it will search) and, for methods that perturb the model input, that every
 * set they score is run through the model (cached features have no inputs).
 */
import { OpnpError } from '@opnp/core';
import { resolveMethodOptions } from '../methods/registry.js';
import type { LoadedModel } from '../model.js';
import type { ResolvedConfig } from './config.js';
import type { EvaluationSources } from './sources.js';
import { plannedTrainingRows } from './fit-subsets.js';
import { optionNames } from '../option-names.js';

/**
 * Runs every method's `check` with the training rows the run plans to fit on (passing its notes to `info`) and refuses cached features for methods with
 * `needs.inputs`.
 *
 * @throws OpnpError from a method's check, or `INVALID_ARGUMENT` naming the cached set
 */
export function checkMethods(model: LoadedModel, config: ResolvedConfig, methods: readonly string[], sources: EvaluationSources, info: (message: string) => void): void {
  const trainingRows = plannedTrainingRows(sources.train.count, config);
  for (const method of methods) {
    const definition = config.registry.get(method);
    const note = definition.check?.({ extractor: model.extractor, trainingRows }, resolveMethodOptions(method, definition, config.methodOptions[method]));
    if (note) info(`${method}: ${note}`);
  }
  const perturbing = methods.filter((m) => config.registry.get(m).needs?.inputs === true);
  if (perturbing.length === 0) return;
  const sets = [sources.test, ...sources.ood.map(([, s]) => s), ...sources.valOod.map(([, s]) => s)];
  const cached = sets.find((s) => s.kind !== 'model');
  if (cached) {
    const names = perturbing.join(', ');
    throw new OpnpError('INVALID_ARGUMENT', `${names} perturb${perturbing.length === 1 ? 's' : ''} the model input, but ${cached.spec} holds cached features, not images`, {
      hint: `Give that set as images (a dataset spec), or leave ${names} out of ${optionNames(config.optionNames).methods}`,
    });
  }
}
