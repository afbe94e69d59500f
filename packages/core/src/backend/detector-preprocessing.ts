/**
 * The input preprocessing recorded in an exported detector ({@link DetectorPreprocessing}): one check and one
 * JSON encoding shared by every backend, stored under {@link DETECTOR_PREPROCESSING_KEY} (ONNX `metadata_props`,
 * TensorFlow.js `userDefinedMetadata`).
 */
import { OpnpError } from '../errors.js';
import type { DetectorPreprocessing } from '../feature-extractor.js';

/** The metadata key a detector's preprocessing is stored under (a JSON string in ONNX, an object in TensorFlow.js). */
export const DETECTOR_PREPROCESSING_KEY = 'opnp.preprocess';

type Field = keyof DetectorPreprocessing;
const FIELDS: readonly Field[] = ['layout', 'channels', 'resize', 'centerCrop', 'kernel', 'scale', 'mean', 'std'];

function positiveInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

function sizeOf(v: unknown): number | [number, number] | undefined {
  if (positiveInteger(v)) return v;
  if (Array.isArray(v) && v.length === 2 && v.every(positiveInteger)) return [v[0] as number, v[1] as number];
  return undefined;
}

function valuesOf(v: unknown, nonZero: boolean): number | number[] | undefined {
  const ok = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && !(nonZero && x === 0);
  if (ok(v)) return v;
  if (Array.isArray(v) && v.length > 0 && v.every(ok)) return v.slice();
  return undefined;
}

/** Each field's check: the normalised value, or `undefined` when invalid, with what was expected. */
const CHECKS: Record<Field, { expected: string; check: (v: unknown) => unknown }> = {
  layout: { expected: '"NCHW" or "NHWC"', check: (v) => (v === 'NCHW' || v === 'NHWC' ? v : undefined) },
  channels: { expected: 'a positive integer', check: (v) => (positiveInteger(v) ? v : undefined) },
  resize: { expected: 'a positive integer or [height, width]', check: sizeOf },
  centerCrop: { expected: 'a positive integer or [height, width]', check: sizeOf },
  kernel: { expected: 'a kernel name', check: (v) => (typeof v === 'string' && v.length > 0 ? v : undefined) },
  scale: { expected: 'a finite number', check: (v) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined) },
  mean: { expected: 'a finite number or a non-empty list of them', check: (v) => valuesOf(v, false) },
  std: { expected: 'a finite non-zero number or a non-empty list of them', check: (v) => valuesOf(v, true) },
};

/**
 * Checks a detector's preprocessing and returns a plain copy with its fields in a fixed order (absent fields
 * left out): unknown fields, wrong types, non-finite values, a zero `std`, or per-channel `mean` / `std` lists
 * whose length is neither 1 nor `channels` are refused.
 *
 * @param where names the value in messages (e.g. `'preprocessing'`, or a metadata key)
 * @param names what messages call each field (default `<where>.<field>`), e.g. the command-line flags that set them
 * @throws OpnpError `INVALID_ARGUMENT`
 */
export function checkDetectorPreprocessing(value: unknown, where = 'preprocessing', names: { readonly [F in Field]?: string } = {}): DetectorPreprocessing {
  const label = (field: Field): string => names[field] ?? `${where}.${field}`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new OpnpError('INVALID_ARGUMENT', `${where} must be an object`, { expected: `an object with some of ${FIELDS.join(', ')}`, actual: value });
  }
  const record = value as Record<string, unknown>;
  const unknown = Object.keys(record).filter((k) => !(FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) throw new OpnpError('INVALID_ARGUMENT', `${where} has unknown fields`, { expected: FIELDS.join(', '), actual: unknown });
  const out: Record<string, unknown> = {};
  for (const field of FIELDS) {
    if (record[field] === undefined) continue;
    const checked = CHECKS[field].check(record[field]);
    if (checked === undefined) throw new OpnpError('INVALID_ARGUMENT', `${label(field)} is invalid`, { expected: CHECKS[field].expected, actual: record[field] });
    out[field] = checked;
  }
  const channels = out.channels as number | undefined;
  for (const field of ['mean', 'std'] as const) {
    const v = out[field];
    if (channels !== undefined && Array.isArray(v) && v.length !== 1 && v.length !== channels) {
      throw new OpnpError('INVALID_ARGUMENT', `${label(field)} has ${v.length} values, but ${label('channels')} is ${channels}`, { expected: channels === 1 ? '1 value' : `1 value or ${channels} (one per channel)`, actual: v });
    }
  }
  return out as DetectorPreprocessing;
}

/** The JSON text stored under {@link DETECTOR_PREPROCESSING_KEY} (checked first). @throws OpnpError `INVALID_ARGUMENT` */
export function encodeDetectorPreprocessing(value: DetectorPreprocessing): string {
  return JSON.stringify(checkDetectorPreprocessing(value));
}

/**
 * Reads a recorded preprocessing back: JSON text (ONNX) or an already parsed value (TensorFlow.js).
 *
 * @param file the detector, for messages
 * @throws OpnpError `MODEL_FORMAT` when the text is not JSON or the value is not a valid preprocessing
 */
export function decodeDetectorPreprocessing(stored: unknown, file?: string): DetectorPreprocessing {
  let value = stored;
  try {
    if (typeof stored === 'string') value = JSON.parse(stored) as unknown;
    return checkDetectorPreprocessing(value, DETECTOR_PREPROCESSING_KEY);
  } catch (cause) {
    throw new OpnpError('MODEL_FORMAT', `The detector's ${DETECTOR_PREPROCESSING_KEY} metadata is not a valid preprocessing`, {
      ...(file !== undefined ? { file } : {}),
      expected: 'JSON of an object with layout, channels, resize, centerCrop, kernel, scale, mean, std (written by opnp export)',
      actual: typeof stored === 'string' ? stored.slice(0, 200) : stored,
      cause,
    });
  }
}
