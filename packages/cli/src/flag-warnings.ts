/**
 * Warnings for flags that are valid but most likely a mistake, written before a command runs: implausible
 * normalisation values ({@link normalisationWarnings}), `--seed` beside `--seeds` (the seeds of the runs),
 * the same `--model` twice, an OOD validation set (`--val-ood`) that is also an OOD test set (`--ood`), which
 * tunes the searched point on the test data, or the ID test set (`--test`), an OOD test set that is the ID test set
 * (its metrics compare the ID set with itself), and one OOD test set given twice (it would count twice in the average). Paths are compared by their real path (a symlink is its target), then by their
 * contents (a copy is the same input: same-contents.ts, which reads only inputs of equal sizes). Warnings are
 * written even with `--quiet` (as the skipped-sample warnings are): they are about the results, not progress.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { parseDatasetSpec } from '@opnp/datasets';
import { normalisationWarnings } from './normalisation-flags.js';
import { identicalContents, type CopyKind } from './same-contents.js';

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

/**
 * How two dataset arguments read the same samples: `'path'` ({@link sameSamples}), `'files'` / `'folders'` when their
 * paths (with the same split) hold identical contents, or `undefined`.
 */
export async function sameData(a: string, b: string): Promise<'path' | CopyKind | undefined> {
  if (sameSamples(a, b)) return 'path';
  const [x, y] = [originOf(a), originOf(b)];
  if (x.path === undefined || y.path === undefined || x.split !== y.split) return undefined;
  return identicalContents(x.path, y.path);
}

/** The words added to a warning about inputs that are copies (nothing for the same path). */
function copyNote(how: 'path' | CopyKind): string {
  return how === 'path' ? '' : ` (the ${how} have identical contents)`;
}

/** `name=spec` -> `spec` (the name is optional for --val-ood). */
function specOf(value: string): string {
  return /^[A-Za-z0-9_.-]+=/.test(value) ? value.slice(value.indexOf('=') + 1) : value;
}

/** The first of `candidates` that reads the same data as `spec`, and how. */
async function firstSameData(spec: string, candidates: readonly string[]): Promise<{ match: string; how: 'path' | CopyKind } | undefined> {
  for (const match of candidates) {
    const how = await sameData(specOf(spec), specOf(match));
    if (how !== undefined) return { match, how };
  }
  return undefined;
}

async function leakageWarnings(valOod: readonly string[], ood: readonly string[], test: string | undefined): Promise<string[]> {
  const out: string[] = [];
  for (const val of valOod) {
    const oodTest = await firstSameData(val, ood);
    if (oodTest !== undefined) out.push(`--val-ood ${val} reads the same data as --ood ${oodTest.match}${copyNote(oodTest.how)}: the point searched on it is tuned on that OOD test set, so its results are optimistic; give a validation set disjoint from the OOD test sets`);
    const idTest = test === undefined ? undefined : await sameData(specOf(val), test);
    if (idTest !== undefined) out.push(`--val-ood ${val} reads the ID test data (--test ${test}${idTest === 'path' ? '' : `; the ${idTest} have identical contents`}): the search would treat in-distribution samples as OOD; give an OOD validation set`);
  }
  return out;
}

/** OOD test sets that read the ID test data (same path or a copy): their metrics compare the ID test set with itself. */
async function oodIsTestWarnings(ood: readonly string[], test: string): Promise<string[]> {
  const out: string[] = [];
  for (const o of ood) {
    const how = await sameData(specOf(o), test);
    if (how !== undefined) out.push(`--ood ${o} reads the ID test data (--test ${test}${how === 'path' ? '' : `; the ${how} have identical contents`}): its FPR95 and AUROC compare the ID test set with itself (AUROC about 50%) and enter the average; give an OOD set there`);
  }
  return out;
}

/** OOD test sets given twice (under two names, or as copies): each would count twice in the average. */
async function repeatedOodWarnings(ood: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const [i, o] of ood.entries()) {
    const earlier = await firstSameData(o, ood.slice(0, i));
    if (earlier !== undefined) out.push(`--ood ${o} reads the same data as --ood ${earlier.match}${copyNote(earlier.how)}: that set would count twice in the average; give each OOD set once`);
  }
  return out;
}

/** A `--model` given again: as the same file (`'path'`, its real path) or as a copy of an earlier one (`'files'`). */
export interface RepeatedModel {
  readonly model: string;
  /** The earlier `--model` it repeats. */
  readonly earlier: string;
  readonly how: 'path' | 'files';
}

/** Whether two model paths are the same file or identical copies. */
async function sameModel(a: string, b: string): Promise<'path' | 'files' | undefined> {
  if (realPath(a) === realPath(b)) return 'path';
  return (await identicalContents(a, b)) === 'files' ? 'files' : undefined;
}

/** The `--model` values that repeat an earlier one (the same file, or a byte-identical copy), in order. */
export async function repeatedModels(models: readonly string[]): Promise<RepeatedModel[]> {
  const kept: string[] = [];
  const repeated: RepeatedModel[] = [];
  for (const model of models) {
    let match: RepeatedModel | undefined;
    for (const earlier of kept) {
      const how = await sameModel(model, earlier);
      if (how !== undefined) {
        match = { model, earlier, how };
        break;
      }
    }
    if (match) repeated.push(match);
    else kept.push(model);
  }
  return repeated;
}

/** `models` without the repeats (the first of each file or copy kept), as {@link repeatedModels} warns. */
export async function distinctModels(models: readonly string[]): Promise<string[]> {
  const repeats = new Set((await repeatedModels(models)).map((r) => r.model));
  return models.filter((model) => !repeats.has(model));
}

function repeatedModelWarning(repeat: RepeatedModel): string {
  return repeat.how === 'path' ? `--model ${repeat.model} is given more than once: it runs once` : `--model ${repeat.model} is a copy of --model ${repeat.earlier} (the files have identical contents): it runs once`;
}

/** Every warning for `flags` (see the module comment), in words without the `opnp: warning:` prefix. */
export async function flagWarnings(flags: GivenFlags): Promise<string[]> {
  const v = flags.values;
  const warnings = normalisationWarnings({ ...(Array.isArray(v.mean) ? { mean: v.mean as number[] } : {}), ...(Array.isArray(v.std) ? { std: v.std as number[] } : {}) });
  if (Array.isArray(v.seeds) && flags.given('seed')) warnings.push(`--seed ${String(v.seed)} is ignored: --seeds ${(v.seeds as number[]).join(',')} gives the seed of each run`);
  if (Array.isArray(v.model)) warnings.push(...(await repeatedModels(v.model as string[])).map(repeatedModelWarning));
  if (Array.isArray(v.valOod)) warnings.push(...(await leakageWarnings(v.valOod as string[], Array.isArray(v.ood) ? (v.ood as string[]) : [], typeof v.test === 'string' ? v.test : undefined)));
  if (Array.isArray(v.ood)) warnings.push(...(await repeatedOodWarnings(v.ood as string[])));
  if (Array.isArray(v.ood) && typeof v.test === 'string') warnings.push(...(await oodIsTestWarnings(v.ood as string[], v.test)));
  return warnings;
}
