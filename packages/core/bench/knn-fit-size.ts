/**
 * KNN fit + scoring time at the KNN paper's fit sizes (Sun et al. 2022: the whole CIFAR training set, 1% of
 * ImageNet's) against today's `--fit-samples` default (20,000 rows) in the same run, with the fastest registered
 * GEMM kernel (`fitKnn` + `knnScoreAsync`, as the pipeline's `knn` method runs them):
 *
 * - `cifar`: D = 512 (ResNet-18), 50,000 fitted rows, 10,000 ID + 5 x 10,000 OOD queries;
 * - `imagenet`: D = 2048 (ResNet-50), 12,811 fitted rows (1% of 1,281,167), 50,000 ID + 35,640 OOD queries
 *   (iNaturalist, SUN, Places 10,000 each, Textures 5,640).
 *
 * Each shape runs `--rounds` (default 2) interleaved rounds of the paper size and of 20,000 rows; the report gives the medians of wall and process CPU seconds (all threads),
 * their ratio to the 20,000-row baseline, and the peak resident memory.
 *
 *   node --conditions=@opnp/source --import tsx packages/core/bench/knn-fit-size.ts [--quick] [--rounds n] [--only cifar|imagenet]
 *
 * Progress goes to stderr; the LAST line of stdout is one JSON object.
 */
import { pathToFileURL } from 'node:url';
import type { GemmKernel } from '../src/gemm.js';
import type { Matrix } from '../src/matrix.js';
import { mulberry32 } from '../src/random.js';
import { fitKnn, knnBlockRows, knnScoreAsync } from '../src/scores/knn.js';
import { loadFastestKernel } from './bench.js';

const round = (x: number, digits = 3): number => Number(x.toFixed(digits));
const log = (message: string): void => void process.stderr.write(`[bench] ${message}\n`);

/** One benchmark shape. */
interface Shape {
  readonly name: string;
  readonly dim: number;
  /** The paper's fit rows. */
  readonly fitRows: number;
  /** Query rows (ID test + every OOD set). */
  readonly queryRows: number;
}

const SHAPES: readonly Shape[] = [
  { name: 'cifar', dim: 512, fitRows: 50_000, queryRows: 60_000 },
  // 1% of 1,281,167 rounded down (the pipeline rounds to 12,812).
  { name: 'imagenet', dim: 2048, fitRows: 12_811, queryRows: 85_640 },
];

/** Today's `--fit-samples` default. */
const BASELINE_FIT_ROWS = 20_000;

/** Seeded `relu(N(0, 1))` float32 rows (penultimate features are non-negative). */
function reluGaussian(rows: number, cols: number, seed: number): Matrix {
  const random = mulberry32(seed);
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - random()));
    const t = 2 * Math.PI * random();
    data[i] = Math.max(0, r * Math.cos(t));
    if (i + 1 < data.length) data[i + 1] = Math.max(0, r * Math.sin(t));
  }
  return { rows, cols, data };
}

/** Wall and CPU seconds of one fit + scoring of every query row with `fitRows` rows of `train`. */
async function timeKnn(kernel: GemmKernel, train: Matrix, fitRows: number, queries: Matrix): Promise<{ wall: number; cpu: number; fit: number }> {
  const fitSet: Matrix = { rows: fitRows, cols: train.cols, data: train.data.subarray(0, fitRows * train.cols) };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const model = fitKnn(fitSet, { k: 50 });
  const fit = (performance.now() - t0) / 1000;
  await knnScoreAsync(model, queries, { kernel });
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { wall, cpu: (cpu.user + cpu.system) / 1e6, fit };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** One shape: interleaved rounds of the paper's fit size and the baseline's. */
async function benchShape(kernel: GemmKernel, shape: Shape, rounds: number, baselineRows: number): Promise<Record<string, unknown>> {
  const train = reluGaussian(Math.max(shape.fitRows, baselineRows), shape.dim, 1);
  const queries = reluGaussian(shape.queryRows, shape.dim, 2);
  // Warm-up (JIT, kernel sessions for these shapes) on a slice.
  await timeKnn(kernel, train, Math.min(2_000, shape.fitRows), { rows: 500, cols: shape.dim, data: queries.data.subarray(0, 500 * shape.dim) });
  const paper: { wall: number; cpu: number; fit: number }[] = [];
  const base: { wall: number; cpu: number; fit: number }[] = [];
  for (let r = 0; r < rounds; r++) {
    paper.push(await timeKnn(kernel, train, shape.fitRows, queries));
    log(`${shape.name} round ${r + 1}: ${shape.fitRows} fit rows: ${paper.at(-1)!.wall.toFixed(1)} s wall, ${paper.at(-1)!.cpu.toFixed(1)} s CPU`);
    if (baselineRows !== shape.fitRows) {
      base.push(await timeKnn(kernel, train, baselineRows, queries));
      log(`${shape.name} round ${r + 1}: ${baselineRows} fit rows: ${base.at(-1)!.wall.toFixed(1)} s wall, ${base.at(-1)!.cpu.toFixed(1)} s CPU`);
    }
  }
  const bankBytes = shape.fitRows * shape.dim * 4;
  const blockBytes = knnBlockRows(shape.fitRows) * shape.fitRows * 4;
  const result: Record<string, unknown> = {
    shape: shape.name,
    dim: shape.dim,
    fitRows: shape.fitRows,
    queryRows: shape.queryRows,
    k: 50,
    rounds,
    wallSeconds: round(median(paper.map((p) => p.wall)), 2),
    cpuSeconds: round(median(paper.map((p) => p.cpu)), 2),
    fitSeconds: round(median(paper.map((p) => p.fit)), 3),
    queriesPerSecond: Math.round(shape.queryRows / median(paper.map((p) => p.wall))),
    bankMiB: round(bankBytes / 2 ** 20, 1),
    blockMiB: round(blockBytes / 2 ** 20, 1),
  };
  if (base.length > 0) {
    Object.assign(result, {
      baselineFitRows: baselineRows,
      baselineWallSeconds: round(median(base.map((p) => p.wall)), 2),
      baselineCpuSeconds: round(median(base.map((p) => p.cpu)), 2),
      wallOverBaseline: round(median(paper.map((p) => p.wall)) / median(base.map((p) => p.wall)), 2),
      cpuOverBaseline: round(median(paper.map((p) => p.cpu)) / median(base.map((p) => p.cpu)), 2),
    });
  }
  return result;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const roundsAt = argv.indexOf('--rounds');
  const rounds = roundsAt >= 0 ? Number(argv[roundsAt + 1]) : quick ? 1 : 2;
  const onlyAt = argv.indexOf('--only');
  const only = onlyAt >= 0 ? argv[onlyAt + 1] : undefined;
  const kernel = await loadFastestKernel();
  log(`kernel ${kernel.name}`);
  const shapes = SHAPES.filter((s) => only === undefined || s.name === only).map((s) => (quick ? { ...s, fitRows: Math.round(s.fitRows / 20), queryRows: Math.round(s.queryRows / 20) } : s));
  const results: Record<string, unknown>[] = [];
  for (const shape of shapes) results.push(await benchShape(kernel, shape, rounds, quick ? BASELINE_FIT_ROWS / 20 : BASELINE_FIT_ROWS));
  await kernel.dispose?.();
  process.stdout.write(`${JSON.stringify({ kernel: kernel.name, quick, knnFitSize: results, maxRssMiB: round(process.resourceUsage().maxRSS / 1024, 0) })}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
