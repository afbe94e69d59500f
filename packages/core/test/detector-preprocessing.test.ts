import { describe, expect, it } from 'vitest';
import { DETECTOR_PREPROCESSING_KEY, checkDetectorPreprocessing, decodeDetectorPreprocessing, encodeDetectorPreprocessing } from '@opnp/core/backend';
import { isOpnpError } from '@opnp/core';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isOpnpError(error) ? error.code : 'not an OpnpError';
  }
  return undefined;
}

describe('detector preprocessing', () => {
  it('round trips through its JSON text with fields in a fixed order and absent fields left out', () => {
    const text = encodeDetectorPreprocessing({ std: [0.2, 0.3, 0.4], mean: 0.5, centerCrop: [24, 20], layout: 'NHWC', channels: 3 });
    expect(text).toBe('{"layout":"NHWC","channels":3,"centerCrop":[24,20],"mean":0.5,"std":[0.2,0.3,0.4]}');
    expect(decodeDetectorPreprocessing(text)).toEqual({ layout: 'NHWC', channels: 3, centerCrop: [24, 20], mean: 0.5, std: [0.2, 0.3, 0.4] });
    expect(decodeDetectorPreprocessing({ resize: 32 })).toEqual({ resize: 32 });
    expect(DETECTOR_PREPROCESSING_KEY).toBe('opnp.preprocess');
  });

  it('refuses invalid values with INVALID_ARGUMENT, naming the field', () => {
    const bad: unknown[] = [null, [], 'x', { crop: 3 }, { std: 0 }, { std: [1, 0] }, { mean: [] }, { mean: Number.POSITIVE_INFINITY }, { resize: 0 }, { resize: [3, 2.5] },
      { centerCrop: [1, 2, 3] }, { kernel: '' }, { scale: Number.NaN }, { channels: 0 }, { layout: 'flat' }, { channels: 3, mean: [0.1, 0.2] }];
    for (const value of bad) expect(codeOf(() => checkDetectorPreprocessing(value)), JSON.stringify(value) ?? String(value)).toBe('INVALID_ARGUMENT');
    expect(() => checkDetectorPreprocessing({ std: [1, 0] })).toThrow(/preprocessing\.std is invalid/);
  });

  it('says a per-channel list of the wrong length once: the count, the channels, what is expected, the values', () => {
    expect(() => checkDetectorPreprocessing({ channels: 3, mean: [0.1, 0.2] })).toThrow(
      /^preprocessing\.mean has 2 values, but preprocessing\.channels is 3; expected 1 value or 3 \(one per channel\), got \[0\.1, 0\.2\]$/,
    );
    expect(() => checkDetectorPreprocessing({ channels: 1, std: [1, 2] }, 'the flags', { std: '--std', channels: "the model input's channel count" })).toThrow(
      /^--std has 2 values, but the model input's channel count is 1; expected 1 value, got \[1, 2\]$/,
    );
  });

  it('reads broken metadata as MODEL_FORMAT naming the file', () => {
    expect(codeOf(() => decodeDetectorPreprocessing('{not json', 'd.onnx'))).toBe('MODEL_FORMAT');
    expect(codeOf(() => decodeDetectorPreprocessing('{"std":0}', 'd.onnx'))).toBe('MODEL_FORMAT');
    expect(() => decodeDetectorPreprocessing('[1]', 'd.onnx')).toThrow(/opnp\.preprocess.*d\.onnx/);
  });
});
