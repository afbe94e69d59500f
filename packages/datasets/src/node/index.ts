/**
 * @packageDocumentation
 * `@opnp/datasets/node`: the Node loaders of `@opnp/datasets`: datasets opened from paths and spec strings
 * (`openDataset`), streaming from disk (IDX raw and `.gz`, CIFAR, SVHN `.mat`, `.npy`), image folders,
 * ImageNet and OpenOOD lists decoded with sharp, `.npy` files written atomically.
 *
 * It re-exports the whole browser-safe entry, so Node code needs this one import. `fromIdx` and `fromMat`
 * here decompress with node:zlib (two to three times faster on large files than the browser entry's fflate,
 * bit-identical results); every other re-export is the browser entry's own function.
 */
// --- the browser-safe entry, re-exported ---
export type { Dataset, DatasetBatch, DatasetFormat, BatchOptions, ProgressEvent, SkipEvent } from '../types.js';
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
} from '../preprocess.js';
export { pillowResize, type PillowFilter } from '../pillow-resize.js';
export { subsetIndices, splitIndices, subsetSize, type SubsetOptions } from '../subset.js';
export { selectSamples } from '../dataset.js';
export { datasetInfo, type DatasetInfo, type DatasetInfoOptions } from '../info.js';
export { parseDatasetSpec, DATASET_FORMATS, type OpenDatasetOptions, type DatasetSpec } from '../spec.js';
export { parseIdxHeader, idxLabels, type IdxArray, type IdxData, type IdxDtype, type IdxHeader, type IdxParseOptions } from '../formats/idx.js';
export { idxDataset, type IdxDatasetOptions } from '../formats/idx-memory.js';
export { fromCifar, cifarClasses, cifarRecordBytes, type CifarArray, type CifarVariant, type CifarLabelKind, type CifarParseOptions } from '../formats/cifar.js';
export { type MatVariable, type MatClass, type MatParseOptions } from '../formats/mat.js';
export { IMAGE_EXTENSIONS } from '../formats/image-names.js';
export { parseValSolution } from '../formats/imagenet-val-solution.js';
export { parseImageList, type ImageListEntry } from '../formats/image-list.js';
export { readNpy, encodeNpy, npyToMatrix, parseNpyHeader, isNpy, type NpyArray, type NpyDtype, type NpyHeader, type NpyParseOptions } from '../formats/npy.js';
// --- Node only ---
// buffer parsers on node:zlib (same results as the browser entry's)
export { fromIdx, fromMat } from './parsers.js';
// spec strings and format detection
export { openDataset, detectFormat } from './open.js';
// IDX
export { openIdx, loadIdx, idxLabelsCandidates, type IdxOptions } from './formats/idx-dataset.js';
// CIFAR
export { openCifar, type CifarOptions } from './formats/cifar-dataset.js';
// SVHN
export { openSvhn, type SvhnOptions } from './formats/svhn-dataset.js';
// image files
export { openImageFolder, type ImageFolderOptions, type ImageFilesOptions } from './formats/image-files.js';
export { closeImageWorkers, defaultImageWorkers } from './image-pool.js';
export { openImageNet, type ImageNetOptions } from './formats/imagenet-dataset.js';
export { openImageList, type ImageListOptions } from './formats/imglist-dataset.js';
// npy
export { loadNpy, writeNpy, openNpyRowWriter, openNpyDataset, type NpyDataset, type NpyRowWriter, type NpyRowWriterOptions } from './formats/npy-file.js';
