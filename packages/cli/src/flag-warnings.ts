/**
 * Warnings for flags that are valid but most likely a mistake, written before a command runs: implausible
 * normalisation values ({@link normalisationWarnings}), `--seed` beside `--seeds` (the seeds of the runs),
 * the same `--model` twice, an OOD validation set (`--val-ood`) that is also an OOD test set (`--ood`), which
 * tunes the searched point on the test data, or the ID test set (`--test`), and one OOD test set given twice (it
 * would count twice in the average). Paths are compared by their real path (a symlink is its target). Warnings are written even with `--quiet` (as the skipped-sample
 * warnings are): they are about the results, not progress.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { parseDatasetSpec } from '@opnp/datasets';
import { normalisationWarnings } from './normalisation-flags.js';

/** The parsed option values of a command and whether the user gave one (rather than its default). */
export interface GivenFlags {
  readonly values: Readonly<Record<string, unknown>>;
  readonly given: (name: string) => boolean;
}

/** Where a dataset argument's samples come from: a path (and split), or the spec itself for generated data. */
interface DataOrigin {
  readonly path?: string;
  readonly split?: string;
  readonly spec: string;
}

/** The real path of `path` (symlinks followed), or its resolved path when it does not exist. */
function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

function originOf(spec: string): DataOrigin {
  const text = spec.trim();
  if (text.startsWith('noise:')) return { spec: text };
  if (text.startsWith('features:')) return { spec: text, path: realPath(text.slice('features:'.length).split('#')[0]!) };
  try {
    const parsed = parseDatasetSpec(text);
    return { spec: text, path: realPath(parsed.path), ...(parsed.options.split !== undefined ? { split: parsed.options.split } : {}) };
  } catch {
    return { spec: text }; // opening it reports what is wrong
  }
}

function inside(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** Whether two dataset arguments read the same samples: the same spec, or the same (or a nested) path and split. */
export function sameSamples(a: string, b: string): boolean {
  const [x, y] = [originOf(a), originOf(b)];
  if (x.spec === y.spec) return true;
  if (x.path === undefined || y.path === undefined || x.split !== y.split) return false;
  return inside(x.path, y.path) || inside(y.path, x.path);
}

/** `name=spec` -> `spec` (the name is optional for --val-ood). */
function specOf(value: string): string {
  return /^[A-Za-z0-9_.-]+=/.test(value) ? value.slice(value.indexOf('=') + 1) : value;
}

function leakageWarnings(valOod: readonly string[], ood: readonly string[], test: string | undefined): string[] {
  const out: string[] = [];
  for (const val of valOod) {
    const oodTest = ood.find((o) => sameSamples(specOf(val), specOf(o)));
    if (oodTest !== undefined) out.push(`--val-ood ${val} reads the same data as --ood ${oodTest}: the point searched on it is tuned on that OOD test set, so its results are optimistic; give a validation set disjoint from the OOD test sets`);
    if (test !== undefined && sameSamples(specOf(val), test)) out.push(`--val-ood ${val} reads the ID test data (--test ${test}): the search would treat in-distribution samples as OOD; give an OOD validation set`);
  }
  return out;
}

/** OOD test sets given twice (under two names): each would count twice in the average. */
function repeatedOodWarnings(ood: readonly string[]): string[] {
  return ood.flatMap((o, i) => {
    const earlier = ood.slice(0, i).find((other) => sameSamples(specOf(other), specOf(o)));
    return earlier === undefined ? [] : [`--ood ${o} reads the same data as --ood ${earlier}: that set would count twice in the average; give each OOD set once`];
  });
}

/** The `--model` values given more than once (as the same file). */
export function repeatedModels(models: readonly string[]): string[] {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const model of models) {
    const path = realPath(model);
    if (seen.has(path)) repeated.add(model);
    seen.add(path);
  }
  return [...repeated];
}

/** `models` without the repeats (the first of each file kept), as {@link repeatedModels} warns. */
export function distinctModels(models: readonly string[]): string[] {
  return models.filter((model, i) => models.findIndex((other) => realPath(other) === realPath(model)) === i);
}

/** Every warning for `flags` (see the module comment), in words without the `opnp: warning:` prefix. */
export function flagWarnings(flags: GivenFlags): string[] {
  const v = flags.values;
  const warnings = normalisationWarnings({ ...(Array.isArray(v.mean) ? { mean: v.mean as number[] } : {}), ...(Array.isArray(v.std) ? { std: v.std as number[] } : {}) });
  if (Array.isArray(v.seeds) && flags.given('seed')) warnings.push(`--seed ${String(v.seed)} is ignored: --seeds ${(v.seeds as number[]).join(',')} gives the seed of each run`);
  if (Array.isArray(v.model)) for (const model of repeatedModels(v.model as string[])) warnings.push(`--model ${model} is given more than once: it runs once`);
  if (Array.isArray(v.valOod)) warnings.push(...leakageWarnings(v.valOod as string[], Array.isArray(v.ood) ? (v.ood as string[]) : [], typeof v.test === 'string' ? v.test : undefined));
  if (Array.isArray(v.ood)) warnings.push(...repeatedOodWarnings(v.ood as string[]));
  return warnings;
}
