/**
 * @packageDocumentation
 * `@opnp/datasets`: exact, streaming loaders for the datasets OOD detection is evaluated on (MNIST-family IDX,
 * CIFAR-10/100 binary, SVHN `.mat`, image folders, ImageNet, OpenOOD image lists, `.npy`), preprocessing that
 * follows the model's input, seeded subsets and splits, and `.npy` feature files.
 *
 * Buffer parsers (`fromIdx`, `fromCifar`, `fromMat`, `readNpy`, `encodeNpy`, `parseImageList`,
 * `parseValSolution`) do no file access; `load*` / `open*` / `write*` functions use Node's file system.
 */
export type { Dataset, DatasetBatch, DatasetFormat, BatchOptions, ProgressEvent, SkipEvent } from './types.js';
export {
  IMAGENET_MEAN,
  IMAGENET_STD,
  preprocessOptionsFor,
  resolvePreprocess,
  resizedSize,
  centerCropOffset,
  type PreprocessOptions,
  type PreprocessPlan,
  type BatchLayout,
  type ResizeKernel,
  RESIZE_KERNELS,
} from './preprocess.js';
export { pillowResize, type PillowFilter } from './pillow-resize.js';
export { subsetIndices, splitIndices, subsetSize, type SubsetOptions } from './subset.js';
export { selectSamples } from './dataset.js';
export { openDataset, detectFormat, parseDatasetSpec, DATASET_FORMATS, type OpenDatasetOptions, type DatasetSpec } from './open.js';
export { datasetInfo, type DatasetInfo, type DatasetInfoOptions } from './info.js';
// IDX
export { fromIdx, parseIdxHeader, idxLabels, type IdxArray, type IdxData, type IdxDtype, type IdxHeader, type IdxParseOptions } from './formats/idx.js';
export { openIdx, loadIdx, idxLabelsCandidates, type IdxOptions } from './formats/idx-dataset.js';
// CIFAR
export { fromCifar, cifarClasses, cifarRecordBytes, type CifarArray, type CifarVariant, type CifarLabelKind, type CifarParseOptions } from './formats/cifar.js';
export { openCifar, type CifarOptions } from './formats/cifar-dataset.js';
// MAT / SVHN
export { fromMat, type MatVariable, type MatClass, type MatParseOptions } from './formats/mat.js';
export { openSvhn, type SvhnOptions } from './formats/svhn-dataset.js';
// image files
export { openImageFolder, IMAGE_EXTENSIONS, type ImageFolderOptions, type ImageFilesOptions } from './formats/image-files.js';
export { openImageNet, parseValSolution, type ImageNetOptions } from './formats/imagenet-dataset.js';
export { openImageList, parseImageList, type ImageListOptions, type ImageListEntry } from './formats/imglist-dataset.js';
// npy
export { readNpy, encodeNpy, npyToMatrix, parseNpyHeader, isNpy, type NpyArray, type NpyDtype, type NpyHeader, type NpyParseOptions } from './formats/npy.js';
export { loadNpy, writeNpy, openNpyRowWriter, openNpyDataset, type NpyDataset, type NpyRowWriter, type NpyRowWriterOptions } from './formats/npy-file.js';
