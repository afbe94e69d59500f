/**
 * A dataset run through the model as a {@link FeatureSource}: `@opnp/datasets` specs and seeded noise
 * (`noise:<count>`). Shapes are checked against the model input before any image is read.
 */
import { OpnpError, numClasses, type FeatureExtractor } from '@opnp/core/base';
import { openDataset, preprocessOptionsFor, resizedSize, type BatchOptions, type Dataset, type PreprocessOptionNames, type PreprocessOptions } from '@opnp/datasets/node';
import type { FeatureBatch, FeatureBatchOptions, FeatureSource, FeatureSourceOptions } from './feature-source.js';
import { assertFiniteBatch } from './feature-source.js';
import { datasetFilesIdentity, type JsonValue } from './fingerprint.js';
import { assertFolderClasses } from './class-folders.js';
import { checkedExtract } from './checked-extract.js';
import type { LoadedModel } from './model.js';
import { checkLabelCount, loadLabelsFile } from './labels-file.js';
import { noiseDataset, parseNoiseSpec } from './noise-dataset.js';
import { preprocessName, preprocessValue } from './option-names.js';

/** The model input's `[C, H, W]` (null entries are dynamic), or undefined for flat inputs. */
function inputImageShape(extractor: FeatureExtractor): [number | null, number | null, number | null] | undefined {
  const { layout, shape } = extractor.input;
  if (layout === 'flat') return undefined;
  return layout === 'NCHW' ? [shape[1] ?? null, shape[2] ?? null, shape[3] ?? null] : [shape[3] ?? null, shape[1] ?? null, shape[2] ?? null];
}

function openNoise(spec: string, noise: NonNullable<ReturnType<typeof parseNoiseSpec>>, extractor: FeatureExtractor): Dataset {
  let shape = noise.shape;
  if (!shape) {
    const dims = inputImageShape(extractor);
    if (!dims || dims.some((d) => d === null)) throw new OpnpError('INVALID_ARGUMENT', 'noise: needs shape=<C>x<H>x<W> for this model input', { actual: spec });
    shape = dims as [number, number, number];
  }
  return noiseDataset({ count: noise.count, seed: noise.seed, shape });
}

/** Largest shrink factor of a fixed-size dataset's images to the model input accepted without an explicit resize. */
const MAX_IMPLICIT_SHRINK = 8;

/**
 * Checks a dataset's stored image size against the model input before any pixel is read: flat models
 * need the exact length; image models refuse fixed-size images far larger than the input unless the
 * user asked for a resize (a header claiming 20000 x 20000 images would otherwise be read and shrunk).
 */
function checkImageSize(dataset: Dataset, extractor: FeatureExtractor, flags: FeatureSourceOptions['preprocess'], names: PreprocessOptionNames | undefined): void {
  const [C, H, W] = dataset.shape;
  if (extractor.input.layout === 'flat') {
    const want = extractor.input.shape[1];
    if (typeof want === 'number' && want !== C * H * W) {
      throw new OpnpError('SHAPE_MISMATCH', `The images of ${dataset.source} (${C} x ${H} x ${W} = ${C * H * W} values) do not have the model input length`, { file: dataset.source, expected: want, actual: C * H * W });
    }
    return;
  }
  const dims = inputImageShape(extractor);
  const [h, w] = [dims?.[1], dims?.[2]];
  if (dataset.sizesVary || flags?.resize !== undefined || typeof h !== 'number' || typeof w !== 'number') return;
  if (H > MAX_IMPLICIT_SHRINK * h || W > MAX_IMPLICIT_SHRINK * w) {
    throw new OpnpError('SHAPE_MISMATCH', `The images of ${dataset.source} are ${H} x ${W} but the model takes ${h} x ${w}`, {
      file: dataset.source,
      expected: `images at most ${MAX_IMPLICIT_SHRINK}x the input side`,
      actual: [H, W],
      hint: `Check the dataset (a corrupt header?) or pass ${preprocessName(names, 'resize')} explicitly if shrinking them is intended`,
    });
  }
}

/**
 * Refuses a centre crop the caller gave that is not the model input size, naming the option, the crop size, the
 * model input and the images' size (after the resize), before any image is read: a crop larger than the image
 * pads it with zeros, so the batch would only fail at the model with a bare shape error.
 */
function checkCropSize(dataset: Dataset, extractor: FeatureExtractor, options: PreprocessOptions | undefined, names: PreprocessOptionNames): void {
  const crop = options?.centerCrop;
  const dims = inputImageShape(extractor);
  const [h, w] = [dims?.[1], dims?.[2]];
  if (crop === undefined || typeof h !== 'number' || typeof w !== 'number') return;
  const [ch, cw] = typeof crop === 'number' ? [crop, crop] : crop;
  // an invalid crop is refused by the preprocessing itself, under its name
  if ((ch === h && cw === w) || ![ch, cw].every((v) => Number.isInteger(v) && v > 0)) return;
  const resize = options?.resize;
  const [H, W] = [dataset.shape[1], dataset.shape[2]];
  const [rh, rw] = resizedSize(H, W, resize);
  const resized = resize !== undefined ? `, ${dataset.sizesVary ? 'of varying size' : `${H} x ${W}`} resized by ${preprocessValue(names, 'resize', resize)}${dataset.sizesVary ? '' : ` to ${rh} x ${rw}`}` : '';
  const images = resize !== undefined || dataset.sizesVary ? `the images of ${dataset.source}${resized || ' (of varying size)'}` : `the ${H} x ${W} images of ${dataset.source}`;
  const larger = !dataset.sizesVary && (ch > rh || cw > rw);
  const source = larger ? '' : ` (cropped from ${images})`;
  const padding = larger ? `; the crop is larger than ${images}, so it pads them with zeros` : '';
  throw new OpnpError('SHAPE_MISMATCH', `${preprocessValue(names, 'centerCrop', crop)} makes ${ch} x ${cw} inputs${source} but the model takes ${h} x ${w}${padding}`, {
    file: dataset.source,
    hint: `Give ${preprocessValue(names, 'centerCrop', h === w ? h : [h, w])} (the model input size), or leave the crop out (it defaults to the model input size)`,
  });
}

/**
 * What messages call the preprocessing options: the caller's names; a channel count the caller did not set but
 * {@link preprocessOptionsFor} took from the model input is called the model input's.
 */
function preprocessNames(options: FeatureSourceOptions, resolved: PreprocessOptions): PreprocessOptionNames {
  const fromModel = options.preprocess?.channels === undefined && resolved.channels !== undefined;
  return { ...(fromModel ? { channels: "the model input's channel count" } : {}), ...options.preprocessNames };
}

/** Opens a dataset spec (or `noise:`) to be run through the model. */
export async function openModelSource(spec: string, options: FeatureSourceOptions): Promise<FeatureSource> {
  const extractor = options.model.extractor;
  const noise = parseNoiseSpec(spec);
  const dataset = noise ? openNoise(spec, noise, extractor) : await openDataset(spec);
  checkImageSize(dataset, extractor, options.preprocess, options.preprocessNames);
  if (options.classCheck && options.labelsFile === undefined) assertFolderClasses(dataset, numClasses(extractor.head), options.classCheck.labelsOption);
  const override = options.labelsFile !== undefined ? checkLabelCount(await loadLabelsFile(options.labelsFile), dataset.count, options.labelsFile) : undefined;
  const preprocess = preprocessOptionsFor(extractor.input, { ...options.preprocess });
  checkCropSize(dataset, extractor, options.preprocess, options.preprocessNames ?? {});
  const pass = { preprocess, preprocessNames: preprocessNames(options, preprocess), ...(options.imageWorkers !== undefined ? { workers: options.imageWorkers } : {}) };
  return {
    spec,
    kind: 'model',
    count: dataset.count,
    preprocess,
    readLabels: async () => (override ? override.slice() : dataset.readLabels()),
    identity: async (): Promise<JsonValue> => ({ files: await datasetFilesIdentity(spec), count: dataset.count, preprocess: JSON.parse(JSON.stringify(preprocess)) as JsonValue }),
    batches: (o) => modelBatches(spec, dataset, options.model, pass, override, o),
  };
}

async function* modelBatches(spec: string, dataset: Dataset, model: LoadedModel, pass: Pick<BatchOptions, 'preprocess' | 'preprocessNames' | 'workers'>, labels: Int32Array | undefined, o: FeatureBatchOptions): AsyncGenerator<FeatureBatch> {
  const extract = checkedExtract(model);
  for await (const b of dataset.batches({
    batchSize: o.batchSize,
    ...pass,
    ...(o.subset ? { subset: o.subset } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    ...(o.onSkip ? { onSkip: o.onSkip } : {}),
  })) {
    const n = b.indices.length;
    if (n === 0) continue;
    const shape = model.extractor.input.layout === 'flat' ? [n, b.data.length / n] : b.shape;
    const inputs = { data: b.data, shape };
    const out = await extract(inputs);
    const batch = { features: out.features, logits: out.logits, labels: labels ? Int32Array.from(b.indices, (i) => labels[i]!) : b.labels, indices: b.indices, inputs };
    assertFiniteBatch(spec, batch);
    yield batch;
  }
}
