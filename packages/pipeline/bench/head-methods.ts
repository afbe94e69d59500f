/**
 * Methods that score through a (pruned, DICE or transformed) head on an ImageNet-sized head (C = 1000, D = 2048,
 * synthetic ReLU features): each built-in method's scorer (and the fit of the methods fitted on the fit subset's
 * logits) with core's portable kernel, as before this change, and with the run's kernel (onnxruntime's MatMul), in
 * interleaved rounds (the two sides of a method back to back, their order alternating between rounds). Wall and CPU
 * time (user + system of the process, every thread) per method, the ratio kernel / portable of each round, medians
 * and ranges over the rounds, and the seconds scaled to 20,000 scored rows. `vim` and `residual` score with one ViM fit
 * (through the run's kernel, timed once as `vimFitSeconds`); their portable side is also the JavaScript float64
 * residual projection of before this change.
 *
 *   npm run bench:head -w @opnp/pipeline                       (2,000 scored and fit rows, 3 rounds)
 *   npm run bench:head -w @opnp/pipeline -- --rows 20000       (the whole 20,000 rows: about 10 minutes a round)
 *   npm run bench:head -w @opnp/pipeline -- --methods vim,opnp  (only these methods)
 *   npm run bench:head -w @opnp/pipeline -- --quick            (C = 100, D = 256, 1 round: a smoke run)
 *
 * Progress goes to stderr; the LAST line of stdout is one JSON object with the results.
 */
import { loadavg } from 'node:os';
import '@opnp/backend-onnx/register';
import {
  SensitivityAccumulator,
  fitVimAsync,
  linearHead,
  logitsWith,
  mulberry32,
  neuronSensitivity,
  portableGemmKernel,
  resolveGemmKernel,
  residualScoreAsync,
  sliceRows,
  vimScoreAsync,
  type GemmKernel,
  type LinearHead,
  type Matrix,
  type VimModel,
} from '@opnp/core';
import { createMethodRegistry, fitScorers, type MethodContext } from '../src/index.js';

/** Methods scored through a head other than the model's logits: one head product per batch. */
const SCORED = ['react', 'dice', 'dice+react', 'ash-p', 'ash-b', 'ash-s', 'scale', 'opp', 'onp', 'opnp', 'opnp+react', 'msp+opnp'];
/** Methods whose fit multiplies the fit subset by the head. */
const FITTED = ['klm', 'she', 'nnguide'];

interface Options {
  readonly classes: number;
  readonly dim: number;
  readonly rows: number;
  readonly fitRows: number;
  readonly batch: number;
  readonly rounds: number;
  /** Methods to time (default all of {@link SCORED}, `vim`, `residual` and {@link FITTED}). */
  readonly methods: readonly string[];
}

function parseOptions(argv: readonly string[]): Options {
  const value = (flag: string, fallback: number) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? Number(argv[i + 1]) : fallback;
  };
  const quick = argv.includes('--quick');
  const rows = value('--rows', quick ? 1000 : 2000);
  const listed = argv.indexOf('--methods');
  const methods = listed >= 0 ? argv[listed + 1]!.split(',') : [...SCORED, 'vim', 'residual', ...FITTED];
  return { classes: quick ? 100 : 1000, dim: quick ? 256 : 2048, rows, fitRows: value('--fit-rows', rows), batch: value('--batch', 500), rounds: value('--rounds', quick ? 1 : 3), methods };
}

const log = (message: string) => process.stderr.write(`[bench:head] ${message}\n`);

/** Seeded uniform `f(u)` entries. */
function seeded(rows: number, cols: number, seed: number, f: (u: number) => number): Matrix {
  const random = mulberry32(seed);
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = f(random());
  return { rows, cols, data };
}

/** Wall and CPU seconds of `work`. */
async function measure(work: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await work();
  const used = process.cpuUsage(cpu);
  return { wall: (performance.now() - start) / 1000, cpu: (used.user + used.system) / 1e6 };
}

/** The fit subset's labels: the head's prediction, every fourth one wrong (so SHE has misclassified rows to skip). */
async function labelsOf(kernel: GemmKernel, head: LinearHead, fit: Matrix): Promise<Int32Array> {
  const f = await logitsWith(kernel, head, fit);
  const C = head.weight.rows;
  return Int32Array.from({ length: fit.rows }, (_, n) => {
    let y = 0;
    for (let c = 1; c < C; c++) if (f.data[n * C + c]! > f.data[n * C + y]!) y = c;
    return n % 4 === 0 ? (y + 1) % C : y;
  });
}

/** The method context on synthetic data (the OPNP state from the fit rows' sensitivity), without its kernel. */
async function syntheticContext(o: Options, kernel: GemmKernel): Promise<{ context: Omit<MethodContext, 'kernel'>; test: Matrix }> {
  const head = linearHead(seeded(o.classes, o.dim, 1, (u) => (u * 2 - 1) * 0.05), seeded(1, o.classes, 2, (u) => (u - 0.5) * 0.1).data);
  const fitFeatures = seeded(o.fitRows, o.dim, 3, (u) => Math.max(0, u * 3 - 1));
  const test = seeded(o.rows, o.dim, 4, (u) => Math.max(0, u * 3 - 1));
  const accumulator = new SensitivityAccumulator(head, { kernel });
  await accumulator.add(fitFeatures);
  const sensitivity = accumulator.result();
  const opnp = { sensitivity, neuronSensitivity: neuronSensitivity(sensitivity), percentages: { pMin: 10, pMax: 1, nMin: 10, nMax: 1 } };
  return { context: { head, fitFeatures, fitLabels: await labelsOf(kernel, head, fitFeatures), opnp }, test };
}

type Timing = { wall: number; cpu: number };
type Side = 'portable' | 'kernel';

/** Times one method on one side: its scoring of every batch (the fit of a {@link FITTED} method). */
async function timeMethod(method: string, context: MethodContext, test: Matrix, o: Options, vim: VimModel): Promise<Timing> {
  const kernel = context.kernel!;
  const batches = Array.from({ length: Math.ceil(test.rows / o.batch) }, (_, i) => sliceRows(test, i * o.batch, Math.min(test.rows, (i + 1) * o.batch)));
  if (method === 'vim') return measure(async () => { for (const b of batches) await vimScoreAsync(vim, b, { kernel }); });
  if (method === 'residual') return measure(async () => { for (const b of batches) await residualScoreAsync(vim, b, { kernel }); });
  if (FITTED.includes(method)) return measure(() => fitScorers(createMethodRegistry(), [method], context));
  const scorer = (await fitScorers(createMethodRegistry(), [method], context)).get(method)!;
  // The model's logits are not read by these scorers: an empty matrix stands for them.
  const none: Matrix = { rows: 0, cols: 0, data: new Float32Array(0) };
  return measure(async () => { for (const b of batches) await scorer(b, none); });
}

const median = (v: readonly number[]) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)]!;
const r3 = (x: number) => Number(x.toPrecision(3));
const summary = (v: readonly number[]) => ({ median: r3(median(v)), min: r3(Math.min(...v)), max: r3(Math.max(...v)) });

/** Medians and ranges of a method's rounds; seconds per 20,000 rows (scored, or fitted for {@link FITTED}). */
function summarise(method: string, rounds: readonly Record<Side, Timing>[], o: Options) {
  const per20k = 20_000 / (FITTED.includes(method) ? o.fitRows : o.rows);
  const side = (s: Side) => ({ wall: summary(rounds.map((r) => r[s].wall)), cpu: summary(rounds.map((r) => r[s].cpu)), wallPer20kRows: r3(median(rounds.map((r) => r[s].wall)) * per20k) });
  return {
    portable: side('portable'),
    kernel: side('kernel'),
    wallRatio: summary(rounds.map((r) => r.kernel.wall / r.portable.wall)),
    cpuRatio: summary(rounds.map((r) => r.kernel.cpu / r.portable.cpu)),
  };
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const kernel = await resolveGemmKernel();
  const loadBefore = loadavg().map(r3);
  log(`kernel ${kernel.name}; C = ${o.classes}, D = ${o.dim}, ${o.rows} scored rows in batches of ${o.batch}, ${o.fitRows} fit rows, ${o.rounds} rounds`);
  const { context, test } = await syntheticContext(o, kernel);
  let vim: VimModel | undefined;
  const vimFit = await measure(async () => { vim = await fitVimAsync(context.fitFeatures, context.head, { kernel }); });
  const contexts: Record<Side, MethodContext> = { portable: { ...context, kernel: portableGemmKernel }, kernel: { ...context, kernel } };
  const { methods } = o;
  const rounds: Record<string, Record<Side, Timing>[]> = Object.fromEntries(methods.map((m) => [m, []]));
  for (let round = 0; round < o.rounds; round++) {
    for (const method of methods) {
      const order: Side[] = round % 2 === 0 ? ['portable', 'kernel'] : ['kernel', 'portable'];
      const times = {} as Record<Side, Timing>;
      for (const side of order) times[side] = await timeMethod(method, contexts[side], test, o, vim!);
      rounds[method]!.push(times);
      log(`round ${round + 1} ${method}: portable ${times.portable.wall.toFixed(2)} s, ${kernel.name} ${times.kernel.wall.toFixed(2)} s`);
    }
  }
  const results = Object.fromEntries(methods.map((m) => [m, summarise(m, rounds[m]!, o)]));
  const shape = { classes: o.classes, dim: o.dim, rows: o.rows, fitRows: o.fitRows, batch: o.batch };
  process.stdout.write(`${JSON.stringify({ kernel: kernel.name, shape, rounds: o.rounds, loadBefore, loadAfter: loadavg().map(r3), vimFitSeconds: r3(vimFit.wall), methods: results })}\n`);
}

await main();
