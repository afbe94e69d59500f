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
 *   bare        the unmodified model (logits only) in one session, `session.run` over the preprocessed batches;
 *               session creation and preprocessing outside the clock
 *   in-process  `extractFeatures` of @opnp/pipeline (model loaded outside the clock): reading and
 *               preprocessing the IDX file, features + logits, the .npy outputs and their sidecar
 *   cli         `opnp extract` as a whole process (start-up and model loading included)
 * The overheads `time / bare time - 1` are taken per round; the JSON reports their median and range.
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
const say = (message: string) => log('bench:extract', message);

/** The training images preprocessed as opnp does, `(x / 255 - 0.1307) / 0.3081`, in batches. */
function preprocessedBatches(file: string): Float32Array[] {
  const bytes = readFileSync(file);
  const n = bytes.readUInt32BE(4);
  const out: Float32Array[] = [];
  for (let start = 0; start < n; start += BATCH) {
    const rows = Math.min(BATCH, n - start);
    const batch = new Float32Array(rows * 784);
    for (let i = 0; i < batch.length; i++) batch[i] = (bytes[16 + start * 784 + i]! / 255 - 0.1307) / 0.3081;
    out.push(batch);
  }
  return out;
}

async function bareSeconds(session: ort.InferenceSession, batches: Float32Array[]): Promise<number> {
  const start = performance.now();
  for (const batch of batches) await session.run({ input: new ort.Tensor('float32', batch, [batch.length / 784, 1, 28, 28]) });
  return (performance.now() - start) / 1000;
}

async function inProcessSeconds(model: Awaited<ReturnType<typeof loadModel>>, data: string, dir: string): Promise<number> {
  const start = performance.now();
  await extractFeatures({ model, data: `idx:${data}`, preprocess: { mean: [0.1307], std: [0.3081] }, outputs: { features: join(dir, 'f.npy'), logits: join(dir, 'l.npy') }, batchSize: BATCH, restart: true });
  return (performance.now() - start) / 1000;
}

function cliSeconds(data: string, dir: string): number {
  const start = performance.now();
  const run = spawnSync(process.execPath, [CLI, 'extract', '--model', BENCH_MODEL, '--data', `idx:${data}`, '--mean', '0.1307', '--std', '0.3081', '--out', join(dir, 'cli-f.npy'), '--logits-out', join(dir, 'cli-l.npy'), '--batch-size', String(BATCH), '--threads', String(THREADS), '--restart', '--quiet'], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`opnp extract failed:\n${run.stderr}`);
  return (performance.now() - start) / 1000;
}

async function main(): Promise<void> {
  if (!existsSync(fileURLToPath(new URL('../../cli/dist/index.js', import.meta.url)))) throw new Error('Build the CLI first: npx nx run-many -t build --projects=@opnp/cli');
  const data = benchData(SCALE);
  const images = data.counts.train;
  say(`${images} MNIST training images (scale ${SCALE}), batch ${BATCH}, ${THREADS} threads, ${ROUNDS} rounds`);
  const batches = preprocessedBatches(data.train);
  const session = await ort.InferenceSession.create(readFileSync(BENCH_MODEL), { intraOpNumThreads: THREADS, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionProviders: ['cpu'] });
  const model = await loadModel(BENCH_MODEL, { threads: THREADS });
  const dir = mkdtempSync(join(tmpdir(), 'opnp-bench-extract-'));
  const times = { bare: [] as number[], inProcess: [] as number[], cli: [] as number[] };
  try {
    await bareSeconds(session, batches.slice(0, 4)); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      times.bare.push(await bareSeconds(session, batches));
      times.inProcess.push(await inProcessSeconds(model, data.train, dir));
      times.cli.push(cliSeconds(data.train, dir));
      const [b, p, c] = [times.bare.at(-1)!, times.inProcess.at(-1)!, times.cli.at(-1)!];
      say(`round ${round + 1}: bare ${(images / b).toFixed(0)}/s, in-process ${(images / p).toFixed(0)}/s (+${((p / b - 1) * 100).toFixed(1)}%), opnp extract ${(images / c).toFixed(0)}/s (+${((c / b - 1) * 100).toFixed(1)}%)`);
    }
  } finally {
    await model.extractor.dispose();
    await session.release();
    rmSync(dir, { recursive: true, force: true });
  }
  const rate = (t: number[]) => range(t.map((s) => images / s), 0);
  const overhead = (t: number[]) => range(t.map((s, i) => s / times.bare[i]! - 1), 3);
  console.log(
    JSON.stringify({
      images,
      scale: SCALE,
      model: 'bench/fixtures/mnist-resnet.onnx',
      batchSize: BATCH,
      threads: THREADS,
      rounds: ROUNDS,
      imagesPerSec: { bareSessionRun: rate(times.bare), extractFeaturesInProcess: rate(times.inProcess), opnpExtractCli: rate(times.cli) },
      overheadOverBare: { extractFeaturesInProcess: overhead(times.inProcess), opnpExtractCli: overhead(times.cli) },
    }),
  );
}

await main();
