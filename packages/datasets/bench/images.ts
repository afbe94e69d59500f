/**
 * Images benchmark (issue #16, target 3): images/s of an ImageNet-style pass over a folder of 500 x 375 JPEGs
 * (decode, resize of the shorter side to 256, centre crop 224, ImageNet normalisation, batches of 64) with the
 * image workers (`workers: 0, 1, 2, ...`) and the Pillow-exact kernel (`pil-bilinear`, the default), sharp's
 * `linear` kernel for comparison, and the Pillow baseline (`bench/pillow_baseline.py`: one Python process, and a
 * 2-process `multiprocessing.Pool` as a PyTorch `DataLoader(num_workers=2)`) on the same folder.
 *
 *   npm run bench:images -w @opnp/datasets
 *   npm run bench:images -w @opnp/datasets -- --images 100 --rounds 2     (quicker)
 *
 * Every round runs every configuration once, interleaved, so load from other processes hits them alike; each
 * figure is the median of the rounds with its range, and the ratios are taken per round (same moment) before
 * their median. Worker start-up is outside the clock (one warm-up pass per configuration), as the Python pool's
 * is. CPU time per image (user + system of every thread; of every process for the Python pool) is reported
 * too: a loaded machine distorts it far less than wall time. After the rounds, the CPU time of each step
 * (decode, resize, normalise) is measured on one thread, and Pillow's in its first run. The Python baseline needs Debian's python3-pil and python3-numpy; without them it is skipped with a
 * message. Progress on stderr; the LAST line of stdout is one JSON object.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { IMAGENET_MEAN, IMAGENET_STD, closeImageWorkers, defaultImageWorkers, loadNpy, openImageFolder, type PreprocessOptions, type ResizeKernel } from '../src/node/index.js';
import { decodeImageFile } from '../src/node/sharp-images.js';
import { resolvePreprocess, writeSample } from '../src/preprocess.js';
import { cropWindow, resizePixels } from '../src/resize.js';
import { jsResizeWindow } from '../src/pillow-resize-js.js';

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
};
const IMAGES = arg('--images', 300);
const ROUNDS = arg('--rounds', 3);
const BATCH = 64;
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';

const log = (message: string) => process.stderr.write(`[bench:images] ${message}\n`);

/** A deterministic 500 x 375 photo-like image: smooth gradients, edges and noise (JPEG quality 90). */
function photo(seed: number): Buffer {
  const [w, h] = [500, 375];
  const out = Buffer.alloc(w * h * 3);
  let s = (seed * 2654435761) >>> 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      s = (s * 1664525 + 1013904223) >>> 0;
      const noise = (s >>> 24) % 24;
      const edge = (x + seed * 17) % 97 < 48 ? 40 : 0;
      for (let c = 0; c < 3; c++) out[(y * w + x) * 3 + c] = Math.min(255, ((x * (c + 1) + y * (3 - c)) >> 2) + edge + noise + seed * 3) & 255;
    }
  }
  return out;
}

/** The folder of `IMAGES` JPEGs, written once and reused by later runs. */
async function imageFolder(): Promise<string> {
  const dir = join(tmpdir(), `opnp-bench-images-500x375-${IMAGES}`);
  if (existsSync(dir) && readdirSync(dir).length === IMAGES) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < IMAGES; i++) {
    await sharp(photo(i), { raw: { width: 500, height: 375, channels: 3 } }).jpeg({ quality: 90 }).toFile(join(dir, `img-${String(i).padStart(5, '0')}.jpg`));
  }
  return dir;
}

const preprocess = (kernel: ResizeKernel): PreprocessOptions => ({ resize: 256, centerCrop: 224, kernel, mean: IMAGENET_MEAN, std: IMAGENET_STD });

/** Seconds and CPU seconds (every thread of the process) of one pass over the folder. */
async function pass(dir: string, kernel: ResizeKernel, workers: number): Promise<{ seconds: number; cpu: number; first: Float32Array }> {
  const dataset = await openImageFolder(dir);
  const start = performance.now();
  const cpu = process.cpuUsage();
  let count = 0;
  let first: Float32Array | undefined;
  for await (const batch of dataset.batches({ batchSize: BATCH, preprocess: preprocess(kernel), workers })) {
    first ??= batch.data.slice(0, 3 * 224 * 224);
    count += batch.indices.length;
  }
  if (count !== IMAGES) throw new Error(`read ${count} of ${IMAGES} images`);
  const used = process.cpuUsage(cpu);
  return { seconds: (performance.now() - start) / 1000, cpu: (used.user + used.system) / 1e6, first: first! };
}

/** CPU ms of the process so far (every thread). */
function cpuNow(): number {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1000;
}

/**
 * CPU ms per image of each step of the default pipeline on this thread, image after image as a pass runs them
 * (each image's pixels still in cache for its next step), over (up to) 100 images: sharp's one-pass decode, the
 * Pillow-exact resize of the crop's window (the WebAssembly SIMD kernels), the crop + normalisation into a batch,
 * and apart, the JavaScript passes that resize where SIMD is missing.
 */
async function stepBreakdown(dir: string): Promise<Record<string, number>> {
  const files = readdirSync(dir).sort().slice(0, 100).map((f) => join(dir, f));
  const plan = resolvePreprocess(preprocess('pil-bilinear'), [3, 375, 500], true, true);
  const decodeOnly = resolvePreprocess({}, [3, 375, 500], false, true);
  const window = cropWindow(256, 341, plan)!;
  const out = new Float32Array(BATCH * 3 * 224 * 224);
  const total = { decode: 0, resize: 0, normalise: 0, resizeJs: 0 };
  for (const [i, file] of files.entries()) {
    let start = cpuNow();
    const image = await decodeImageFile(file, decodeOnly);
    total.decode += cpuNow() - start;
    start = cpuNow();
    const resized = resizePixels(image, plan);
    total.resize += cpuNow() - start;
    start = cpuNow();
    writeSample(plan, resized, out, i % BATCH);
    total.normalise += cpuNow() - start;
    start = cpuNow();
    jsResizeWindow(image.data as Uint8Array, image.height, image.width, 3, 256, 341, window, 'bilinear');
    total.resizeJs += cpuNow() - start;
  }
  const perImage = (ms: number) => Number((ms / files.length).toFixed(2));
  return { decode: perImage(total.decode), resize: perImage(total.resize), normalise: perImage(total.normalise), 'resize (JavaScript passes, where SIMD is missing)': perImage(total.resizeJs) };
}

function pythonAvailable(): boolean {
  return spawnSync(PYTHON, ['-c', 'import PIL, numpy'], { stdio: 'ignore' }).status === 0;
}

const SCRIPT = fileURLToPath(new URL('./pillow_baseline.py', import.meta.url));

interface PillowRun {
  single: number;
  pool: number;
  singleCpu: number;
  poolCpu: number;
  steps?: Record<string, number>;
}

/** One run of the Python baseline; the first writes its first image and times its steps. */
function pillow(dir: string, firstOut?: string): PillowRun {
  const extra = firstOut ? ['--first', firstOut, '--steps'] : [];
  const out = execFileSync(PYTHON, [SCRIPT, dir, '--batch-size', String(BATCH), '--workers', '2', ...extra], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!) as PillowRun;
}

const msPerImage = (steps: Record<string, number>) => Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, Number((v * 1000).toFixed(2))]));

interface Range {
  median: number;
  min: number;
  max: number;
}

function range(values: number[], digits = 1): Range {
  const s = [...values].sort((a, b) => a - b);
  const round = (v: number) => Number(v.toFixed(digits));
  return { median: round(s[Math.floor(s.length / 2)]!), min: round(s[0]!), max: round(s.at(-1)!) };
}

async function main(): Promise<void> {
  const dir = await imageFolder();
  const cores = availableParallelism();
  const defaults = defaultImageWorkers();
  const workerCounts = [...new Set([0, 1, 2, 3, 4, defaults])].sort((a, b) => a - b);
  const configs: { name: string; kernel: ResizeKernel; workers: number }[] = [
    ...workerCounts.map((workers) => ({ name: `pil-bilinear workers=${workers}`, kernel: 'pil-bilinear' as const, workers })),
    { name: 'linear (sharp) workers=0', kernel: 'linear', workers: 0 },
    { name: `linear (sharp) workers=${defaults}`, kernel: 'linear', workers: defaults },
  ];
  const python = pythonAvailable();
  if (!python) log(`${PYTHON} with PIL and numpy not found (apt-get install python3-pil python3-numpy): the Pillow baseline is skipped`);
  log(`${IMAGES} JPEGs 500 x 375 in ${dir}; ${ROUNDS} rounds; cores ${cores}, default workers ${defaults}`);
  let firstOurs: Float32Array | undefined;
  for (const c of configs) firstOurs = (await pass(dir, c.kernel, c.workers)).first ?? firstOurs; // warm-up: workers started
  const rates = new Map<string, number[]>(configs.map((c) => [c.name, []]));
  const cpuMs = new Map<string, number[]>(configs.map((c) => [c.name, []]));
  const pillowRates = { single: [] as number[], pool: [] as number[] };
  const pillowCpuMs = { single: [] as number[], pool: [] as number[] };
  const ratios = { bestOursOverBestPillow: [] as number[], defaultOverBestPillow: [] as number[], defaultOverWorkers0: [] as number[] };
  let firstPillow: Float32Array | undefined;
  let pillowSteps: Record<string, number> | undefined;
  for (let round = 0; round < ROUNDS; round++) {
    const perRound = new Map<string, number>();
    for (const c of configs) {
      const { seconds, cpu, first } = await pass(dir, c.kernel, c.workers);
      if (c.kernel === 'pil-bilinear') firstOurs = first;
      perRound.set(c.name, IMAGES / seconds);
      rates.get(c.name)!.push(IMAGES / seconds);
      cpuMs.get(c.name)!.push((cpu * 1000) / IMAGES);
    }
    const pilDefault = perRound.get(`pil-bilinear workers=${defaults}`)!;
    const pilBest = Math.max(...configs.filter((c) => c.kernel === 'pil-bilinear').map((c) => perRound.get(c.name)!));
    ratios.defaultOverWorkers0.push(pilDefault / perRound.get('pil-bilinear workers=0')!);
    if (python) {
      const firstFile = round === 0 ? join(tmpdir(), `opnp-bench-pillow-first-${process.pid}.npy`) : undefined;
      const p = pillow(dir, firstFile);
      if (firstFile) {
        pillowSteps = p.steps && msPerImage(p.steps);
        firstPillow = loadNpyData(await loadNpy(firstFile));
        rmSync(firstFile, { force: true });
      }
      const single = IMAGES / p.single;
      const pool = IMAGES / p.pool;
      pillowRates.single.push(single);
      pillowRates.pool.push(pool);
      pillowCpuMs.single.push((p.singleCpu * 1000) / IMAGES);
      pillowCpuMs.pool.push((p.poolCpu * 1000) / IMAGES);
      ratios.bestOursOverBestPillow.push(pilBest / Math.max(single, pool));
      ratios.defaultOverBestPillow.push(pilDefault / Math.max(single, pool));
    }
    log(`round ${round + 1}: ${[...perRound].map(([k, v]) => `${k} ${v.toFixed(0)}/s`).join(', ')}${python ? `; Pillow ${pillowRates.single.at(-1)!.toFixed(0)}/s, Pool(2) ${pillowRates.pool.at(-1)!.toFixed(0)}/s` : ''}`);
  }
  await closeImageWorkers();
  const steps = await stepBreakdown(dir);
  log(`CPU ms per image, one thread: ${JSON.stringify(steps)}${pillowSteps ? `; Pillow ${JSON.stringify(pillowSteps)}` : ''}`);
  const imagesPerSec = Object.fromEntries([...rates].map(([k, v]) => [k, range(v, 0)]));
  const cpuMsPerImage = Object.fromEntries([...cpuMs].map(([k, v]) => [k, range(v, 2)]));
  const maxAbsDiffToPillow = firstOurs && firstPillow ? firstOurs.reduce((m, v, i) => Math.max(m, Math.abs(v - firstPillow![i]!)), 0) : undefined;
  console.log(
    JSON.stringify({
      images: IMAGES,
      imageSize: '500x375 JPEG q90',
      preprocess: 'resize 256 (shorter side), centre crop 224, ImageNet mean/std, NCHW float32',
      batchSize: BATCH,
      rounds: ROUNDS,
      cores,
      defaultWorkers: defaults,
      imagesPerSec,
      cpuMsPerImage,
      cpuMsPerImageByStep: steps,
      pillow: python
        ? {
            imagesPerSec: { single: range(pillowRates.single, 0), pool2: range(pillowRates.pool, 0) },
            cpuMsPerImage: { single: range(pillowCpuMs.single, 2), pool2: range(pillowCpuMs.pool, 2) },
            ...(pillowSteps ? { cpuMsPerImageByStep: pillowSteps } : {}),
          }
        : 'skipped: python3 with PIL and numpy not found',
      ratios: {
        [`pil-bilinear workers=${defaults} (default) over workers=0`]: range(ratios.defaultOverWorkers0, 2),
        ...(python ? { [`pil-bilinear workers=${defaults} (default) over the faster Pillow baseline`]: range(ratios.defaultOverBestPillow, 2), 'best pil-bilinear over the faster Pillow baseline': range(ratios.bestOursOverBestPillow, 2) } : {}),
      },
      ...(maxAbsDiffToPillow !== undefined ? { firstImageMaxAbsDiffToPillow: maxAbsDiffToPillow } : {}),
    }),
  );
}

function loadNpyData(array: { data: ArrayLike<number> }): Float32Array {
  return Float32Array.from(array.data);
}

await main();
