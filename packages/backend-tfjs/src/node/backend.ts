/**
 * The `tfjs` {@link Backend} (Node): recognises TensorFlow.js `model.json` files (or folders holding one) and
 * loads them as feature extractors.
 */
import { OpnpError, type Backend, type ModelSource } from '@opnp/core';
import type { TfjsFeatureExtractor, TfjsLoadOptions } from '../extractor.js';
import { looksLikeTfjsModel } from './fs-io.js';
import { loadTfjsFeatureExtractor } from './loaders.js';

/** The TensorFlow.js backend object registered as `'tfjs'` by `@opnp/backend-tfjs/register`. */
export const tfjsBackend: Backend & { load(source: ModelSource, options?: TfjsLoadOptions): Promise<TfjsFeatureExtractor> } = {
  specificationVersion: 'v1',
  name: 'tfjs',
  accepts: ['model.json (TensorFlow.js layers or graph model)', 'a folder holding model.json'],
  /** A path ending in `.json` whose content is a layers / graph model, or a folder holding such a `model.json`. Bytes: never (the weights live in other files). */
  canLoad(source: ModelSource): boolean {
    return typeof source === 'string' && looksLikeTfjsModel(source);
  },
  load(source: ModelSource, options?: TfjsLoadOptions): Promise<TfjsFeatureExtractor> {
    if (typeof source !== 'string') {
      return Promise.reject(
        new OpnpError('INVALID_ARGUMENT', 'The tfjs backend loads a model.json path (its weights are separate files)', {
          actual: 'bytes',
          hint: 'Pass the path of model.json, or use loadTfjsFeatureExtractor with an IOHandler',
        }),
      );
    }
    return loadTfjsFeatureExtractor(source, options);
  },
};
