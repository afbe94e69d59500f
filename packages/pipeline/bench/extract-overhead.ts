/**
 * Extraction overhead (issue #16, target 4): images/s and CPU time of `extractFeatures` and `opnp extract`
 * against a bare onnxruntime `session.run` loop over the same images, with the same batch size (256), threads
 * (2) and session options. `opnp extract` is a process, so its own baseline is one too: bare-extract.mjs, the
 * script a user would write (plain `node`, onnxruntime-node, read, normalise, `session.run`, logits to `.npy`),
 * which pays Node's start, loading onnxruntime and the model like `opnp extract` does.
 *
 *   npx nx run-many -t build --projects=@opnp/cli          (the CLI run is the built one)
 *   npm run bench:extract -w @opnp/pipeline                 (scale 0.25: 15,000 MNIST training images, 3 rounds)
 *   npm run bench:extract -w @opnp/pipeline -- --scale 1    (the 60,000 of the issue)
 *   npm run bench:extract -w @opnp/pipeline -- --model resnet32 [--images 5000]
 *   OPNP=/path/to/other/checkout/packages/cli/bin/opnp.js npm run bench:extract -w @opnp/pipeline   (that CLI build)
 *
 * Models: `mnist` (default), bench/fixtures/mnist-resnet.onnx on MNIST `[N, 1, 28, 28]` (about 40 µs of CPU per
 * image on an idle core); `resnet32`, backend-onnx's resnet-style.onnx fixture (stages 32/64/128 at 32 x 32,
 * about 15 times the work per image) on `[N, 3, 32, 32]` images (MNIST digits padded to 32 x 32 in three
 * channels, stored HWC as IDX stores colour images: opnp and the bare loop both reorder them to NCHW).
 *
 * Per round, interleaved:
 *   bare           the unmodified model (logits only) in one session with opnp's session options (2 intra-op
 *                  threads, graph optimisation 'all', no spinning), `session.run` over the preprocessed batches;
 *                  session creation and preprocessing outside the clock
 *   bare+prep      the same loop that also reads the raw IDX file and normalises each batch inside the clock (the
 *                  issue's "bare loop that also decodes and normalises"), with opnp's expression
 *   extractor      opnp's extractor (the session with the feature tensor as an extra output) over the
 *                  preprocessed batches: what the model side adds
 *   in-process     `extractFeatures` of @opnp/pipeline (model loaded outside the clock): reading and
 *                  preprocessing the IDX file, features + logits, the .npy outputs and their sidecar
 *   bare process   bench/bare-extract.mjs as a process: start-up, `import 'onnxruntime-node'`, the session from the
 *                  model file (same options), reading the raw IDX file, normalising each batch (same expression),
 *                  `session.run`, the logits kept in one matrix and written as `.npy` (checked byte-identical to
 *                  opnp's logits file): the apples-to-apples baseline of `opnp extract`
 *   cli            `opnp extract` as a whole process (start-up and model loading included)
 *   --version      `opnp --version` as a process: the CLI's start-up alone
 *   one batch      both processes again on the first 256 images only: their fixed cost (start-up, model, one batch).
 *                  `afterFirstBatch` subtracts it round by round: images/s and opnp extract's overhead once both
 *                  processes run, the issue's images/s without start-up (hashing the input is per byte, so it stays in)
 * Overheads `time / baseline - 1` are taken per round, for wall time and for CPU time (user + system of the
 * process; child processes through /usr/bin/python3's getrusage when available), which a loaded machine
 * distorts less; the JSON reports their median and range (`overBareProcess` is target 4 for `opnp extract`). The
 * in-process variants run in this process, whose session was created outside the clock; the two processes run
 * one after the other in alternating order from round to round. Progress on stderr; the LAST stdout line is JSON.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import '@opnp/backend-onnx/register';
import { extractFeatures, loadModel, type LoadedModel } from '../src/index.js';
import { BENCH_MODEL, benchData, colourImages, log, numberArg, range } from './bench-data.js';

const SCALE = numberArg('--scale', 0.25);
const ROUNDS = numberArg('--rounds', 3);
const MODEL = process.argv.includes('--model') ? process.argv[process.argv.indexOf('--model') + 1]! : 'mnist';
const BATCH = 256;
const THREADS = 2;
/** The CLI run as `opnp extract`: this checkout's build, or `OPNP=<path to bin/opnp.js>` (a build of another commit, for before/after figures). */
const CLI = process.env.OPNP ?? fileURLToPath(new URL('../../cli/bin/opnp.js', import.meta.url));
const BARE_PROCESS = fileURLToPath(new URL('./bare-extract.mjs', import.meta.url));
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';

/** What one benchmark runs: a model and a raw IDX file of 8-bit images stored `[N, H, W]` or `[N, H, W, C]`. */
interface Workload {
  readonly model: string;
  readonly modelName: string;
  readonly data: string;
  readonly images: number;
  /** `[C, H, W]` of the model input. */
  readonly shape: readonly [number, number, number];
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

function workload(): Workload {
  if (MODEL === 'mnist') {
    const data = benchData(SCALE);
    return { model: BENCH_MODEL, modelName: 'bench/fixtures/mnist-resnet.onnx', data: data.train, images: data.counts.train, shape: [1, 28, 28], mean: [0.1307], std: [0.3081] };
  }
  if (MODEL !== 'resnet32') throw new Error(`--model mnist | resnet32, got ${MODEL}`);
  const images = colourImages(numberArg('--images', 5000));
  const model = fileURLToPath(new URL('../../backend-onnx/test/fixtures/resnet-style.onnx', import.meta.url));
  return { model, modelName: 'packages/backend-onnx/test/fixtures/resnet-style.onnx', data: images.file, images: images.count, shape: [3, 32, 32], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
}

/** What the benchmark times. */
type Variant = 'bare' | 'barePrep' | 'extractor' | 'inProcess' | 'bareProcess' | 'cli' | 'version' | 'bareProcessOneBatch' | 'cliOneBatch';

interface Times {
  readonly wall: number;
  readonly cpu?: number;
}
const say = (message: string) => log('bench:extract', message);

/**
 * Batch `start / BATCH` of the IDX images as opnp preprocesses them: NCHW, `v * (1/255/std[c]) + (-mean[c]/std[c])`
 * per value in float64, stored as float32 (stored HWC for colour images, one channel stored `[H, W]`).
 */
function preprocessedBatch(w: Workload, bytes: Uint8Array, start: number): Float32Array {
  const [C, H, W] = w.shape;
  const rows = Math.min(BATCH, w.images - start);
  const batch = new Float32Array(rows * C * H * W);
  const header = 4 + 4 * (C === 1 ? 3 : 4);
  for (let c = 0; c < C; c++) {
    const [a, b] = [1 / 255 / w.std[c]!, -w.mean[c]! / w.std[c]!];
    for (let n = 0; n < rows; n++) {
      const src = header + (start + n) * C * H * W;
      const out = (n * C + c) * H * W;
      for (let i = 0; i < H * W; i++) batch[out + i] = bytes[src + i * C + c]! * a + b;
    }
  }
  return batch;
}

function tensor(w: Workload, batch: Float32Array): ort.Tensor {
  const [C, H, W] = w.shape;
  return new ort.Tensor('float32', batch, [batch.length / (C * H * W), C, H, W]);
}

/** Wall and CPU seconds of `work` in this process. */
async function clocked(work: () => Promise<unknown>): Promise<Times> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  await work();
  const used = process.cpuUsage(cpu);
  return { wall: (performance.now() - start) / 1000, cpu: (used.user + used.system) / 1e6 };
}

/** The variants of a round run in this process. */
function inProcessVariants(w: Workload, session: ort.InferenceSession, model: LoadedModel, batches: readonly Float32Array[], dir: string): Record<'bare' | 'barePrep' | 'extractor' | 'inProcess', () => Promise<Times>> {
  const inputName = session.inputNames[0]!;
  return {
    bare: () => clocked(async () => {
      for (const batch of batches) await session.run({ [inputName]: tensor(w, batch) });
    }),
    barePrep: () => clocked(async () => {
      const bytes = readFileSync(w.data);
      for (let start = 0; start < w.images; start += BATCH) await session.run({ [inputName]: tensor(w, preprocessedBatch(w, bytes, start)) });
    }),
    extractor: () => clocked(async () => {
      for (const batch of batches) await model.extractor.extract({ data: batch, shape: tensor(w, batch).dims });
    }),
    inProcess: () => clocked(() => extractFeatures({ model, data: `idx:${w.data}`, preprocess: { mean: [...w.mean], std: [...w.std] }, outputs: { features: join(dir, 'f.npy'), logits: join(dir, 'l.npy') }, batchSize: BATCH, restart: true })),
  };
}

/** A command as a process: wall time, and CPU time when python can measure its child. */
function processTimes(command: string[], what: string): Times {
  if (existsSync(PYTHON)) {
    const wrapper = 'import json,resource,subprocess,sys,time\nt=time.perf_counter()\nr=subprocess.run(sys.argv[1:])\nu=resource.getrusage(resource.RUSAGE_CHILDREN)\nprint(json.dumps({"code":r.returncode,"wall":time.perf_counter()-t,"cpu":u.ru_utime+u.ru_stime}))';
    const run = spawnSync(PYTHON, ['-c', wrapper, ...command], { encoding: 'utf8' });
    const out = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as { code?: number; wall: number; cpu: number };
    if (out.code !== 0) throw new Error(`${what} failed:\n${run.stderr}`);
    return { wall: out.wall, cpu: out.cpu };
  }
  const start = performance.now();
  const run = spawnSync(command[0]!, command.slice(1), { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${what} failed:\n${run.stderr}`);
  return { wall: (performance.now() - start) / 1000 };
}

function cli(w: Workload, dir: string, data = w.data): Times {
  const flags = ['--mean', w.mean.join(','), '--std', w.std.join(','), '--out', join(dir, 'cli-f.npy'), '--logits-out', join(dir, 'cli-l.npy'), '--batch-size', String(BATCH), '--threads', String(THREADS), '--restart', '--quiet'];
  return processTimes([process.execPath, CLI, 'extract', '--model', w.model, '--data', `idx:${data}`, ...flags], 'opnp extract');
}

function bareProcess(w: Workload, dir: string, data = w.data): Times {
  const flags = ['--mean', w.mean.join(','), '--std', w.std.join(','), '--batch-size', String(BATCH), '--threads', String(THREADS)];
  return processTimes([process.execPath, BARE_PROCESS, w.model, data, join(dir, 'bare-l.npy'), ...flags], 'bare-extract.mjs');
}

/** The workload's first batch as an IDX file of its own in `dir`: the processes' fixed cost (start-up, model, one batch). */
function oneBatchFile(w: Workload, dir: string): string {
  const bytes = readFileSync(w.data);
  const rank = bytes[3]!;
  const header = 4 + 4 * rank;
  const imageBytes = w.shape[0] * w.shape[1] * w.shape[2];
  const out = Buffer.from(bytes.subarray(0, header + BATCH * imageBytes));
  out.writeUInt32BE(BATCH, 4);
  const path = join(dir, 'one-batch-idx-ubyte');
  writeFileSync(path, out);
  return path;
}

/**
 * The processes' cost beyond their first batch (the full run minus the one-batch run of the same round), as images/s
 * and as opnp extract's overhead per round: what each further image costs once both have started.
 */
function afterFirstBatch(w: Workload, times: Record<Variant, Times[]>): Record<string, unknown> {
  const images = w.images - BATCH;
  const beyond = (full: Times[], small: Times[]): Times[] => full.map((t, i) => ({ wall: t.wall - small[i]!.wall, ...(t.cpu !== undefined && small[i]!.cpu !== undefined ? { cpu: t.cpu - small[i]!.cpu! } : {}) }));
  const cli = beyond(times.cli, times.cliOneBatch), bare = beyond(times.bareProcess, times.bareProcessOneBatch);
  return {
    images,
    imagesPerSec: { bareProcess: range(bare.map((t) => images / t.wall), 0), opnpExtractCli: range(cli.map((t) => images / t.wall), 0) },
    overBareProcess: { opnpExtractCli: overheads(cli, bare) },
    oneBatchSeconds: { bareProcess: range(times.bareProcessOneBatch.map((t) => t.wall)), opnpExtractCli: range(times.cliOneBatch.map((t) => t.wall)) },
  };
}

/** Whether the bare process wrote the same logits file as `opnp extract`, byte for byte. */
function sameLogits(dir: string): boolean {
  return Buffer.compare(readFileSync(join(dir, 'bare-l.npy')), readFileSync(join(dir, 'cli-l.npy'))) === 0;
}

/** Median and range of `t / base - 1` per round, for wall and (when measured) CPU time. */
function overheads(t: readonly Times[], base: readonly Times[]): { wall: ReturnType<typeof range>; cpu?: ReturnType<typeof range> } {
  const wall = range(t.map((s, i) => s.wall / base[i]!.wall - 1), 3);
  if (!t.every((s, i) => s.cpu !== undefined && base[i]!.cpu !== undefined)) return { wall };
  return { wall, cpu: range(t.map((s, i) => s.cpu! / base[i]!.cpu! - 1), 3) };
}

async function main(): Promise<void> {
  if (!existsSync(CLI) || (process.env.OPNP === undefined && !existsSync(fileURLToPath(new URL('../../cli/dist/index.js', import.meta.url))))) throw new Error(`Build the CLI first (${CLI}): npx nx run-many -t build --projects=@opnp/cli`);
  const w = workload();
  say(`${w.images} images [${w.shape.join(', ')}] through ${w.modelName}, batch ${BATCH}, ${THREADS} threads, ${ROUNDS} rounds`);
  const bytes = readFileSync(w.data);
  const batches: Float32Array[] = [];
  for (let start = 0; start < w.images; start += BATCH) batches.push(preprocessedBatch(w, bytes, start));
  const session = await ort.InferenceSession.create(readFileSync(w.model), { intraOpNumThreads: THREADS, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionProviders: ['cpu'], extra: { session: { intra_op: { allow_spinning: '0' } } } });
  const model = await loadModel(w.model, { threads: THREADS });
  const dir = mkdtempSync(join(tmpdir(), 'opnp-bench-extract-'));
  const times: Record<Variant, Times[]> = { bare: [], barePrep: [], extractor: [], inProcess: [], bareProcess: [], cli: [], version: [], bareProcessOneBatch: [], cliOneBatch: [] };
  const oneBatch = oneBatchFile(w, dir);
  let identicalLogits = true;
  try {
    const variants = inProcessVariants(w, session, model, batches, dir);
    await session.run({ [session.inputNames[0]!]: tensor(w, batches[0]!) }); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of ['bare', 'barePrep', 'extractor', 'inProcess'] as const) times[name].push(await variants[name]());
      // The two processes alternate which goes first, so a load that changes over a round hits both alike.
      if (round % 2 === 0) times.bareProcess.push(bareProcess(w, dir));
      times.cli.push(cli(w, dir));
      if (round % 2 === 1) times.bareProcess.push(bareProcess(w, dir));
      identicalLogits &&= sameLogits(dir);
      if (round % 2 === 0) times.bareProcessOneBatch.push(bareProcess(w, dir, oneBatch));
      times.cliOneBatch.push(cli(w, dir, oneBatch));
      if (round % 2 === 1) times.bareProcessOneBatch.push(bareProcess(w, dir, oneBatch));
      times.version.push(processTimes([process.execPath, CLI, '--version'], 'opnp --version'));
      const b = times.bare.at(-1)!;
      const overProcess = (t: Times, base: Times) => `${((t.wall / base.wall - 1) * 100).toFixed(1)}%, CPU ${((t.cpu! / base.cpu! - 1) * 100).toFixed(1)}%`;
      const pct = (t: Times) => `${((t.wall / b.wall - 1) * 100).toFixed(1)}%, CPU ${((t.cpu! / b.cpu! - 1) * 100).toFixed(1)}%`;
      say(`round ${round + 1}: bare ${(w.images / b.wall).toFixed(0)}/s (CPU ${((b.cpu! / w.images) * 1e6).toFixed(1)} µs/image); over it: bare+prep ${pct(times.barePrep.at(-1)!)}, extractor ${pct(times.extractor.at(-1)!)}, in-process ${pct(times.inProcess.at(-1)!)}, opnp extract ${pct(times.cli.at(-1)!)}; opnp extract over the bare process ${overProcess(times.cli.at(-1)!, times.bareProcess.at(-1)!)}`);
    }
  } finally {
    await model.extractor.dispose();
    await session.release();
    rmSync(dir, { recursive: true, force: true });
  }
  report(w, times, identicalLogits);
}

function report(w: Workload, times: Record<Variant, Times[]>, identicalLogits: boolean): void {
  const rate = (t: Times[]) => range(t.map((s) => w.images / s.wall), 0);
  const usPerImage = (t: Times[]) => range(t.map((s) => ((s.cpu ?? NaN) / w.images) * 1e6), 1);
  console.log(
    JSON.stringify({
      images: w.images,
      shape: w.shape,
      model: w.modelName,
      batchSize: BATCH,
      threads: THREADS,
      rounds: ROUNDS,
      imagesPerSec: { bare: rate(times.bare), barePrep: rate(times.barePrep), extractor: rate(times.extractor), extractFeaturesInProcess: rate(times.inProcess), bareProcess: rate(times.bareProcess), opnpExtractCli: rate(times.cli) },
      cpuMicrosecondsPerImage: { bare: usPerImage(times.bare), barePrep: usPerImage(times.barePrep), extractor: usPerImage(times.extractor), extractFeaturesInProcess: usPerImage(times.inProcess), bareProcess: usPerImage(times.bareProcess), opnpExtractCli: usPerImage(times.cli) },
      overBare: { barePrep: overheads(times.barePrep, times.bare), extractor: overheads(times.extractor, times.bare), extractFeaturesInProcess: overheads(times.inProcess, times.bare), opnpExtractCli: overheads(times.cli, times.bare) },
      overBareProcess: { opnpExtractCli: overheads(times.cli, times.bareProcess) },
      bareProcessLogitsIdenticalToOpnp: identicalLogits,
      overBarePrep: { extractFeaturesInProcess: overheads(times.inProcess, times.barePrep), opnpExtractCli: overheads(times.cli, times.barePrep) },
      afterFirstBatch: afterFirstBatch(w, times),
      cliVersionSeconds: { wall: range(times.version.map((t) => t.wall)), ...(times.version.every((t) => t.cpu !== undefined) ? { cpu: range(times.version.map((t) => t.cpu!)) } : {}) },
    }),
  );
}

await main();
