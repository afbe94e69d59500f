/**
 * The example page in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core): built with
 * build.mjs, served over http by serve.mjs, both modes run with fixed inputs, and every number the page shows checked
 * against onnxruntime-node (@opnp/backend-onnx) and @opnp/core computing the same thing in this process. No console
 * errors; a screenshot goes to test-artifacts/ (gitignored).
 *
 * Tolerances. The page runs the models on onnxruntime-web's wasm kernels, Node on MLAS: the same float32 graph summed
 * in different orders. packages/backend-onnx-web/test/node-parity.test.ts bounds the difference of every feature and
 * logit of a sample by `1e-5 * (1 + max |row|)` (a few float32 roundings of a dot product of a few hundred terms).
 * Here that bound is propagated to first order through what the page computes from features and logits, per entry,
 * from Node's values: the sensitivity `s_cj = (1/N) sum_n p_cn |h_nj|` moves by at most
 * `(1/N) sum_n p_cn (2 df_n |h_nj| + dh_n)` (a softmax moves by at most twice the largest logit change) plus float32
 * accumulation `2 u (N + 2) s_cj`; an energy `logsumexp(W h + b)` by at most `max_c sum_j |W_cj| dh_n` plus its
 * float32 rounding. A wrong preprocessing, image decoding or tensor layout is orders of magnitude outside these bounds.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import type { Browser, Page } from 'playwright-core';
import { composeScore, neuronSensitivity, pruneHead, pruningMasks, SensitivityAccumulator, type LinearHead, type Matrix } from '@opnp/core';
import { fpr95Threshold, oodMetrics } from '@opnp/metrics';
import { idxDataset, loadIdx, preprocessOptionsFor } from '@opnp/datasets/node';
import { describeOnnxDetector, loadOnnxFeatureExtractor, loadOnnxModel, type OnnxFeatureExtractor } from '@opnp/backend-onnx';
import { buildPage } from '../build.mjs';
import { serveFolder } from '../serve.mjs';
import type { FitResult } from '../src/fit.js';
import { close, DEMO, grayPng, normalised, opnp, ROOT } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts');
/** The relative bound of one runtime's features and logits against the other's (see the header). */
const RUNTIME = 1e-5;
const U = 2 ** -24;
/** Chromium's console warning when the page asks for a WebGPU adapter and the GPU-less browser has none. */
const NO_ADAPTER = 'warning: No available adapters.';

let root: string;
let site: string;
let server: { url: string; close(): Promise<void> };
let browser: Browser;
let page: Page;
const problems: string[] = [];
/**
 * MNIST test image 0 (in-distribution) and Fashion-MNIST test image 0 (out-of-distribution) as 28 x 28 PNGs, with the
 * model input from the definition; and the MNIST digit at 56 x 56 (each pixel doubled), which the page resizes with
 * @opnp/datasets' Pillow bilinear kernel: its model input is what @opnp/datasets/node computes from the same pixels.
 */
const images: { name: string; input: Float32Array }[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) return;
  root = mkdtempSync(join(tmpdir(), 'opnp-example-browser-'));
  site = (await buildPage(join(root, 'site'))).outDir;
  const demo = (file: string) => `idx:${DEMO}${file}`;
  await opnp(['export', '--model', `${DEMO}mnist-cnn.onnx`, '--train', demo('mnist-train-6k-images-idx3-ubyte.gz'), '--train-fraction', '0.05', '--mean', '0.1307', '--std', '0.3081',
    '--opnp', 'p_min=10,p_max=1,n_min=10,n_max=5', '--threshold-from', demo('mnist-test-2500-images-idx3-ubyte.gz'), '--out', join(site, 'detector.onnx'), '--quiet', '--threads', '1']);
  for (const [name, file] of [['mnist-test-0', 'mnist-test-2500-images-idx3-ubyte.gz'], ['fashion-test-0', 'fashion-test-images-idx3-ubyte.gz']] as const) {
    const pixels = (await loadIdx(`${DEMO}${file}`)).data.subarray(0, 784) as Uint8Array;
    images.push({ name, input: normalised(pixels) });
    writeFileSync(join(root, `${name}.png`), grayPng(28, 28, pixels));
  }
  const digit = (await loadIdx(`${DEMO}mnist-test-2500-images-idx3-ubyte.gz`)).data.subarray(0, 784);
  const doubled = Uint8Array.from({ length: 56 * 56 }, (_, i) => digit[Math.floor(i / 112) * 28 + Math.floor((i % 56) / 2)]!);
  writeFileSync(join(root, 'mnist-test-0-56px.png'), grayPng(56, 56, doubled));
  const input = { name: 'input', shape: [null, 1, 28, 28], layout: 'NCHW' } as const;
  for await (const batch of idxDataset({ dtype: 'uint8', dims: [1, 56, 56], data: doubled }).batches({ preprocess: preprocessOptionsFor(input, { mean: 0.1307, std: 0.3081 }) })) {
    images.push({ name: 'mnist-test-0-56px', input: batch.data });
  }
  server = await serveFolder(site);
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** What the page logged besides the WebGPU probe's one warning. */
function unexpectedProblems(): string[] {
  return problems.filter((p) => p !== NO_ADAPTER);
}

/** A section's state once it settles (`done` or `error`, with the error shown). */
async function settled(section: string): Promise<string> {
  await page.waitForFunction((id) => ['done', 'error'].includes(document.getElementById(id)!.dataset.state ?? ''), section, { timeout: 120_000 });
  const state = await page.getAttribute(`#${section}`, 'data-state');
  return state === 'done' ? state : `error: ${await page.textContent(`#${section} .error`)}`;
}

/** The `data-value` of a field of mode 1's result. */
async function field(name: string, attribute = 'data-value'): Promise<string | null> {
  return page.getAttribute(`#prediction [data-field="${name}"]`, attribute);
}

/** Runs a detector in onnxruntime-node on one preprocessed 28 x 28 image. */
async function nodeDetector(bytes: Uint8Array | string, input: Float32Array): Promise<{ score: number; isOod: boolean; logits: Float32Array }> {
  const session = await ort.InferenceSession.create(bytes as Uint8Array, { intraOpNumThreads: 1 });
  try {
    const out = await session.run({ input: new ort.Tensor('float32', input, [1, 1, 28, 28]) });
    return { score: (out.ood_score!.data as Float32Array)[0]!, isOod: Boolean((out.is_ood!.data as Uint8Array)[0]), logits: out.logits!.data as Float32Array };
  } finally {
    await session.release();
  }
}

/**
 * Picks `image` in mode 1 (or drops it on the drop zone) and waits until the page scored it (`data-scored` counts
 * the images scored).
 */
async function scoreInPage(image: { name: string }, count: number, how: 'pick' | 'drop' = 'pick'): Promise<void> {
  const file = join(root, `${image.name}.png`);
  if (how === 'pick') await page.setInputFiles('#image-file', file);
  else {
    const bytes = Array.from(readFileSync(file));
    const dataTransfer = await page.evaluateHandle(([data, name]) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([new Uint8Array(data as number[])], name as string, { type: 'image/png' }));
      return transfer;
    }, [bytes, `${image.name}.png`] as const);
    await page.dispatchEvent('#drop-zone', 'drop', { dataTransfer });
  }
  await page.waitForSelector(`#detect[data-scored="${count}"]`, { timeout: 60_000 });
  expect(await settled('detect')).toBe('done');
}

/** Checks mode 1's class, score and verdict against onnxruntime-node running `detector` on the same image. */
async function expectDetection(detector: Uint8Array | string, image: { name: string; input: Float32Array }, threshold: number): Promise<boolean> {
  const node = await nodeDetector(detector, image.input);
  const score = Number(await field('ood-score'));
  expect(close(score, node.score, RUNTIME * 1.5), `${image.name}: page ood_score ${score}, node ${node.score}`).toBe(true);
  // Unambiguous at this tolerance: the verdict and the class must be Node's.
  expect(Math.abs(node.score - threshold)).toBeGreaterThan(RUNTIME * (1 + Math.abs(node.score)) * 2);
  expect(await field('verdict', 'data-verdict')).toBe(node.isOod ? 'out' : 'in');
  const sorted = Float64Array.from(node.logits).sort();
  expect(sorted[9]! - sorted[8]!).toBeGreaterThan(1e-3);
  expect(Number(await field('class'))).toBe(node.logits.indexOf(sorted[9]!));
  return node.isOod;
}

/** First-order bounds of the page's sensitivity and neuron sensitivity against Node's (see the header). */
function sensitivityBounds(features: Matrix, logits: Matrix): { param: Float64Array; neuron: Float64Array } {
  const { rows: N, cols: D } = features;
  const C = logits.cols;
  const param = new Float64Array(C * D);
  for (let n = 0; n < N; n++) {
    const f = Array.from(logits.data.subarray(n * C, (n + 1) * C));
    const h = features.data.subarray(n * D, (n + 1) * D);
    const df = RUNTIME * (1 + Math.max(...f.map(Math.abs)));
    const dh = RUNTIME * (1 + h.reduce((m, v) => Math.max(m, Math.abs(v)), 0));
    const m = Math.max(...f);
    const z = f.reduce((s, v) => s + Math.exp(v - m), 0);
    for (let c = 0; c < C; c++) {
      const p = Math.exp(f[c]! - m) / z;
      for (let j = 0; j < D; j++) param[c * D + j]! += (p * (2 * df * Math.abs(h[j]!) + dh)) / N;
    }
  }
  const neuron = new Float64Array(D);
  for (let j = 0; j < D; j++) for (let c = 0; c < C; c++) neuron[j]! += param[c * D + j]! / C;
  return { param, neuron };
}

/** Node's features and logits of images `[start, start + n)` of a demo IDX file. */
async function nodeExtract(extractor: OnnxFeatureExtractor, file: string, start: number, n: number) {
  const pixels = (await loadIdx(`${DEMO}${file}`)).data.subarray(start * 784, (start + n) * 784);
  return extractor.extract({ data: normalised(pixels), shape: [n, 1, 28, 28] });
}

describe.skipIf(!existsSync(CHROMIUM))(`the example page in headless Chromium (${CHROMIUM}; skipped when it is not installed, CI installs it)`, () => {
  it('mode 1: a detector from opnp export (?model=) scores picked and dropped images as onnxruntime-node does', async () => {
    await page.goto(`${server.url}index.html?model=detector.onnx`);
    expect(await settled('detect')).toBe('done');
    expect(await page.textContent('#runtime')).toMatch(/execution providers wasm/);
    const described = describeOnnxDetector(await loadOnnxModel(join(site, 'detector.onnx')));
    const threshold = described.threshold!;
    expect(Number(await field('threshold'))).toBe(threshold);
    const verdicts: boolean[] = [];
    for (const [i, image] of images.entries()) {
      await scoreInPage(image, i + 1, i === 1 ? 'drop' : 'pick');
      verdicts.push(await expectDetection(join(site, 'detector.onnx'), image, threshold));
    }
    expect(verdicts, 'the MNIST digit is in-distribution (also at twice the size), the Fashion-MNIST image is not').toEqual([false, true, false]);
    expect(await page.getAttribute('#detector-preprocessing', 'data-source')).toBe('detector');
    expect(unexpectedProblems()).toEqual([]);
  });

  it('mode 2: sensitivity, masks, pruned-head scores, threshold and metrics computed in the page match Node', async () => {
    await page.click('#fit-run');
    expect(await settled('fit')).toBe('done');
    const result = JSON.parse((await page.textContent('#fit-json'))!) as FitResult;
    expect([result.trainCount, result.classes, result.dim, result.runtime.kernel]).toEqual([300, 10, 128, 'onnxruntime-web']);

    const extractor = await loadOnnxFeatureExtractor(`${DEMO}mnist-cnn.onnx`, { threads: 1 });
    try {
      const { head } = extractor;
      const train = await nodeExtract(extractor, 'mnist-train-6k-images-idx3-ubyte.gz', 0, 300);
      const accumulator = new SensitivityAccumulator(head);
      await accumulator.add(train.features, train.logits);
      const sensitivity = accumulator.result();
      const bounds = sensitivityBounds(train.features, train.logits);
      sensitivity.values.forEach((e, i) => {
        const bound = bounds.param[i]! + 2 * U * 302 * e + 1e-12;
        expect(Math.abs(result.sensitivity[i]! - e), `s[${i}]: page ${result.sensitivity[i]}, node ${e}, bound ${bound}`).toBeLessThanOrEqual(bound);
      });
      const neuron = neuronSensitivity(sensitivity);
      neuron.forEach((e, j) => expect(Math.abs(result.neuronSensitivity[j]! - e)).toBeLessThanOrEqual(bounds.neuron[j]! + 2 * U * 302 * e + 1e-12));

      // The masks are the page's sensitivity's, and Node's except where a sensitivity is within its bound of a band edge.
      const pageSensitivity = { classes: 10, dim: 128, values: result.sensitivity };
      const pageMasks = pruningMasks(pageSensitivity, result.neuronSensitivity, result.percentages, 'opnp');
      expect(result.masks.param).toEqual(Array.from(pageMasks.param));
      expect(result.masks.neuron).toEqual(Array.from(pageMasks.neuron));
      const nodeMasks = pruningMasks(sensitivity, neuron, result.percentages, 'opnp');
      const widest = Math.max(...bounds.param);
      const nearEdge = (v: number, band: { lo: number; hi: number }, bound: number) => Math.min(Math.abs(v - band.lo), Math.abs(v - band.hi)) <= bound + widest;
      sensitivity.values.forEach((v, i) => {
        if (!nearEdge(v, nodeMasks.paramBand, bounds.param[i]!)) expect(result.masks.param[i], `weight ${i}`).toBe(nodeMasks.param[i]);
      });
      neuron.forEach((v, j) => {
        if (!nearEdge(v, nodeMasks.neuronBand, bounds.neuron[j]!)) expect(result.masks.neuron[j], `neuron ${j}`).toBe(nodeMasks.neuron[j]);
      });
      expect([result.masks.paramKept, result.masks.neuronKept]).toEqual([pageMasks.paramKept, pageMasks.neuronKept]);

      // Scores of the original and the pruned head (the page's masks) on Node's features of the same images.
      const pruned = pruneHead(head, pageMasks);
      const rowSum = (w: LinearHead) => Math.max(...Array.from({ length: 10 }, (_, c) => w.weight.data.subarray(c * 128, (c + 1) * 128).reduce((s, v) => s + Math.abs(v), 0)));
      const sets = [
        ['idVal', 'mnist-test-2500-images-idx3-ubyte.gz', 0],
        ['idTest', 'mnist-test-2500-images-idx3-ubyte.gz', 200],
        ['oodTest', 'fashion-test-images-idx3-ubyte.gz', 0],
      ] as const;
      for (const [set, file, start] of sets) {
        const { features } = await nodeExtract(extractor, file, start, 200);
        for (const [name, h] of [['energy', head], ['opnp', pruned]] as const) {
          const expected = composeScore(features, { head: h });
          const got = result.scores[set][name];
          expected.forEach((e, n) => {
            const dh = RUNTIME * (1 + features.data.subarray(n * 128, (n + 1) * 128).reduce((m, v) => Math.max(m, Math.abs(v)), 0));
            const bound = rowSum(h) * dh + 1e-6 * (1 + Math.abs(e));
            expect(Math.abs(got[n]! - e), `${set} ${name} #${n}: page ${got[n]}, node ${e}`).toBeLessThanOrEqual(bound);
          });
        }
      }
      // Threshold and metrics: what @opnp/metrics gives for the page's own scores.
      expect(result.threshold).toBe(fpr95Threshold(result.scores.idVal.opnp));
      expect(result.metrics.energy).toEqual(oodMetrics(result.scores.idTest.energy, result.scores.oodTest.energy));
      expect(result.metrics.opnp).toEqual(oodMetrics(result.scores.idTest.opnp, result.scores.oodTest.opnp));
      const shown = await page.$$eval('#fit-metrics tbody td[data-value]', (tds) => tds.map((td) => Number(td.getAttribute('data-value'))));
      expect(shown).toEqual([result.metrics.energy.auroc * 100, result.metrics.energy.fpr95 * 100, result.metrics.opnp.auroc * 100, result.metrics.opnp.fpr95 * 100]);
      expect(await page.textContent('#fit-masks [data-field=weights-kept]')).toContain(`${result.masks.weightsKept} of 1280`);
    } finally {
      await extractor.dispose();
    }
    expect(unexpectedProblems()).toEqual([]);
  });

  it('mode 2 → mode 1: the detector built in the page runs in onnxruntime-node with the page\'s scores; screenshot', async () => {
    const href = await page.getAttribute('#fit-download', 'href');
    const bytes = Uint8Array.from(await page.evaluate(async (url) => Array.from(new Uint8Array(await (await fetch(url!)).arrayBuffer())), href));
    const result = JSON.parse((await page.textContent('#fit-json'))!) as FitResult;
    // Loading a detector rescores the image in mode 1 (the 56 x 56 digit, picked last).
    const scored = Number(await page.getAttribute('#detect', 'data-scored')) + 1;
    await page.click('#fit-use');
    await page.waitForSelector(`#detect[data-scored="${scored}"]`);
    expect(await settled('detect')).toBe('done');
    expect(await page.textContent('#detector-info')).toMatch(/^the detector built in 2/);
    expect(await page.getAttribute('#detector-preprocessing', 'data-source'), 'no preprocessing recorded: the fields').toBe('fields');
    expect(Number(await field('threshold'))).toBe(Math.fround(result.threshold));
    expect(await expectDetection(bytes, images[2]!, Math.fround(result.threshold))).toBe(false);
    await scoreInPage(images[1]!, scored + 1);
    expect(await expectDetection(bytes, images[1]!, Math.fround(result.threshold))).toBe(true);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'example-browser.png'), fullPage: true });
    expect(existsSync(join(ARTIFACTS, 'example-browser.png'))).toBe(true);
    expect(problems.filter((p) => p === NO_ADAPTER).length, 'the page asks for a WebGPU adapter once').toBeLessThanOrEqual(1);
    expect(unexpectedProblems()).toEqual([]);
  });

  it("mode 1: a detector exported with another --mean / --std is run with the detector's values, not the fields'", async () => {
    const custom = { mean: 0.25, std: 0.5 };
    await opnp(['export', '--model', `${DEMO}mnist-cnn.onnx`, '--train', `idx:${DEMO}mnist-train-6k-images-idx3-ubyte.gz`, '--train-fraction', '0.05', '--mean', String(custom.mean), '--std', String(custom.std),
      '--opnp', 'p_min=10,p_max=1,n_min=10,n_max=5', '--threshold-from', `idx:${DEMO}mnist-test-2500-images-idx3-ubyte.gz`, '--out', join(site, 'detector-custom.onnx'), '--quiet', '--threads', '1']);
    await page.goto(`${server.url}index.html?model=detector-custom.onnx`);
    expect(await settled('detect')).toBe('done');
    expect(await page.inputValue('#mean'), 'the fields keep the demo values').toBe(String(0.1307));
    expect(await page.getAttribute('#detector-preprocessing', 'data-source')).toBe('detector');
    expect(await page.textContent('#detector-preprocessing')).toContain('"mean":[0.25],"std":[0.5]');
    const file = join(site, 'detector-custom.onnx');
    const { threshold } = describeOnnxDetector(await loadOnnxModel(file));
    const pixels = (await loadIdx(`${DEMO}mnist-test-2500-images-idx3-ubyte.gz`)).data.subarray(0, 784);
    // (v / 255 - mean) / std with the detector's values, from the definition.
    const input = Float32Array.from(pixels, (v) => (v / 255 - custom.mean) / custom.std);
    await scoreInPage(images[0]!, 1);
    await expectDetection(file, { name: 'mnist-test-0 (custom mean / std)', input }, threshold!);
    expect(unexpectedProblems()).toEqual([]);
  });
});
