/**
 * @packageDocumentation
 * `@opnp/datasets`: exact parsers for the datasets OOD detection is evaluated on (MNIST-family IDX,
 * CIFAR-10/100 binary, SVHN `.mat`, OpenOOD image lists, ImageNet's val labels, `.npy`), preprocessing that
 * follows the model's input, seeded subsets and splits, and in-memory datasets.
 *
 * This entry runs everywhere (browsers, workers, Deno, Node): it works on bytes (`Uint8Array`) and decoded
 * pixels, decompresses gzip / zlib with fflate, and imports nothing from Node. File access (`openDataset`,
 * `loadIdx`, `writeNpy`, image folders decoded with sharp, ...) is in `@opnp/datasets/node`, which also
 * re-exports everything here.
 */
export type { Dataset, DatasetBatch, DatasetFormat, BatchOptions, ProgressEvent, SkipEvent } from './types.js';
// preprocessing
export {
  IMAGENET_MEAN,
  IMAGENET_STD,
  preprocessOptionsFor,
  resolvePreprocess,
  resizedSize,
  centerCropOffset,
  type PreprocessOptions,
  type PreprocessOptionNames,
  type PreprocessPlan,
  type BatchLayout,
  type ResizeKernel,
  RESIZE_KERNELS,
} from './preprocess.js';
export { pillowResize, type PillowFilter } from './pillow-resize.js';
// subsets, views, summaries, spec strings
export { subsetIndices, splitIndices, subsetSize, type SubsetOptions } from './subset.js';
export { selectSamples } from './dataset.js';
export { datasetInfo, type DatasetInfo, type DatasetInfoOptions } from './info.js';
export { parseDatasetSpec, DATASET_FORMATS, type OpenDatasetOptions, type DatasetSpec } from './spec.js';
// IDX
export { fromIdx, parseIdxHeader, idxLabels, type IdxArray, type IdxData, type IdxDtype, type IdxHeader, type IdxParseOptions } from './formats/idx.js';
export { idxDataset, type IdxDatasetOptions } from './formats/idx-memory.js';
// CIFAR
export { fromCifar, cifarClasses, cifarRecordBytes, type CifarArray, type CifarVariant, type CifarLabelKind, type CifarParseOptions } from './formats/cifar.js';
// MAT / SVHN
export { fromMat, type MatVariable, type MatClass, type MatParseOptions } from './formats/mat.js';
// image lists and folders
export { IMAGE_EXTENSIONS } from './formats/image-names.js';
export { parseValSolution } from './formats/imagenet-val-solution.js';
export { parseImageList, type ImageListEntry } from './formats/image-list.js';
// npy
export { readNpy, encodeNpy, npyToMatrix, parseNpyHeader, isNpy, type NpyArray, type NpyDtype, type NpyHeader, type NpyParseOptions } from './formats/npy.js';
