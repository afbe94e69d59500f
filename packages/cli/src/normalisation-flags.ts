/**
 * `--mean` and `--std`: the normalisation `(x / 255 - mean) / std` of pixels scaled to [0, 1]. Impossible values
 * are refused when parsed (a std of zero or below, a value that is not a plain decimal number such as `0x10`);
 * implausible ones (a mean outside [0, 1], a std above 1: most likely percent or 0-255 values) are accepted with a
 * warning ({@link normalisationWarnings}).
 */
import { flagError } from './errors.js';
import { DECIMAL, splitList } from './options.js';

function parseDecimals(flag: string, text: string): number[] {
  const items = splitList(flag, text);
  const bad = items.find((item) => !DECIMAL.test(item) || !Number.isFinite(Number(item)));
  if (bad !== undefined) throw flagError(flag, `expected a decimal number or comma-separated decimal numbers (one per channel), got "${bad}"${items.length > 1 ? ` in "${text}"` : ''}`);
  return items.map(Number);
}

/** `--mean 0.5` or `--mean 0.485,0.456,0.406`: one value or one per channel. */
export function parseMean(text: string): number[] {
  return parseDecimals('--mean', text);
}

/** `--std 0.5` or `--std 0.229,0.224,0.225`: each value > 0 (a division by zero or a sign flip is never meant). */
export function parseStd(text: string): number[] {
  const values = parseDecimals('--std', text);
  const bad = values.find((v) => v <= 0);
  if (bad !== undefined) throw flagError('--std', `standard deviations must be > 0, got ${bad}${values.length > 1 ? ` in "${text}"` : ''}`);
  return values;
}

/**
 * Warnings for normalisation values that are possible but most likely a mistake: means of pixels scaled to [0, 1]
 * lie in [0, 1], and their standard deviations are at most 0.5 (a std above 1 is probably on the 0-255 scale).
 * Each names the flag, the value and what it probably is.
 */
export function normalisationWarnings(flags: { readonly mean?: readonly number[]; readonly std?: readonly number[] }): string[] {
  const warnings: string[] = [];
  const mean = flags.mean?.find((v) => v < 0 || v > 1);
  if (mean !== undefined) {
    warnings.push(`--mean ${mean} is outside [0, 1]: the mean is subtracted from pixels already scaled to [0, 1] (x / 255)${mean > 1 ? `; for a mean given in percent or on the 0-255 scale pass ${formatScaled(mean)}` : ''}`);
  }
  const std = flags.std?.find((v) => v > 1);
  if (std !== undefined) {
    warnings.push(`--std ${std} is above 1: pixels scaled to [0, 1] (x / 255) have a standard deviation of at most 0.5; for a std given in percent or on the 0-255 scale pass ${formatScaled(std)}`);
  }
  return warnings;
}

/** `33.3` -> `0.333 (percent) or 0.1306 (0-255)`. */
function formatScaled(value: number): string {
  const round = (v: number) => Number(v.toPrecision(4));
  return `${round(value / 100)} (if it is in percent) or ${round(value / 255)} (if it is on the 0-255 scale)`;
}
