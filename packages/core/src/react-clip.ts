/**
 * The check of a ReAct clip, in a module of its own (only errors.js) so detector export and the extraction path
 * validate clips without loading the score transforms.
 */
import { OpnpError } from './errors.js';

/**
 * Throws `INVALID_ARGUMENT` unless `clip` is a usable ReAct clip: a number `>= 0` (`Infinity` allowed), not NaN.
 * ReAct clips activations from above; with non-negative (ReLU) features a clip below 0 maps every entry to the clip,
 * so every sample would get the same score (docs/numerics.md#react).
 *
 * @param name how the caller calls the argument (`'ReAct clip'`, `'reactClip'`), for the message
 */
export function assertReactClip(clip: unknown, name = 'ReAct clip'): asserts clip is number {
  if (typeof clip !== 'number' || Number.isNaN(clip)) {
    throw new OpnpError('INVALID_ARGUMENT', `${name} must be a number >= 0 (not NaN)`, {
      actual: typeof clip === 'number' ? clip : `${typeof clip} ${String(clip)}`,
      hint: 'Use reactThreshold(trainFeatures, 90): the 90th percentile of the training features',
    });
  }
  if (clip < 0) {
    throw new OpnpError('INVALID_ARGUMENT', `${name} must be >= 0`, {
      actual: clip,
      hint:
        'ReAct clips activations from above: with non-negative (ReLU) features a negative clip replaces every entry by the clip, ' +
        'so every sample gets the same score. Use reactThreshold(trainFeatures, 90), a percentile of the training features',
    });
  }
}
