/**
 * The results directory of `opnp eval --save <dir>`: the eval JSON plus everything `opnp report` draws
 * (sensitivities, the chosen point and its keep bands, the grid search, energy / OPNP score arrays,
 * calibration inputs), listed in a versioned `manifest.json`. Written atomically: into a temporary
 * sibling folder that is renamed to `<dir>` at the end, so `<dir>` is either complete or absent.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, readdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { OpnpError, keepBand, type GridPointResult, type PruningPercentages } from '@opnp/core';
import { loadNpy, writeNpy } from '@opnp/datasets/node';
import type { CalibrationInputs, EvalArtifacts, EvalReport, SetScores } from './evaluation-types.js';
import type { MultiRunReport } from './multi-run.js';
import { assertReport, noResultsError, parseResultsJson } from './results-input.js';

/** `manifest.json` `format` value. */
export const RESULTS_FORMAT = 'opnp-results';
/** Current layout version; readers refuse newer ones. */
export const RESULTS_VERSION = 1;

/** A keep band `[lo, hi]` in JSON (`null` = unbounded: -inf / +inf). */
export interface BandJson {
  readonly lo: number | null;
  readonly hi: number | null;
}

/** `selection.json`: the OPNP point (percent) and the keep bands it implies on the sensitivities. */
export interface SelectionJson {
  readonly percentages: { p_min: number; p_max: number; n_min: number; n_max: number };
  readonly searched: boolean;
  /** `lo = P(s, p_min)`, `hi = P(s, 100 - p_max)` on the parameter sensitivity `s [C x D]`. */
  readonly parameterBand: BandJson;
  /** The same with `n_min`, `n_max` on the neuron sensitivity `s_j [D]`. */
  readonly neuronBand: BandJson;
}

/** One grid point in `grid.json` (fractions; percentages in percent). */
export interface GridPointJson {
  readonly index: number;
  readonly p_min: number;
  readonly p_max: number;
  readonly n_min: number;
  readonly n_max: number;
  readonly fpr95: number;
  readonly auroc: number;
  readonly perOod: readonly { name: string; fpr95: number; auroc: number }[];
}

/** `manifest.json`: what the folder holds, relative paths. */
export interface ResultsManifest {
  readonly format: typeof RESULTS_FORMAT;
  readonly version: number;
  readonly generator: { name: string; version: string };
  readonly created: string;
  readonly files: {
    readonly report: string;
    readonly selection: string;
    /** float64 `[C, D]`. */
    readonly parameterSensitivity: string;
    /** float64 `[D]`. */
    readonly neuronSensitivity: string;
    /** Present when the point was chosen by grid search. */
    readonly grid: string | null;
    /** float32 `[N]` per set: `scores.<energy|opnp>.id` and `.ood[name]`. */
    readonly scores: Record<'energy' | 'opnp', { id: string; ood: Record<string, string> }>;
    /** float32 `[N]` max-softmax confidences and 0/1 correctness of the labelled ID test samples; null without labels. */
    readonly calibration: Record<'original' | 'pruned', { confidence: string; correct: string }> | null;
  };
}

/** What {@link readResults} returns for one run: the report, and the figure inputs when the source is a results folder. */
export interface LoadedRun {
  readonly kind: 'run';
  readonly report: EvalReport;
  readonly source: string;
  readonly figures?: {
    readonly manifest: ResultsManifest;
    readonly selection: SelectionJson;
    readonly parameterSensitivity: Float64Array;
    readonly classes: number;
    readonly dim: number;
    readonly neuronSensitivity: Float64Array;
    readonly grid?: readonly GridPointJson[];
    readonly scores: Record<'energy' | 'opnp', SetScores>;
    readonly calibration?: Record<'original' | 'pruned', CalibrationInputs>;
  };
}

/** What {@link readResults} returns for the JSON of several runs (seeds, models): their summary, each run's report in it. */
export interface LoadedRuns {
  readonly kind: 'runs';
  readonly summary: MultiRunReport;
  readonly source: string;
}

/** What {@link readResults} returns: one run ({@link LoadedRun}) or several ({@link LoadedRuns}), told apart by `kind`. */
export type LoadedResults = LoadedRun | LoadedRuns;

const band = (b: { lo: number; hi: number }): BandJson => ({ lo: Number.isFinite(b.lo) ? b.lo : null, hi: Number.isFinite(b.hi) ? b.hi : null });
const percentJson = (p: PruningPercentages) => ({ p_min: p.pMin, p_max: p.pMax, n_min: p.nMin, n_max: p.nMax });

function gridJson(results: readonly GridPointResult[]): GridPointJson[] {
  return results.map((r) => ({ index: r.index, ...percentJson(r.percentages), fpr95: r.fpr95, auroc: r.auroc, perOod: r.perOod.map((o) => ({ name: o.name, fpr95: o.fpr95, auroc: o.auroc })) }));
}

async function pathExists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** The files under `dir`, as paths relative to it with `/` separators. */
async function filesUnder(dir: string, prefix = ''): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = `${prefix}${entry.name}`;
    if (entry.isDirectory()) files.push(...(await filesUnder(join(dir, entry.name), `${rel}/`)));
    else files.push(rel);
  }
  return files;
}

/** The files an earlier results folder holds by its manifest: `manifest.json` and every file it lists. */
function manifestFiles(manifest: ResultsManifest): Set<string> {
  const own = new Set<string>(['manifest.json']);
  const add = (value: unknown): void => {
    if (typeof value === 'string') own.add(value);
    else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) add(v);
  };
  add(manifest.files);
  return own;
}

async function readManifest(path: string): Promise<ResultsManifest | undefined> {
  try {
    const manifest = JSON.parse(await readFile(path, 'utf8')) as ResultsManifest;
    return manifest?.format === RESULTS_FORMAT && manifest.files !== null && typeof manifest.files === 'object' ? manifest : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a file (by its name) is metadata an operating system's file browser leaves in folders it shows: macOS
 * Finder's `.DS_Store` and AppleDouble `._<name>` files, Windows Explorer's `Thumbs.db` and `desktop.ini` (any case).
 * They hold no user data, so a results folder holding them besides its own files is still replaced (with them).
 */
function isOsMetadataFile(name: string): boolean {
  const lower = name.toLowerCase();
  return name === '.DS_Store' || name.startsWith('._') || lower === 'thumbs.db' || lower === 'desktop.ini';
}

/** Throws unless the existing `target` is an empty folder or an earlier results folder holding only its own files (besides OS metadata files). */
async function assertReplaceable(dir: string, target: string, what: string): Promise<void> {
  const info = await stat(target);
  if (!info.isDirectory()) throw new OpnpError('INVALID_ARGUMENT', `${what}: ${dir} is a file, not a folder`, { file: dir, hint: 'Pass a new folder name' });
  const entries = await readdir(target, { withFileTypes: true });
  // empty but for OS metadata files (an empty folder a file browser has shown)
  if (entries.every((entry) => entry.isFile() && isOsMetadataFile(entry.name))) return;
  const manifest = entries.some((entry) => entry.name === 'manifest.json') ? await readManifest(join(target, 'manifest.json')) : undefined;
  if (!manifest) {
    throw new OpnpError('INVALID_ARGUMENT', `${what}: ${dir} exists and is not an opnp results folder (it holds ${entries.length} ${entries.length === 1 ? 'entry' : 'entries'} and no opnp manifest.json); the results folder replaces its folder as a whole`, {
      file: dir,
      hint: 'Pass a new or empty folder (an earlier opnp eval --save folder is replaced)',
    });
  }
  const own = manifestFiles(manifest);
  const foreign = (await filesUnder(target)).filter((file) => !own.has(file) && !isOsMetadataFile(basename(file)));
  if (foreign.length > 0) {
    const named = foreign.slice(0, 3).join(', ') + (foreign.length > 3 ? ` and ${foreign.length - 3} more` : '');
    throw new OpnpError('INVALID_ARGUMENT', `${what}: the earlier results folder ${dir} also holds files opnp did not write there (${named}); replacing the folder would delete them`, {
      file: dir,
      hint: `Move them out of ${dir}, or pass another folder`,
    });
  }
}

/**
 * Checks that `dir` may become a results folder: absent, empty, or an earlier results folder (an `opnp-results`
 * manifest) holding only the files its manifest lists (and OS metadata files, {@link isOsMetadataFile}), so a run fails before its work instead of after it, and
 * replacing the folder never deletes a file opnp did not write there. `what` names the flag in the messages.
 *
 * @throws OpnpError `IO_ERROR` when the parent folder is missing, `INVALID_ARGUMENT` when `dir` is something else
 */
export async function assertResultsTarget(dir: string, what = '--save'): Promise<void> {
  const target = resolve(dir);
  const parent = await stat(dirname(target)).catch(() => undefined);
  if (!parent?.isDirectory()) {
    throw new OpnpError('IO_ERROR', `Cannot write the results folder ${dir}: folder ${dirname(target)} does not exist`, { file: dir, hint: 'Create the parent folder first or fix the path' });
  }
  if (await pathExists(target)) await assertReplaceable(dir, target, what);
}

/**
 * Writes the results folder `dir` (see the module comment). An existing `dir` is replaced only when it is
 * empty or an earlier results folder holding only its own files (see {@link assertResultsTarget}); anything else is refused.
 *
 * @throws OpnpError `INVALID_ARGUMENT` when `dir` is another non-empty folder or a file, `IO_ERROR` when writing fails
 */
export async function writeResultsDir(dir: string, report: EvalReport, artifacts: EvalArtifacts, generator: { name: string; version: string }): Promise<ResultsManifest> {
  const target = resolve(dir);
  await assertResultsTarget(dir);
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  const temporary = join(parent, `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await mkdir(join(temporary, 'scores'), { recursive: true });
    const names = Object.keys(artifacts.scores.energy.ood);
    const scoreFiles = (key: 'energy' | 'opnp') => ({ id: `scores/${key}.id.npy`, ood: Object.fromEntries(names.map((n) => [n, `scores/${key}.ood.${n}.npy`])) });
    const manifest: ResultsManifest = {
      format: RESULTS_FORMAT,
      version: RESULTS_VERSION,
      generator,
      created: new Date().toISOString(),
      files: {
        report: 'report.json',
        selection: 'selection.json',
        parameterSensitivity: 'sensitivity/parameter.npy',
        neuronSensitivity: 'sensitivity/neuron.npy',
        grid: artifacts.grid ? 'grid.json' : null,
        scores: { energy: scoreFiles('energy'), opnp: scoreFiles('opnp') },
        calibration: artifacts.calibration
          ? {
              original: { confidence: 'calibration/original.confidence.npy', correct: 'calibration/original.correct.npy' },
              pruned: { confidence: 'calibration/pruned.confidence.npy', correct: 'calibration/pruned.correct.npy' },
            }
          : null,
      },
    };
    const f = manifest.files;
    const at = (rel: string) => join(temporary, rel);
    await writeFile(at(f.report), `${JSON.stringify(report, null, 2)}\n`);
    const p = artifacts.percentages;
    const selection: SelectionJson = {
      percentages: percentJson(p),
      searched: report.selection.searched,
      parameterBand: band(keepBand(artifacts.sensitivity.values, p.pMin, p.pMax)),
      neuronBand: band(keepBand(artifacts.neuronSensitivity, p.nMin, p.nMax)),
    };
    await writeFile(at(f.selection), `${JSON.stringify(selection, null, 2)}\n`);
    await mkdir(at('sensitivity'));
    const s = artifacts.sensitivity;
    await writeNpy(at(f.parameterSensitivity), { dtype: 'float64', shape: [s.classes, s.dim], data: s.values });
    await writeNpy(at(f.neuronSensitivity), { dtype: 'float64', shape: [s.dim], data: artifacts.neuronSensitivity });
    if (f.grid && artifacts.grid) await writeFile(at(f.grid), `${JSON.stringify(gridJson(artifacts.grid), null, 1)}\n`);
    for (const key of ['energy', 'opnp'] as const) {
      const set = artifacts.scores[key];
      await writeNpy(at(f.scores[key].id), { dtype: 'float32', shape: [set.id.length], data: set.id });
      for (const name of names) await writeNpy(at(f.scores[key].ood[name]!), { dtype: 'float32', shape: [set.ood[name]!.length], data: set.ood[name]! });
    }
    if (f.calibration && artifacts.calibration) {
      await mkdir(at('calibration'));
      for (const which of ['original', 'pruned'] as const) {
        const c = artifacts.calibration[which];
        await writeNpy(at(f.calibration[which].confidence), { dtype: 'float32', shape: [c.confidence.length], data: c.confidence });
        await writeNpy(at(f.calibration[which].correct), { dtype: 'float32', shape: [c.correct.length], data: Float32Array.from(c.correct) });
      }
    }
    await writeFile(at('manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    // Swap in: move an earlier folder aside, rename, then delete the old one.
    const old = (await pathExists(target)) ? `${temporary}.old` : undefined;
    if (old) await rename(target, old);
    await rename(temporary, target);
    if (old) await rm(old, { recursive: true, force: true });
    return manifest;
  } catch (error) {
    await rm(temporary, { recursive: true, force: true }).catch(() => undefined);
    if (error instanceof OpnpError) throw error;
    throw new OpnpError('IO_ERROR', `Cannot write the results folder ${dir}`, { file: dir, hint: (error as Error).message });
  }
}

async function readJson<T>(path: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new OpnpError('IO_ERROR', `Cannot read ${path}`, { file: path, hint: (error as Error).message });
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    // A binary file (a .gz, an .npy) would put its bytes in the parser's message: say what it is instead.
    const binary = [...text.slice(0, 4096)].some((ch) => ch === '\ufffd' || (ch.charCodeAt(0) < 32 && !'\t\n\r\f\v'.includes(ch)));
    throw new OpnpError('DATASET_FORMAT', `${path} is not valid JSON${binary ? ': it is not text (a binary or compressed file)' : ''}`, { file: path, ...(binary ? {} : { hint: (error as Error).message }) });
  }
}

async function vector(path: string, length?: number): Promise<Float64Array | Float32Array> {
  const array = await loadNpy(path);
  if (array.shape.length !== 1 || (length !== undefined && array.shape[0] !== length)) {
    throw new OpnpError('SHAPE_MISMATCH', `${path} must be a 1-D array${length !== undefined ? ` of length ${length}` : ''}`, { file: path, expected: length ?? '[N]', actual: array.shape });
  }
  return array.data;
}

/**
 * Reads a results folder (all figure inputs), its `manifest.json`, or an eval JSON report (the tables only): one
 * run's, or the summary of several runs ({@link summarizeRuns}: seeds, models).
 *
 * @throws OpnpError `IO_ERROR` (missing files), `DATASET_FORMAT` (not a report / manifest, newer version), `SHAPE_MISMATCH`
 */
export async function readResults(path: string): Promise<LoadedResults> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new OpnpError('IO_ERROR', `Not found: ${path}`, { file: path, hint: 'Give a results folder (opnp eval --save) or an eval JSON report (opnp eval --json)' });
  }
  let dir: string;
  if (info.isDirectory()) dir = path;
  else {
    const json = await readJson<{ format?: string } | null>(path);
    if (json?.format !== RESULTS_FORMAT) {
      const parsed = parseResultsJson(json, path);
      return parsed.kind === 'runs' ? { kind: 'runs', summary: parsed.summary, source: path } : { kind: 'run', report: parsed.report, source: path };
    }
    dir = dirname(path);
  }
  const manifestPath = join(dir, 'manifest.json');
  if (!(await pathExists(manifestPath))) throw await noResultsError(dir);
  const manifest = await readJson<ResultsManifest>(manifestPath);
  if (manifest.format !== RESULTS_FORMAT || typeof manifest.version !== 'number') {
    throw new OpnpError('DATASET_FORMAT', `${manifestPath} is not an opnp results manifest`, { file: manifestPath, expected: RESULTS_FORMAT, actual: manifest.format });
  }
  if (manifest.version > RESULTS_VERSION) {
    throw new OpnpError('DATASET_FORMAT', `${manifestPath} has layout version ${manifest.version}; this opnp reads up to ${RESULTS_VERSION}`, { file: manifestPath, hint: 'Update @opnp/cli' });
  }
  const f = manifest.files;
  const at = (rel: string) => join(dir, rel);
  const report = assertReport(await readJson(at(f.report)), at(f.report));
  const selection = await readJson<SelectionJson>(at(f.selection));
  const sens = await loadNpy(at(f.parameterSensitivity));
  if (sens.shape.length !== 2) throw new OpnpError('SHAPE_MISMATCH', 'The parameter sensitivity must be [C, D]', { file: at(f.parameterSensitivity), actual: sens.shape });
  const [classes, dim] = sens.shape as [number, number];
  const neuron = Float64Array.from(await vector(at(f.neuronSensitivity), dim));
  const grid = f.grid ? await readJson<GridPointJson[]>(at(f.grid)) : undefined;
  const loadSet = async (key: 'energy' | 'opnp'): Promise<SetScores> => {
    const ood: Record<string, Float32Array> = {};
    for (const [name, rel] of Object.entries(f.scores[key].ood)) ood[name] = Float32Array.from(await vector(at(rel)));
    return { id: Float32Array.from(await vector(at(f.scores[key].id))), ood };
  };
  const scores = { energy: await loadSet('energy'), opnp: await loadSet('opnp') };
  let calibration: Record<'original' | 'pruned', CalibrationInputs> | undefined;
  if (f.calibration) {
    const load = async (which: 'original' | 'pruned'): Promise<CalibrationInputs> => {
      const confidence = Float32Array.from(await vector(at(f.calibration![which].confidence)));
      const correct = Uint8Array.from(await vector(at(f.calibration![which].correct), confidence.length));
      return { confidence, correct };
    };
    calibration = { original: await load('original'), pruned: await load('pruned') };
  }
  return {
    kind: 'run',
    report,
    source: dir,
    figures: {
      manifest,
      selection,
      parameterSensitivity: Float64Array.from(sens.data),
      classes,
      dim,
      neuronSensitivity: neuron,
      ...(grid ? { grid } : {}),
      scores,
      ...(calibration ? { calibration } : {}),
    },
  };
}
