/**
 * The `onnx-web` {@link Backend}: recognises `.onnx` URLs and ONNX bytes and loads them on onnxruntime-web.
 */
import type { Backend, ModelSource } from '@opnp/core';
import { looksLikeOnnx } from '@opnp/onnx-common';
import { loadOnnxWebFeatureExtractor, type OnnxWebFeatureExtractor, type OnnxWebLoadOptions } from './extractor.js';

/** The web ONNX backend object registered as `'onnx-web'` by `@opnp/backend-onnx-web/register`. */
export const onnxWebBackend: Backend & { load(source: ModelSource, options?: OnnxWebLoadOptions): Promise<OnnxWebFeatureExtractor> } = {
  specificationVersion: 'v1',
  name: 'onnx-web',
  accepts: ['.onnx URLs', 'ONNX model bytes'],
  canLoad(source: ModelSource): boolean {
    if (typeof source === 'string') return /\.onnx([?#].*)?$/i.test(source);
    return source instanceof Uint8Array && looksLikeOnnx(source);
  },
  load(source: ModelSource, options?: OnnxWebLoadOptions): Promise<OnnxWebFeatureExtractor> {
    return loadOnnxWebFeatureExtractor(source, options);
  },
};
