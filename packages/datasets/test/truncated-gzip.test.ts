/**
 * A `.gz` IDX file cut short: every path that reads it (the streamed dataset pass, `verify`, the in-memory parsers
 * of both entries) says that the compressed stream stops early, at which byte of the file and of what size, and how
 * many decompressed bytes the header announces against those the cut stream holds. A complete gzip of too little
 * data says how many bytes there are in all, not how many a single read was missing.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { fromIdx as browserFromIdx } from '../src/index.js';
import { fromIdx as nodeFromIdx, loadIdx, openDataset } from '../src/node/index.js';
import { collect, expectOpnpError } from './helpers.js';

const COUNT = 2000;
const SIDE = 28;

/** An IDX images file `[COUNT, 28, 28]` of uint8 whose pixels compress about 2:1 (seeded, 4 bits of noise each). */
function idxImages(count = COUNT): Uint8Array {
  const bytes = new Uint8Array(16 + count * SIDE * SIDE);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 0x00000803);
  view.setUint32(4, count);
  view.setUint32(8, SIDE);
  view.setUint32(12, SIDE);
  let state = 12345;
  for (let i = 16; i < bytes.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    bytes[i] = (state >>> 24) & 0x0f;
  }
  return bytes;
}

const raw = idxImages();
const gzip = gzipSync(raw, { level: 6 });
/** The compressed bytes kept: 60% of the file. */
const cut = Math.floor(gzip.length * 0.6);
const truncated = gzip.subarray(0, cut);
/** The decompressed bytes the cut stream holds, by zlib directly (no error at the missing end). */
const available = gunzipSync(truncated, { finishFlush: constants.Z_SYNC_FLUSH }).length;
const dir = mkdtempSync(join(tmpdir(), 'opnp-truncated-'));
const file = join(dir, 'cut-images-idx3-ubyte.gz');
writeFileSync(file, truncated);

/** What every path must say about `file`. */
function expectEndedEarly(error: { message: string; file?: string; offset?: number; expected?: unknown; actual?: unknown }): void {
  expect(error.message).toMatch(new RegExp(`^The gzip data ends early: the compressed stream stops at byte ${cut} of the file, whose size is ${cut} bytes, before its end`));
  expect(error.file).toBe(file);
  expect(error.offset).toBe(cut);
  expect(error.expected).toBe(`${raw.length} decompressed bytes (header and data of dims [${COUNT}, ${SIDE}, ${SIDE}] of uint8)`);
  expect(error.actual).toBe(`${available} decompressed bytes (${raw.length - available} missing)`);
}

describe('a truncated .gz IDX file', () => {
  it('a dataset pass and verify() say where the compressed stream stops and how much decompressed data is missing', async () => {
    // the cut keeps the header and part of the data; most of it is missing
    expect(available).toBeGreaterThan(16);
    expect(raw.length - available).toBeGreaterThan(SIDE * SIDE * 100);
    const dataset = await openDataset(`idx:${file}#nolabels`);
    expectEndedEarly(await expectOpnpError(() => collect(dataset, { batchSize: 500 }), 'DATASET_FORMAT'));
    expectEndedEarly(await expectOpnpError(() => dataset.verify!(), 'DATASET_FORMAT'));
  });

  it('the in-memory parsers of both entries say the same', async () => {
    expectEndedEarly(await expectOpnpError(() => loadIdx(file), 'DATASET_FORMAT'));
    expectEndedEarly(await expectOpnpError(() => nodeFromIdx(truncated, { file }), 'DATASET_FORMAT'));
    expectEndedEarly(await expectOpnpError(() => browserFromIdx(truncated, { file }), 'DATASET_FORMAT'));
  });

  it('a .gz missing only its 8-byte trailer (or part of it) ends early in both entries, saying every data byte is there; a wrong checksum is damaged data, in words', async () => {
    const small = idxImages(20);
    const whole = gzipSync(small);
    for (const missing of [8, 5, 1]) {
      const kept = whole.length - missing;
      const name = `trailer-${missing}-images-idx3-ubyte.gz`;
      const errors = [await expectOpnpError(() => browserFromIdx(whole.subarray(0, kept), { file: name }), 'DATASET_FORMAT'), await expectOpnpError(() => nodeFromIdx(whole.subarray(0, kept), { file: name }), 'DATASET_FORMAT')];
      for (const error of errors) {
        // Every data byte is there: only the trailer is missing, and the message says so (not "0 missing").
        expect(error.message, `${missing} bytes missing`).toBe(
          `The gzip data of ${name} ends early: the file (${kept} bytes) stops inside the checksum at the end of the compressed stream, so all ${small.length} decompressed bytes (header and data of dims [20, ${SIDE}, ${SIDE}] of uint8) are there but cannot be checked. ` +
            'The file is cut short (an interrupted download or copy?): fetch or copy it again',
        );
        expect(error.file).toBe(name);
      }
      expect(errors[0]!.message).toBe(errors[1]!.message);
    }
    // The whole trailer with a wrong CRC-32 (or length): corrupt data, in both entries.
    for (const at of [whole.length - 8, whole.length - 1]) {
      const bad = Uint8Array.from(whole);
      bad[at] = bad[at]! ^ 0xff;
      for (const parse of [browserFromIdx, nodeFromIdx]) {
        const error = await expectOpnpError(() => parse(bad, { file: 'bad.gz' }), 'DATASET_FORMAT');
        expect(error.message).toMatch(/^The gzip data of bad\.gz is damaged: its decompressed (bytes|length) do(es)? not match the (checksum|length) stored at the end of the compressed stream\. The file changed after it was written/);
        expect(error.message).not.toMatch(/incorrect|\(file:/);
      }
    }
  });

  it('a complete gzip of less data than the header announces says how many bytes there are in all', async () => {
    const short = raw.subarray(0, raw.length - 1000);
    const path = join(dir, 'short-images-idx3-ubyte.gz');
    writeFileSync(path, gzipSync(short));
    const error = await expectOpnpError(async () => collect(await openDataset(`idx:${path}#nolabels`), { batchSize: 500 }), 'DATASET_FORMAT');
    expect(error.message).toMatch(new RegExp(`^gzip data ends early \\(truncated\\) after ${short.length} bytes`));
    expect(error.expected).toBe(`${raw.length} bytes (header and data of dims [${COUNT}, ${SIDE}, ${SIDE}] of uint8)`);
    expect(error.actual).toBe(`${short.length} bytes in all`);
    expect(error.message).not.toMatch(/more bytes/);
  });
});
