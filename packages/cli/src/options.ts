/**
 * Parsers of flag values. Every parser throws an `INVALID_ARGUMENT` {@link OpnpError} naming the flag.
 */
import { OpnpError } from '@opnp/core/base';
import type { PruningPercentages } from '@opnp/core';
import { DATASET_FORMATS } from '@opnp/datasets';
import { flagError, UsageError } from './errors.js';
import { didYouMean } from './suggest.js';

/** `--flag: expected one of a, b, got "x"`, with the nearest choices: `; did you mean a?`. */
export function choiceError(flag: string, value: string, choices: readonly string[]): OpnpError {
  const suggestion = didYouMean(value, choices);
  return flagError(flag, `expected one of ${choices.join(', ')}, got "${value}"${suggestion ? `; ${suggestion}` : ''}`);
}

/** The parser of a flag whose value is one of `choices` (`--format`, `--benchmark`, ...). */
export function parseChoice<T extends string>(flag: string, choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) throw choiceError(flag, value, choices);
    return value as T;
  };
}

/** The spec prefixes of a dataset: the formats of @opnp/datasets and the pipeline's `features:` and `noise:`. */
const DATASET_PREFIXES: readonly string[] = [...DATASET_FORMATS, 'features', 'noise'];

/**
 * A dataset spec (of `flag`: `--train`, `--data`, ...; or an argument when `undefined`) whose `prefix:` is a near
 * miss of a format (`idz:./mnist`) is refused at once with the nearest ones; anything else is left to the dataset's
 * own parsing (which also explains other prefixes, e.g. a file name holding `:`).
 */
export function checkDatasetSpec(flag: string | undefined, spec: string): string {
  const prefix = /^\s*([a-z][a-z0-9_-]+):/i.exec(spec)?.[1]?.toLowerCase();
  if (prefix === undefined || DATASET_PREFIXES.includes(prefix)) return spec;
  const suggestion = didYouMean(prefix, DATASET_PREFIXES, (name) => `${name}:`);
  const message = `unknown dataset format prefix "${prefix}:" in "${spec}"; ${suggestion}`;
  if (suggestion) throw flag === undefined ? new OpnpError('INVALID_ARGUMENT', message) : flagError(flag, message);
  return spec;
}

/**
 * The items of a comma-separated value of `flag` (`--methods`, `--opnp`, `--mean`, ...), trimmed. An empty item
 * (`energy,,msp`, a leading or trailing comma) is refused with its position, so no list silently drops a value.
 */
export function splitList(flag: string, text: string): string[] {
  if (text.trim() === '') throw flagError(flag, `expected a comma-separated list, got an empty value`);
  const items = text.split(',').map((s) => s.trim());
  const empty = items.indexOf('');
  if (empty >= 0) throw flagError(flag, `item ${empty + 1} is empty in "${text}"`);
  return items;
}

/** `--mean 0.5` or `--mean 0.485,0.456,0.406`: one value or one per channel. */
export function parseNumberList(flag: string, text: string): number[] {
  const values = splitList(flag, text).map(Number);
  if (values.some((v) => !Number.isFinite(v))) {
    throw flagError(flag, `expected a number or comma-separated numbers, got "${text}"`);
  }
  return values;
}

/** `--resize 256` (the shorter side) or `--resize 224,288` (height,width exactly). */
export function parseResize(text: string): number | [number, number] {
  const items = splitList('--resize', text);
  const sizes = items.map(Number);
  if (items.length > 2 || !items.every((s) => /^\d+$/.test(s)) || !sizes.every((v) => Number.isSafeInteger(v) && v > 0)) {
    throw flagError('--resize', `expected a positive integer n (the shorter side) or height,width (e.g. 224,288), got "${text}"`);
  }
  return sizes.length === 1 ? sizes[0]! : [sizes[0]!, sizes[1]!];
}

/** A fraction in `(0, 1]` (or `[0, 1)` with `allowZero`). */
export function parseFraction(flag: string, text: string, options: { allowZero?: boolean; allowOne?: boolean } = {}): number {
  const v = Number(text);
  const { allowZero = false, allowOne = true } = options;
  const ok = Number.isFinite(v) && text.trim() !== '' && (allowZero ? v >= 0 : v > 0) && (allowOne ? v <= 1 : v < 1);
  if (!ok) throw flagError(flag, `expected a fraction in ${allowZero ? '[' : '('}0, 1${allowOne ? ']' : ')'}, got "${text}"`);
  return v;
}

/** A finite number > 0 (`--temperature`). */
export function parsePositiveNumber(flag: string, text: string): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v <= 0) throw flagError(flag, `expected a finite number > 0, got "${text}"`);
  return v;
}

/** A positive integer (or a non-negative one with `allowZero`). */
export function parseInteger(flag: string, text: string, options: { allowZero?: boolean } = {}): number {
  const v = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(v) || (!options.allowZero && v === 0)) {
    throw flagError(flag, `expected a ${options.allowZero ? 'non-negative' : 'positive'} integer, got "${text}"`);
  }
  return v;
}

/** `--knn-fit-samples`: a row count (`50000`), `all`, or a percentage of the training samples (`1%`). */
export function parseKnnFitSamples(text: string): number | { fraction: number } {
  const flag = '--knn-fit-samples';
  if (text.trim() === 'all') return { fraction: 1 };
  const percent = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(text);
  if (percent) {
    const p = Number(percent[1]);
    if (!(p > 0 && p <= 100)) throw flagError(flag, `expected a percentage in (0, 100], got "${text}"`);
    return { fraction: p / 100 };
  }
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) === 0) throw flagError(flag, `expected a positive row count, "all" or a percentage such as "1%", got "${text}"`);
  return Number(text);
}

const OPNP_KEYS: Record<string, keyof PruningPercentages> = { p_min: 'pMin', p_max: 'pMax', n_min: 'nMin', n_max: 'nMax' };

/**
 * `--opnp p_min=10,p_max=1,n_min=10,n_max=1`: the four OPNP percentages in percent (0-100, fractional
 * allowed, `%` suffix allowed). All four keys are required; `p_min + p_max` and `n_min + n_max` must stay
 * below 100.
 */
export function parseOpnpPercentages(text: string): PruningPercentages {
  const flag = '--opnp';
  const out: Partial<Record<keyof PruningPercentages, number>> = {};
  for (const part of splitList(flag, text)) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq).trim().toLowerCase().replace('-', '_');
    const name = OPNP_KEYS[key];
    if (eq < 0 || name === undefined) {
      const suggestion = didYouMean(key, Object.keys(OPNP_KEYS));
      throw flagError(flag, `expected key=value with keys p_min, p_max, n_min, n_max, got "${part}"${suggestion ? `; ${suggestion}` : ''}`);
    }
    if (out[name] !== undefined) throw flagError(flag, `${key} is given twice`);
    const raw = part.slice(eq + 1).trim().replace(/%$/, '');
    const value = Number(raw);
    if (raw === '' || !Number.isFinite(value) || value < 0 || value > 100) {
      throw flagError(flag, `${key} must be a percentage in [0, 100], got "${part.slice(eq + 1).trim()}"`);
    }
    out[name] = value;
  }
  const missing = Object.entries(OPNP_KEYS).filter(([, name]) => out[name] === undefined).map(([key]) => key);
  if (missing.length > 0) throw flagError(flag, `missing ${missing.join(', ')} (give all four: p_min=<%>,p_max=<%>,n_min=<%>,n_max=<%>)`);
  const p = out as PruningPercentages;
  if (p.pMin + p.pMax >= 100) throw flagError(flag, `p_min + p_max must be below 100 (they would prune every weight), got ${p.pMin} + ${p.pMax}`);
  if (p.nMin + p.nMax >= 100) throw flagError(flag, `n_min + n_max must be below 100 (they would prune every neuron), got ${p.nMin} + ${p.nMax}`);
  return p;
}

/** `--ood name=<dataset>`: a named dataset spec. */
export function parseNamedSpec(flag: string, text: string): { name: string; spec: string } {
  const eq = text.indexOf('=');
  const name = eq > 0 ? text.slice(0, eq).trim() : '';
  const spec = eq > 0 ? text.slice(eq + 1).trim() : '';
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || spec === '') throw flagError(flag, `expected <name>=<dataset>, e.g. ${flag} fashion=idx:./fashion/t10k-images-idx3-ubyte, got "${text}"`);
  return { name, spec: checkDatasetSpec(flag, spec) };
}

/** `--shard i/n` (1-based): which of `n` contiguous parts of the training set this process handles. */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) throw flagError('--shard', `expected i/n with 1 <= i <= n (e.g. 2/4), got "${text}"`);
  return { index, count };
}

export { collect } from './collect.js';

type MethodOptionValue = number | string | boolean;

/** A plain decimal number: `0.5`, `-1`, `.25`, `1e-3` (not `0x10`, `0b1`, `Infinity` or `NaN`). */
export const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

/**
 * A `--method-option` value: `true`/`false`, a plain decimal number, or else a string. A number in another notation
 * (`0x50`, `0b1`, `0o7`) is refused, as by every numeric flag, rather than read as another value than it looks like.
 */
function methodOptionValue(raw: string, text: string): MethodOptionValue {
  if (raw === 'true' || raw === 'false') return raw === 'true';
  if (DECIMAL.test(raw)) return Number(raw);
  if (Number.isFinite(Number(raw))) throw flagError('--method-option', `expected a decimal number in "${text}", got "${raw}" (hexadecimal, binary and octal numbers are not read)`);
  return raw;
}

/**
 * Sets `out[method][key]`, refusing a second, different value of the same option (a usage error naming both, as
 * for any single-value flag given twice: the last one winning silently would run with a value the user did not
 * notice); the same value again is harmless. `given` records how each option was written, for the message.
 */
function setMethodOption(out: Record<string, Record<string, MethodOptionValue>>, given: Map<string, string>, option: { method: string; key: string; value: MethodOptionValue; text: string }): void {
  const { method, key, value, text } = option;
  const name = `${method}.${key}`;
  const previous = out[method]?.[key];
  if (previous !== undefined && previous !== value) {
    throw new UsageError(`--method-option ${name} is given twice with different values ('${given.get(name)!}', then '${text}'): give it once`);
  }
  (out[method] ??= {})[key] = value;
  if (!given.has(name)) given.set(name, text);
}

/**
 * `--method-option react.percentile=85` (repeatable) as per-method overrides; numbers and `true`/`false`
 * are parsed, anything else stays a string. `--knn-k <n>` is `knn.k=<n>`. An option given twice with different
 * values (`knn.k=5` and `--knn-k 10` included) is a usage error; the same value twice is accepted. Unknown methods
 * and options are refused before the model loads, with the nearest ones (`checkMethodOptions` of methods.ts).
 */
export function parseMethodOptions(values: readonly string[], knnK?: number): Record<string, Record<string, MethodOptionValue>> {
  const out: Record<string, Record<string, MethodOptionValue>> = {};
  const given = new Map<string, string>();
  for (const text of values) {
    const m = /^\s*([a-z0-9][a-z0-9+_.-]*?)\.([A-Za-z][A-Za-z0-9_]*)\s*=\s*(.+?)\s*$/.exec(text);
    if (!m) throw flagError('--method-option', `expected <method>.<option>=<value>, e.g. react.percentile=85, got "${text}"`);
    const [, method, key, raw] = m as unknown as [string, string, string, string];
    setMethodOption(out, given, { method, key, value: methodOptionValue(raw, text.trim()), text: text.trim() });
  }
  if (knnK !== undefined) setMethodOption(out, given, { method: 'knn', key: 'k', value: knnK, text: `--knn-k ${knnK}` });
  return out;
}
