/**
 * The FeatureExtractor and GemmKernel conformance suites against the web backend, on onnxruntime-web's wasm
 * execution provider in Node (the same wasm binary a page runs), with the Node backend's test models.
 */
import { describeFeatureExtractorConformance, describeGemmKernelConformance } from '@opnp/core/testing';
import { createOnnxWebGemmKernel, loadOnnxWebFeatureExtractor } from '../src/index.js';
import { fixture, imageBatch } from './helpers.js';

describeFeatureExtractorConformance('conformance: onnx-web small-cnn (Flatten -> Gemm, ReLU features)', {
  create: () => loadOnnxWebFeatureExtractor(fixture('small-cnn.onnx').bytes),
  makeBatch: imageBatch(3, 32),
});

describeFeatureExtractorConformance('conformance: onnx-web tiny-vit (LayerNorm pre-logits)', {
  create: () => loadOnnxWebFeatureExtractor(fixture('tiny-vit.onnx').bytes),
  makeBatch: imageBatch(3, 32),
});

describeFeatureExtractorConformance('conformance: onnx-web mnist-cnn with maxBatchSize 16', {
  create: () => loadOnnxWebFeatureExtractor(fixture('mnist-cnn.onnx').bytes, { maxBatchSize: 16 }),
  makeBatch: imageBatch(1, 28),
});

describeGemmKernelConformance('onnxruntime-web', () => createOnnxWebGemmKernel());
