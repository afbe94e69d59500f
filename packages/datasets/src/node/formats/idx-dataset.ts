/**
 * IDX datasets on disk (Node): images streamed by offset (raw files) or through zlib (`.gz`), labels read
 * up front from the companion labels file.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Dataset } from '../../types.js';
import type { IdxArray, IdxHeader } from '../../formats/idx.js';
import { checkGzipCanHold, decodeIdxValues, describeIdx, idxImageLayout, idxLabels, parseIdxHeader } from '../../formats/idx.js';
import { fromIdx } from '../parsers.js';
import { createNodeDataset } from '../sharp-images.js';
import type { RawSample } from '../../dataset.js';
import { gunzipReader } from '../compressed-stream.js';
import { checkSampleBytes, fileSize, openFile, readAt, readRecordBlocks, readStreamRecords, verifyStreamLength, type StreamReader } from '../io.js';
import type { ExpectedLength } from '../../inflate.js';
import { isGzip } from '../../inflate.js';
import { argumentError, formatError, notFoundError } from '../../errors.js';
import { fileSystemError } from '../fs-errors.js';

/** Options of {@link openIdx}. */
export interface IdxOptions {
  /**
   * The labels file. Default: derived from the images file name (`train-images-idx3-ubyte[.gz]` ->
   * `train-labels-idx1-ubyte[.gz]`; generally `images` -> `labels` and `idx3`/`idx4` -> `idx1`), unlabelled
   * if none exists. `false`: unlabelled.
   */
  labels?: string | false;
  /** When `path` is a folder: which images file to open, `'train'` or `'test'` (`t10k-*`); default `'test'`. */
  split?: string;
}

/** Reads and parses a whole IDX file (raw or `.gz`, through node:zlib). Prefer {@link openIdx} for large image files. */
export async function loadIdx(path: string): Promise<IdxArray> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw fileSystemError(error, path);
  }
  return fromIdx(bytes, { file: path });
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Candidate labels files for an IDX images file, most likely first: `images` -> `labels`, `idx3`/`idx4` ->
 * `idx1`, with and without `.gz`.
 */
export function idxLabelsCandidates(imagesPath: string): string[] {
  const name = basename(imagesPath);
  const stem = name.replace(/\.gz$/i, '');
  const swapped = stem.replace(/images/g, 'labels').replace(/Images/g, 'Labels').replace(/idx[2-9]/g, 'idx1');
  if (swapped === stem) return [];
  const dir = dirname(imagesPath);
  const gz = name !== stem;
  return [join(dir, gz ? `${swapped}.gz` : swapped), join(dir, gz ? swapped : `${swapped}.gz`)];
}

/** The images file of `split` inside an MNIST-style folder. */
async function imagesFileIn(dir: string, split: string): Promise<string> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw fileSystemError(error, dir, 'folder');
  }
  const prefixes = split === 'test' ? ['t10k-images', 'test-images'] : [`${split}-images`];
  const matches = names.filter((n) => prefixes.some((p) => n.startsWith(p)) && /idx[2-4]/.test(n)).sort();
  if (matches.length === 0) throw notFoundError(`No IDX images file for split "${split}"`, { file: dir, expected: `${prefixes[0]}-idx3-ubyte[.gz]` });
  return join(dir, matches.find((n) => !n.endsWith('.gz')) ?? matches[0]!);
}

/**
 * Header of an IDX file and, for raw files, checks that the file length matches it; for `.gz` files, that
 * the compressed length can hold what the header announces.
 */
async function readIdxHeader(file: string): Promise<{ header: IdxHeader; gzip: boolean; size: number }> {
  const size = await fileSize(file);
  const handle = await openFile(file);
  try {
    const first = await readAt(handle, file, 0, Math.min(4, size));
    if (isGzip(first)) {
      const reader = gunzipReader(file);
      try {
        const magic = await reader.read(4);
        const ndims = magic[0] === 0 && magic[1] === 0 && magic[3]! >= 1 && magic[3]! <= 8 ? magic[3]! : 0;
        const bytes = new Uint8Array(4 + 4 * ndims);
        bytes.set(magic);
        if (ndims > 0) bytes.set(await reader.read(4 * ndims), 4);
        const header = parseIdxHeader(bytes, file);
        checkGzipCanHold(header, size, file);
        return { header, gzip: true, size };
      } finally {
        reader.close();
      }
    }
    const head = await readAt(handle, file, 0, Math.min(size, 4 + 4 * 8));
    const header = parseIdxHeader(head, file);
    const expected = header.headerBytes + header.dataBytes;
    if (size !== expected) {
      throw formatError(size < expected ? 'IDX file is truncated' : 'IDX file has trailing bytes after the announced data', {
        file,
        offset: Math.min(size, expected),
        expected: `${expected} bytes for ${describeIdx(header)}`,
        actual: `${size} bytes`,
      });
    }
    return { header, gzip: false, size };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** The labels file to use for `images`: the given path, the first existing candidate, or none. */
async function labelsFileFor(images: string, labels: string | false | undefined): Promise<string | undefined> {
  if (typeof labels === 'string') return labels;
  if (labels === false) return undefined;
  if (labels !== undefined) throw argumentError('labels must be a path or false', { actual: labels });
  for (const candidate of idxLabelsCandidates(images)) if (await exists(candidate)) return candidate;
  return undefined;
}

/** Reads a labels file whole (its length is checked against its header) and checks its count. */
async function readLabelsFile(labelsFile: string, images: string, count: number): Promise<Int32Array> {
  const array = await loadIdx(labelsFile);
  if (array.dims.length !== 1 && !(array.dims.length === 2 && array.dims[1] === 1)) {
    throw formatError('IDX labels file must be one-dimensional', { file: labelsFile, offset: 3, actual: array.dims });
  }
  const labels = idxLabels(array, labelsFile);
  if (labels.length !== count) {
    throw formatError('Label and image counts disagree', { file: labelsFile, offset: 4, expected: `${count} labels (from ${images})`, actual: labels.length });
  }
  return labels;
}

/** The decompressed length of a `.gz` IDX file, as its header announces it. */
function idxLength(header: IdxHeader): ExpectedLength {
  return { bytes: header.headerBytes + header.dataBytes, describe: `(header and data of ${describeIdx(header)})` };
}

/** {@link Dataset.verify} of an IDX images file: raw lengths were checked at open, `.gz` data is streamed and counted. */
function idxVerifier(images: string, header: IdxHeader, gzip: boolean, size: number, labelsFile: string | undefined): () => Promise<readonly string[]> {
  return async () => {
    const expected = header.headerBytes + header.dataBytes;
    const out: string[] = [];
    if (gzip) {
      const reader = gunzipReader(images, idxLength(header));
      try {
        await verifyStreamLength(reader, images, expected, `(decompressed) for ${describeIdx(header)}`, 'IDX file');
      } finally {
        reader.close();
      }
      out.push(`images: ${expected} decompressed bytes = header + ${describeIdx(header)} (gzip streamed and counted)`);
    } else out.push(`images: file length ${size} bytes = header + ${describeIdx(header)}`);
    if (labelsFile !== undefined) out.push(`labels: ${labelsFile} read whole, length and count checked`);
    return out;
  };
}

/** Samples of a raw IDX read handed to the pass at a time. */
const SAMPLES_PER_STEP = 256;

/**
 * Opens an IDX images file (or an MNIST-style folder) as a {@link Dataset}.
 *
 * Images files hold `[N, H, W]` (stored shape `[1, H, W]`), `[N, H, W, C]` (`[C, H, W]`) or `[N, D]`
 * (`[1, 1, D]`) values of any IDX dtype; 8-bit unsigned images are scaled by `1/255` by default, other
 * dtypes by 1. A `.gz` file is streamed: {@link Dataset.verify} counts its decompressed bytes.
 *
 * @throws OpnpError `'DATASET_FORMAT'` (bad header, sizes, samples above 256 MiB, a `.gz` too small for its
 * header, label/image count mismatch), `'DATASET_NOT_FOUND'`.
 */
export async function openIdx(path: string, options: IdxOptions = {}): Promise<Dataset> {
  let images = path;
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (error) {
    throw fileSystemError(error, path, 'path');
  }
  if (isDirectory) images = await imagesFileIn(path, options.split ?? 'test');
  const { header, gzip, size } = await readIdxHeader(images);
  const { count, shape, layout } = idxImageLayout(header.dims, images);
  const recordValues = shape[0] * shape[1] * shape[2];
  const recordBytes = recordValues * header.elementBytes;
  checkSampleBytes(recordBytes, `IDX ${describeIdx(header)}`, images, 4);
  const labelsFile = await labelsFileFor(images, options.labels);
  const labels = labelsFile === undefined ? undefined : await readLabelsFile(labelsFile, images, count);
  let classes: number | undefined;
  if (labels) {
    let max = -1;
    for (const v of labels) if (v > max) max = v;
    classes = max + 1;
  }
  /** The record at byte `at` of a read. */
  const toSample = (index: number, bytes: Uint8Array, at: number): RawSample => ({
    index,
    label: labels ? labels[index]! : -1,
    // 8-bit images: one view of the read (records are never overwritten); other dtypes are decoded
    pixels: { data: header.dtype === 'uint8' ? new Uint8Array(bytes.buffer, bytes.byteOffset + at, recordValues) : decodeIdxValues(bytes.subarray(at, at + recordBytes), header.dtype, recordValues), channels: shape[0], height: shape[1], width: shape[2], layout },
  });
  async function* read(indices: Uint32Array, signal?: AbortSignal): AsyncGenerator<RawSample | RawSample[]> {
    if (!gzip) {
      // a raw file: the samples of each read a few hundred at a time (one step of the pass per group, not per
      // sample), each group made when the pass asks for it, so its sample objects die young (made for a whole 4 MiB
      // read at once, thousands of them outlived the young generation: a full collection every few reads)
      for await (const { start, end, bytes } of readRecordBlocks(images, header.headerBytes, recordBytes, indices, signal)) {
        const first = indices[start]!;
        for (let from = start; from < end; from += SAMPLES_PER_STEP) {
          const samples: RawSample[] = [];
          for (let j = from; j < Math.min(end, from + SAMPLES_PER_STEP); j++) {
            samples.push(toSample(indices[j]!, bytes, (indices[j]! - first) * recordBytes));
          }
          yield samples;
        }
      }
      return;
    }
    const checkEnd = async (reader: StreamReader, next: number): Promise<void> => {
      if (next === count && !(await reader.atEnd())) {
        throw formatError('IDX file has trailing bytes after the announced data', { file: images, offset: reader.position });
      }
    };
    for await (const [k, bytes] of readStreamRecords(gunzipReader(images, idxLength(header)), header.headerBytes, recordBytes, indices, signal, checkEnd)) {
      yield toSample(indices[k]!, bytes, 0);
    }
  }
  return createNodeDataset({
    format: 'idx',
    source: images,
    count,
    shape,
    eightBit: header.dtype === 'uint8',
    ...(labels ? { labels, classes } : {}),
    read,
    verify: idxVerifier(images, header, gzip, size, labelsFile),
  });
}
