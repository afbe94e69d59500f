/**
 * The OPNP paper's benchmark protocols (Chen et al., NeurIPS 2023): for each in-distribution set, the
 * training and test sets and the OOD test sets as dataset specs under a data root laid out as
 * tools/repro/README.md documents, and the normalisation of the paper's models.
 *
 * ```
 * <root>/cifar-10-batches-bin/  cifar-100-binary/  svhn/test_32x32.mat  LSUN_C/  LSUN_resize/  iSUN/
 *        Places365/  dtd/images/<texture>/  imagenet/{train,val}/<wnid>/  iNaturalist/  SUN/  Places/
 * ```
 */
import { join } from 'node:path';
import { OpnpError } from '@opnp/core';
import type { KnnFitSamples, NamedSpec } from './evaluation-types.js';

/** One benchmark protocol. */
export interface Benchmark {
  readonly title: string;
  /** Dataset specs under the data root. */
  readonly train: (root: string) => string;
  readonly test: (root: string) => string;
  /** The paper's OOD test sets, named as its table columns. */
  readonly ood: (root: string) => readonly NamedSpec[];
  /** Normalisation of the paper's models (after x / 255). */
  readonly mean: readonly number[];
  readonly std: readonly number[];
  /** KNN's training rows in the KNN paper (Sun et al., ICML 2022): the whole CIFAR training set, 1% of ImageNet's. */
  readonly knnFitSamples: KnnFitSamples;
}

const folder = (root: string, path: string) => `folder:${join(root, path)}#nolabels`;

const CIFAR_OOD = (root: string): NamedSpec[] => [
  { name: 'SVHN', spec: `svhn:${join(root, 'svhn/test_32x32.mat')}` },
  { name: 'LSUN-C', spec: folder(root, 'LSUN_C') },
  { name: 'LSUN-R', spec: folder(root, 'LSUN_resize') },
  { name: 'iSUN', spec: folder(root, 'iSUN') },
  { name: 'Places365', spec: folder(root, 'Places365') },
  { name: 'Textures', spec: folder(root, 'dtd/images') },
];

const IMAGENET_OOD = (root: string): NamedSpec[] => [
  { name: 'iNaturalist', spec: folder(root, 'iNaturalist') },
  { name: 'SUN', spec: folder(root, 'SUN') },
  { name: 'Places', spec: folder(root, 'Places') },
  { name: 'Textures', spec: folder(root, 'dtd/images') },
];

/** The protocols by name: `cifar10` (paper Table 5), `cifar100` (Table 6), `imagenet` (Tables 1 and 2; ResNet-50 normalisation). */
export const BENCHMARKS: Readonly<Record<'cifar10' | 'cifar100' | 'imagenet', Benchmark>> = Object.freeze({
  cifar10: {
    title: 'CIFAR-10 (ID) vs SVHN, LSUN-C, LSUN-R, iSUN, Places365, Textures',
    train: (root) => `cifar10:${join(root, 'cifar-10-batches-bin')}#train`,
    test: (root) => `cifar10:${join(root, 'cifar-10-batches-bin')}#test`,
    ood: CIFAR_OOD,
    mean: [0.4914, 0.4822, 0.4465],
    std: [0.247, 0.2435, 0.2616],
    knnFitSamples: { fraction: 1 },
  },
  cifar100: {
    title: 'CIFAR-100 (ID) vs SVHN, LSUN-C, LSUN-R, iSUN, Places365, Textures',
    train: (root) => `cifar100:${join(root, 'cifar-100-binary')}#train`,
    test: (root) => `cifar100:${join(root, 'cifar-100-binary')}#test`,
    ood: CIFAR_OOD,
    mean: [0.5071, 0.4865, 0.4409],
    std: [0.2673, 0.2564, 0.2762],
    knnFitSamples: { fraction: 1 },
  },
  imagenet: {
    title: 'ImageNet-1K (ID) vs iNaturalist, SUN, Places, Textures',
    train: (root) => `imagenet:${join(root, 'imagenet')}#train`,
    test: (root) => `imagenet:${join(root, 'imagenet')}#val`,
    ood: IMAGENET_OOD,
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
    knnFitSamples: { fraction: 0.01 },
  },
});

/** Names of {@link BENCHMARKS}. */
export type BenchmarkName = keyof typeof BENCHMARKS;

/**
 * The protocol `name` under `root`.
 *
 * @throws OpnpError `INVALID_ARGUMENT` for an unknown name
 */
export function benchmark(name: string): Benchmark {
  if (!Object.hasOwn(BENCHMARKS, name)) throw new OpnpError('INVALID_ARGUMENT', `Unknown benchmark "${name}"`, { expected: Object.keys(BENCHMARKS).join(', ') });
  return BENCHMARKS[name as BenchmarkName];
}
