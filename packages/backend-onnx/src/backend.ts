/**
 * The `onnx` {@link Backend}: recognises `.onnx` files and ONNX bytes and loads them as feature extractors.
 */
import type { Backend, ModelSource } from '@opnp/core/base';
import { loadOnnxFeatureExtractor, type OnnxFeatureExtractor, type OnnxLoadOptions } from './extractor.js';
import { looksLikeOnnx } from '@opnp/onnx-common';

/** The ONNX backend object registered as `'onnx'` by `@opnp/backend-onnx/register`. */
export const onnxBackend: Backend & { load(source: ModelSource, options?: OnnxLoadOptions): Promise<OnnxFeatureExtractor> } = {
  specificationVersion: 'v1',
  name: 'onnx',
  accepts: ['.onnx', 'ONNX model bytes'],
  canLoad(source: ModelSource): boolean {
    if (typeof source === 'string') return /\.onnx$/i.test(source);
    return source instanceof Uint8Array && looksLikeOnnx(source);
  },
  load(source: ModelSource, options?: OnnxLoadOptions): Promise<OnnxFeatureExtractor> {
    return loadOnnxFeatureExtractor(source, options);
  },
};
