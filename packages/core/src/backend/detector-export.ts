/**
 * Shared checks of {@link FeatureExtractor.exportDetector} options, so every backend rejects the same mistakes
 * with the same errors and uses the same output names.
 */
import { OpnpError } from '../errors.js';
import type { DetectorExportOptions, DetectorPreprocessing } from '../feature-extractor.js';
import type { LinearHead } from '../head.js';
import { assertMatrix, type Matrix } from '../matrix.js';
import { assertReactClip } from '../react-clip.js';
import { checkDetectorPreprocessing } from './detector-preprocessing.js';

/** Output names every exported detector uses. */
export const DETECTOR_OUTPUT_NAMES = { oodScore: 'ood_score', isOod: 'is_ood' } as const;

/** {@link DetectorExportOptions} checked against a head, with defaults filled in. */
export interface ResolvedDetectorExport {
  readonly prunedWeight: Matrix;
  /** `b [C]`: the given bias or the head's. */
  readonly bias: Float32Array;
  readonly temperature: number;
  readonly reactClip?: number;
  readonly threshold?: number;
  /** The checked preprocessing to record (a plain copy, fields in a fixed order). */
  readonly preprocessing?: DetectorPreprocessing;
  readonly outputPath: string;
}

function invalid(summary: string, expected: unknown, actual: unknown): OpnpError {
  return new OpnpError('INVALID_ARGUMENT', summary, { expected, actual });
}

function optionalNumber(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || Number.isNaN(value)) throw invalid(`${name} must be a number (not NaN)`, 'a number', value);
  return value;
}

/**
 * Checks export options against the model's head `W [C x D]`: `prunedWeight` is `C x D`, `bias` has `C`
 * entries, `temperature` is finite and `> 0`, `reactClip` is a number `>= 0` (as `react`), `threshold` is a number, `preprocessing` passes
 * `checkDetectorPreprocessing`, `outputPath` is a non-empty string.
 *
 * @throws OpnpError `SHAPE_MISMATCH` for a weight or bias of the wrong shape, `INVALID_ARGUMENT` otherwise
 */
export function resolveDetectorExportOptions(head: LinearHead, options: DetectorExportOptions): ResolvedDetectorExport {
  if (options === null || typeof options !== 'object') throw invalid('exportDetector needs an options object', 'DetectorExportOptions', typeof options);
  const C = head.weight.rows;
  const D = head.weight.cols;
  assertMatrix(options.prunedWeight, 'prunedWeight');
  if (options.prunedWeight.rows !== C || options.prunedWeight.cols !== D) {
    throw new OpnpError('SHAPE_MISMATCH', "prunedWeight must have the head's shape C x D", {
      expected: `${C} x ${D}`,
      actual: `${options.prunedWeight.rows} x ${options.prunedWeight.cols}`,
    });
  }
  const bias = options.bias === undefined ? head.bias : Float32Array.from(options.bias);
  if (bias.length !== C) throw new OpnpError('SHAPE_MISMATCH', 'bias length must equal the number of classes C', { expected: C, actual: bias.length });
  const temperature = options.temperature ?? 1;
  if (typeof temperature !== 'number' || !(temperature > 0) || !Number.isFinite(temperature)) {
    throw invalid('temperature must be a finite number > 0', '> 0', temperature);
  }
  if (options.reactClip !== undefined) assertReactClip(options.reactClip, 'reactClip');
  const reactClip = options.reactClip;
  const threshold = optionalNumber(options.threshold, 'threshold');
  const preprocessing = options.preprocessing === undefined ? undefined : checkDetectorPreprocessing(options.preprocessing);
  if (typeof options.outputPath !== 'string' || options.outputPath.trim() === '') {
    throw invalid('exportDetector needs an outputPath', 'a file or folder path', options.outputPath);
  }
  return {
    prunedWeight: options.prunedWeight,
    bias,
    temperature,
    ...(reactClip !== undefined ? { reactClip } : {}),
    ...(threshold !== undefined ? { threshold } : {}),
    ...(preprocessing !== undefined ? { preprocessing } : {}),
    outputPath: options.outputPath,
  };
}
