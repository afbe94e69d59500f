/**
 * Extraction overhead (issue #16, target 4): images/s of `opnp extract` on MNIST-size images through a small
 * ResNet (bench/fixtures/mnist-resnet.onnx), against a bare onnxruntime `session.run` loop over the same
 * images already preprocessed in memory, with the same batch size (256) and threads (2).
 *
 *   npx nx run-many -t build --projects=@opnp/cli          (the CLI run is the built one)
 *   npm run bench:extract -w @opnp/pipeline                 (scale 0.25: 15,000 training images, 3 rounds)
 *   npm run bench:extract -w @opnp/pipeline -- --scale 1    (the 60,000 of the issue)
 *
 * Per round, interleaved:
 *   bare        the unmodified model (logits only) in one session with opnp's session options (2 intra-op
 *               threads, graph optimisation 'all', no spinning), `session.run` over the preprocessed batches;
 *               session creation and preprocessing outside the clock
 *   bare+prep   the same loop that also reads the raw IDX file and normalises each batch inside the clock (the
 *               issue's "bare loop that also decodes and normalises")
 *   in-process  `extractFeatures` of @opnp/pipeline (model loaded outside the clock): reading and
 *               preprocessing the IDX file, features + logits, the .npy outputs and their sidecar
 *   cli         `opnp extract` as a whole process (start-up and model loading included)
 * The overheads `time / bare time - 1` are taken per round, for wall time and for CPU time (user + system of
 * the process; the CLI's through /usr/bin/python3's getrusage when available), which a loaded machine
 * distorts less; the JSON reports their median and range.
 * Progress on stderr; the LAST stdout line is JSON.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import '@opnp/backend-onnx/register';
import { extractFeatures, loadModel } from '../src/index.js';
import { BENCH_MODEL, benchData, log, numberArg, range } from './bench-data.js';

const SCALE = numberArg('--scale', 0.25);
const ROUNDS = numberArg('--rounds', 3);
const BATCH = 256;
const THREADS = 2;
const CLI = fileURLToPath(new URL('../../cli/bin/opnp.js', import.meta.url));
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';

interface Times {
  readonly wall: number;
  readonly cpu?: number;
}
const say = (message: string) => log('bench:extract', message);

/** Batch `start / BATCH` of the raw IDX images preprocessed as opnp does (`x * (1/255/std) - mean/std`). */
function preprocessedBatch(bytes: Buffer, start: number): Float32Array {
  const rows = Math.min(BATCH, bytes.readUInt32BE(4) - start);
  const batch = new Float32Array(rows * 784);
  const [a, b] = [1 / 255 / 0.3081, -0.1307 / 0.3081];
  for (let i = 0; i < batch.length; i++) batch[i] = bytes[16 + start * 784 + i]! * a + b;
  return batch;
}

/** The training images preprocessed, in batches. */
function preprocessedBatches(file: string): Float32Array[] {
  const bytes = readFileSync(file);
  const out: Float32Array[] = [];
  for (let start = 0; start < bytes.readUInt32BE(4); start += BATCH) out.push(preprocessedBatch(bytes, start));
  return out;
}

/** The bare loop reading and normalising as it goes. */
function bareWithPreprocessing(session: ort.InferenceSession, file: string): Promise<Times> {
  return clocked(async () => {
    const bytes = readFileSync(file);
    for (let start = 0; start < bytes.readUInt32BE(4); start += BATCH) {
      const batch = preprocessedBatch(bytes, start);
      await session.run({ input: new ort.Tensor('float32', batch, [batch.length / 784, 1, 28, 28]) });
    }
  });
}

/** Wall and CPU seconds of `work` in this process. */
async function clocked(work: () => Promise<unknown>): Promise<Times> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  await work();
  const used = process.cpuUsage(cpu);
  return { wall: (performance.now() - start) / 1000, cpu: (used.user + used.system) / 1e6 };
}

function bare(session: ort.InferenceSession, batches: Float32Array[]): Promise<Times> {
  return clocked(async () => {
    for (const batch of batches) await session.run({ input: new ort.Tensor('float32', batch, [batch.length / 784, 1, 28, 28]) });
  });
}

function inProcess(model: Awaited<ReturnType<typeof loadModel>>, data: string, dir: string): Promise<Times> {
  return clocked(() => extractFeatures({ model, data: `idx:${data}`, preprocess: { mean: [0.1307], std: [0.3081] }, outputs: { features: join(dir, 'f.npy'), logits: join(dir, 'l.npy') }, batchSize: BATCH, restart: true }));
}

/** `opnp extract` as a process: wall time, and CPU time when python can measure its child. */
function cli(data: string, dir: string): Times {
  const command = [process.execPath, CLI, 'extract', '--model', BENCH_MODEL, '--data', `idx:${data}`, '--mean', '0.1307', '--std', '0.3081', '--out', join(dir, 'cli-f.npy'), '--logits-out', join(dir, 'cli-l.npy'), '--batch-size', String(BATCH), '--threads', String(THREADS), '--restart', '--quiet'];
  if (existsSync(PYTHON)) {
    const wrapper = 'import json,resource,subprocess,sys,time\nt=time.perf_counter()\nr=subprocess.run(sys.argv[1:])\nu=resource.getrusage(resource.RUSAGE_CHILDREN)\nprint(json.dumps({"code":r.returncode,"wall":time.perf_counter()-t,"cpu":u.ru_utime+u.ru_stime}))';
    const run = spawnSync(PYTHON, ['-c', wrapper, ...command], { encoding: 'utf8' });
    const out = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as { code?: number; wall: number; cpu: number };
    if (out.code !== 0) throw new Error(`opnp extract failed:\n${run.stderr}`);
    return { wall: out.wall, cpu: out.cpu };
  }
  const start = performance.now();
  const run = spawnSync(command[0]!, command.slice(1), { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`opnp extract failed:\n${run.stderr}`);
  return { wall: (performance.now() - start) / 1000 };
}

async function main(): Promise<void> {
  if (!existsSync(fileURLToPath(new URL('../../cli/dist/index.js', import.meta.url)))) throw new Error('Build the CLI first: npx nx run-many -t build --projects=@opnp/cli');
  const data = benchData(SCALE);
  const images = data.counts.train;
  say(`${images} MNIST training images (scale ${SCALE}), batch ${BATCH}, ${THREADS} threads, ${ROUNDS} rounds`);
  const batches = preprocessedBatches(data.train);
  const session = await ort.InferenceSession.create(readFileSync(BENCH_MODEL), {
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  const model = await loadModel(BENCH_MODEL, { threads: THREADS });
  const dir = mkdtempSync(join(tmpdir(), 'opnp-bench-extract-'));
  const times = { bare: [] as Times[], barePrep: [] as Times[], inProcess: [] as Times[], cli: [] as Times[] };
  try {
    await bare(session, batches.slice(0, 4)); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      times.bare.push(await bare(session, batches));
      times.barePrep.push(await bareWithPreprocessing(session, data.train));
      times.inProcess.push(await inProcess(model, data.train, dir));
      times.cli.push(cli(data.train, dir));
      const [b, p, c] = [times.bare.at(-1)!, times.inProcess.at(-1)!, times.cli.at(-1)!];
      const pct = (t: Times) => `+${((t.wall / b.wall - 1) * 100).toFixed(1)}%${t.cpu !== undefined && b.cpu !== undefined ? `, CPU +${((t.cpu / b.cpu - 1) * 100).toFixed(1)}%` : ''}`;
      say(`round ${round + 1}: bare ${(images / b.wall).toFixed(0)}/s, bare+prep ${(images / times.barePrep.at(-1)!.wall).toFixed(0)}/s, in-process ${(images / p.wall).toFixed(0)}/s (${pct(p)}), opnp extract ${(images / c.wall).toFixed(0)}/s (${pct(c)})`);
    }
  } finally {
    await model.extractor.dispose();
    await session.release();
    rmSync(dir, { recursive: true, force: true });
  }
  const rate = (t: Times[]) => range(t.map((s) => images / s.wall), 0);
  const overhead = (t: Times[]) => range(t.map((s, i) => s.wall / times.bare[i]!.wall - 1), 3);
  const cpuOverhead = (t: Times[], name: string, base = times.bare) => (t.every((s) => s.cpu !== undefined) ? { [name]: range(t.map((s, i) => s.cpu! / base[i]!.cpu! - 1), 3) } : {});
  const overheadOver = (t: Times[], base: Times[]) => range(t.map((s, i) => s.wall / base[i]!.wall - 1), 3);
  console.log(
    JSON.stringify({
      images,
      scale: SCALE,
      model: 'bench/fixtures/mnist-resnet.onnx',
      batchSize: BATCH,
      threads: THREADS,
      rounds: ROUNDS,
      imagesPerSec: { bareSessionRun: rate(times.bare), bareWithReadingAndNormalising: rate(times.barePrep), extractFeaturesInProcess: rate(times.inProcess), opnpExtractCli: rate(times.cli) },
      overheadOverBare: { bareWithReadingAndNormalising: overhead(times.barePrep), extractFeaturesInProcess: overhead(times.inProcess), opnpExtractCli: overhead(times.cli) },
      cpuOverheadOverBare: { ...cpuOverhead(times.barePrep, 'bareWithReadingAndNormalising'), ...cpuOverhead(times.inProcess, 'extractFeaturesInProcess'), ...cpuOverhead(times.cli, 'opnpExtractCli') },
      overheadOverBareWithReadingAndNormalising: { extractFeaturesInProcess: overheadOver(times.inProcess, times.barePrep), opnpExtractCli: overheadOver(times.cli, times.barePrep) },
      cpuOverheadOverBareWithReadingAndNormalising: { ...cpuOverhead(times.inProcess, 'extractFeaturesInProcess', times.barePrep), ...cpuOverhead(times.cli, 'opnpExtractCli', times.barePrep) },
      bareCpuSeconds: range(times.bare.map((t) => t.cpu!)),
    }),
  );
}

await main();
