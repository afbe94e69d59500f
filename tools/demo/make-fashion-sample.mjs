#!/usr/bin/env node
// Writes the committed Fashion-MNIST sample used by the demo (an OOD set available right after `npm ci`):
// the first 2,000 test images and labels of Fashion-MNIST (MIT licence, Zalando Research), as gzipped IDX.
// Source: Debian's dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist).
// Usage: node tools/demo/make-fashion-sample.mjs [count]
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const count = Number(process.argv[2] ?? 2000);
const source = '/usr/share/datasets/fashion-mnist';
const out = join(dirname(fileURLToPath(import.meta.url)), 'data');
const images = gunzipSync(readFileSync(join(source, 't10k-images-idx3-ubyte.gz')));
const labels = gunzipSync(readFileSync(join(source, 't10k-labels-idx1-ubyte.gz')));
if (images.readUInt32BE(0) !== 0x803 || labels.readUInt32BE(0) !== 0x801) throw new Error('unexpected IDX magic');
const imageHeader = Buffer.from(images.subarray(0, 16));
imageHeader.writeUInt32BE(count, 4);
const labelHeader = Buffer.from(labels.subarray(0, 8));
labelHeader.writeUInt32BE(count, 4);
const gz = (b) => gzipSync(b, { level: 9, mtime: 0 });
writeFileSync(join(out, 'fashion-t10k-2k-images-idx3-ubyte.gz'), gz(Buffer.concat([imageHeader, images.subarray(16, 16 + count * 784)])));
writeFileSync(join(out, 'fashion-t10k-2k-labels-idx1-ubyte.gz'), gz(Buffer.concat([labelHeader, labels.subarray(8, 8 + count)])));
console.log(`wrote ${count} Fashion-MNIST test images to ${out}`);
