/**
 * The values a method's hyper-parameters may take, checked before any data is read: a run with
 * `react.percentile=185` fails in a second, naming the option and its range, instead of after the training pass.
 */
import { OpnpError } from '@opnp/core/base';
import type { MethodDefinition, MethodOptionOverrides, MethodOptionValue, MethodRegistry } from './registry.js';

/** The numbers a numeric hyper-parameter may take: `[min, max]`, either end open when `...Exclusive`, integers only when `integer`. */
export interface OptionRange {
  readonly min?: number;
  readonly max?: number;
  readonly minExclusive?: boolean;
  readonly maxExclusive?: boolean;
  readonly integer?: boolean;
}

/** `[0, 100]` (percentiles). */
export const PERCENT_RANGE: OptionRange = Object.freeze({ min: 0, max: 100 });
/** `> 0`. */
export const POSITIVE_RANGE: OptionRange = Object.freeze({ min: 0, minExclusive: true });
/** `>= 0`. */
export const NON_NEGATIVE_RANGE: OptionRange = Object.freeze({ min: 0 });
/** Integers `>= 1`. */
export const COUNT_RANGE: OptionRange = Object.freeze({ min: 1, integer: true });

/** "a number in [0, 100]", "an integer >= 1", "a number > 0". */
export function describeRange(range: OptionRange): string {
  const noun = range.integer ? 'an integer' : 'a number';
  const { min, max } = range;
  if (min !== undefined && max !== undefined) return `${noun} in ${range.minExclusive ? '(' : '['}${min}, ${max}${range.maxExclusive ? ')' : ']'}`;
  if (min !== undefined) return `${noun} ${range.minExclusive ? '>' : '>='} ${min}`;
  if (max !== undefined) return `${noun} ${range.maxExclusive ? '<' : '<='} ${max}`;
  return `${noun}`;
}

function inRange(value: number, range: OptionRange): boolean {
  if (!Number.isFinite(value) || (range.integer && !Number.isInteger(value))) return false;
  if (range.min !== undefined && (range.minExclusive ? value <= range.min : value < range.min)) return false;
  return !(range.max !== undefined && (range.maxExclusive ? value >= range.max : value > range.max));
}

/** The type an option's values have: its default's, else its declared optional type. */
function optionType(definition: MethodDefinition, option: string): string | undefined {
  const fallback = definition.defaults[option];
  return fallback !== undefined ? typeof fallback : definition.optional?.[option];
}

/**
 * What is wrong with `value` for `option` of `definition` ("expected a number in [0, 100], got 185"), or undefined
 * when it is a valid value (or the option is unknown: that is reported elsewhere).
 */
export function methodOptionProblem(definition: MethodDefinition, option: string, value: MethodOptionValue): string | undefined {
  const type = optionType(definition, option);
  const range = definition.ranges?.[option];
  if (type === 'number') {
    if (typeof value !== 'number') return `expected ${range ? describeRange(range) : 'a number'}, got "${String(value)}"`;
    if (range && !inRange(value, range)) return `expected ${describeRange(range)}, got ${value}`;
  }
  if (type === 'boolean' && typeof value !== 'boolean') return `expected true or false, got "${String(value)}"`;
  return undefined;
}

/**
 * Throws on the first override whose value its method does not take (see {@link methodOptionProblem}); unknown
 * methods and options are left to the caller.
 *
 * @throws OpnpError `INVALID_ARGUMENT` "react.percentile: expected a number in [0, 100], got 185", with `option` set
 */
export function checkMethodOptionValues(registry: MethodRegistry, overrides: MethodOptionOverrides): void {
  for (const [method, options] of Object.entries(overrides)) {
    if (!registry.has(method)) continue;
    const definition = registry.get(method);
    for (const [option, value] of Object.entries(options)) {
      const problem = methodOptionProblem(definition, option, value);
      if (problem !== undefined) throw new OpnpError('INVALID_ARGUMENT', `${method}.${option}: ${problem}`, { actual: value, expected: `${method}.${option}` });
    }
  }
}
