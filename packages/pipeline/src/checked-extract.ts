/**
 * Every extraction of the pipeline goes through {@link checkedExtract}: each result is checked against the backend
 * contract (one float32 row per sample, the head's widths), and the first non-empty batch against the head
 * (`logits = W h + b`, the check of `@opnp/core`'s `assertHeadMatchesLogits`) unless the extractor ran that check
 * itself and passed it (the ONNX and TensorFlow.js backends do, `headCheck`). A custom backend whose head does not
 * reproduce its logits (no bias, classes in another order, probabilities for logits) fails on its first batch
 * instead of giving other OOD numbers.
 */
import { assertExtractResult, assertHeadMatchesLogits, type ExtractResult, type ExtractorOwner, type InputBatch } from '@opnp/core/base';
import type { LoadedModel } from './model.js';

/** Whether every value of `data` is finite (non-finite batches are refused by the caller with the sample named). */
function allFinite(data: Float32Array): boolean {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) return false;
  }
  return true;
}

/**
 * A function that runs `model.extractor.extract` and checks what it returns (see the module comment). Make one per
 * pass over a dataset: its first non-empty batch is head-checked.
 *
 * @throws OpnpError `BACKEND_FAILURE` naming the backend, the model and what is wrong
 */
export function checkedExtract(model: LoadedModel): (inputs: InputBatch) => Promise<ExtractResult> {
  const { extractor } = model;
  const owner: ExtractorOwner = { backend: extractor.backend, model: model.path };
  let headChecked = false;
  return async (inputs) => {
    const rows = inputs.shape[0] ?? 0;
    const result: unknown = await extractor.extract(inputs);
    assertExtractResult(result, rows, extractor.head, owner);
    if (!headChecked && rows > 0 && allFinite(result.features.data) && allFinite(result.logits.data)) {
      headChecked = true;
      if (extractor.headCheck?.withinTolerance !== true) assertHeadMatchesLogits(extractor.head, result, owner);
    }
    return result;
  };
}
