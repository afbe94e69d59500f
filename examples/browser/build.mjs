#!/usr/bin/env node
/**
 * Builds the static page into a folder (default `dist/`): index.html, style.css, app.js (src/main.ts bundled by
 * esbuild from the workspace packages' TypeScript sources, so no prior build is needed), the onnxruntime-web wasm
 * binary app.js loads, and the demo model and MNIST / Fashion-MNIST files the second mode reads.
 *
 *   node build.mjs [outDir]        (npm run build -w examples/browser)
 *
 * Written to a temporary folder next to outDir and renamed into place, so outDir is never half-built.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** The demo files the page's second mode (and its tests) read, from the CLI's demo assets. */
export const DEMO_FILES = [
  'mnist-cnn.onnx',
  'mnist-train-6k-images-idx3-ubyte.gz',
  'mnist-test-2500-images-idx3-ubyte.gz',
  'fashion-test-images-idx3-ubyte.gz',
];
const DEMO_DIR = resolve(here, '../../packages/cli/assets/demo');

/** onnxruntime-web's wasm binary with the WebGPU (JSEP) and wasm execution providers: what its browser bundle loads. */
const ORT_WASM = 'ort-wasm-simd-threaded.jsep.wasm';

/**
 * Builds the page into `outDir`.
 *
 * @returns the folder and the size in bytes of every file written
 */
export async function buildPage(outDir = join(here, 'dist'), { minify = true } = {}) {
  const target = resolve(outDir);
  mkdirSync(dirname(target), { recursive: true });
  const tmp = mkdtempSync(join(dirname(target), `.${basename(target)}.tmp-`));
  try {
    await build({
      entryPoints: [join(here, 'src/main.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      conditions: ['@opnp/source'],
      outfile: join(tmp, 'app.js'),
      minify,
      sourcemap: true,
      legalComments: 'linked',
      logLevel: 'warning',
    });
    copyFileSync(join(here, 'src/index.html'), join(tmp, 'index.html'));
    copyFileSync(join(here, 'src/style.css'), join(tmp, 'style.css'));
    copyFileSync(require.resolve(`onnxruntime-web/${ORT_WASM}`), join(tmp, ORT_WASM));
    mkdirSync(join(tmp, 'data'));
    for (const file of DEMO_FILES) copyFileSync(join(DEMO_DIR, file), join(tmp, 'data', file));
    if (existsSync(target)) rmSync(target, { recursive: true, force: true });
    renameSync(tmp, target);
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
  const files = ['index.html', 'style.css', 'app.js', ORT_WASM, ...DEMO_FILES.map((f) => `data/${f}`)];
  return { outDir: target, sizes: Object.fromEntries(files.map((f) => [f, statSync(join(target, f)).size])) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const { outDir, sizes } = await buildPage(process.argv[2] ?? undefined);
  console.log(`built ${outDir}`);
  for (const [file, size] of Object.entries(sizes)) console.log(`  ${file.padEnd(44)} ${(size / 1024).toFixed(0).padStart(7)} kB`);
  console.log('serve it over http (e.g. npm run serve -w examples/browser) and open index.html');
}
