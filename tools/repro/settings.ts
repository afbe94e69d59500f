/**
 * The paper's four settings (Chen et al., NeurIPS 2023): datasets under a data root laid out as in
 * README.md, normalisation, and the recipe naming the paper table printed beside ours.
 */
import type { Setting } from './lib.js';

const CIFAR_OOD = (root: string) => [
  { name: 'SVHN', spec: `svhn:${root}/svhn/test_32x32.mat` },
  { name: 'LSUN-C', spec: `folder:${root}/LSUN_C#nolabels` },
  { name: 'LSUN-R', spec: `folder:${root}/LSUN_resize#nolabels` },
  { name: 'iSUN', spec: `folder:${root}/iSUN#nolabels` },
  { name: 'Places365', spec: `folder:${root}/Places365#nolabels` },
  { name: 'Textures', spec: `folder:${root}/dtd/images#nolabels` },
];

const IMAGENET_OOD = (root: string) => [
  { name: 'iNaturalist', spec: `folder:${root}/iNaturalist#nolabels` },
  { name: 'SUN', spec: `folder:${root}/SUN#nolabels` },
  { name: 'Places', spec: `folder:${root}/Places#nolabels` },
  { name: 'Textures', spec: `folder:${root}/dtd/images#nolabels` },
];

const IMAGENET_NORM = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

export const CIFAR10: Setting = {
  title: 'CIFAR-10 (ID) vs SVHN, LSUN-C, LSUN-R, iSUN, Places365, Textures',
  train: (root) => `cifar10:${root}/cifar-10-batches-bin#train`,
  test: (root) => `cifar10:${root}/cifar-10-batches-bin#test`,
  ood: CIFAR_OOD,
  mean: [0.4914, 0.4822, 0.4465],
  std: [0.247, 0.2435, 0.2616],
  recipe: 'cifar10',
};

export const CIFAR100: Setting = {
  title: 'CIFAR-100 (ID) vs SVHN, LSUN-C, LSUN-R, iSUN, Places365, Textures',
  train: (root) => `cifar100:${root}/cifar-100-binary#train`,
  test: (root) => `cifar100:${root}/cifar-100-binary#test`,
  ood: CIFAR_OOD,
  mean: [0.5071, 0.4865, 0.4409],
  std: [0.2673, 0.2564, 0.2762],
  recipe: 'cifar100',
};

export const IMAGENET_RESNET50: Setting = {
  title: 'ImageNet-1K (ID), ResNet-50, vs iNaturalist, SUN, Places, Textures',
  train: (root) => `imagenet:${root}/imagenet#train`,
  test: (root) => `imagenet:${root}/imagenet#val`,
  ood: IMAGENET_OOD,
  ...IMAGENET_NORM,
  recipe: 'imagenet-resnet50',
};

export const IMAGENET_VIT_B16: Setting = {
  title: 'ImageNet-1K (ID), ViT-B/16, vs iNaturalist, SUN, Places, Textures',
  train: (root) => `imagenet:${root}/imagenet#train`,
  test: (root) => `imagenet:${root}/imagenet#val`,
  ood: IMAGENET_OOD,
  // timm vit_base_patch16_224 (augreg): mean = std = 0.5, bicubic resize to floor(224 / 0.9) = 248, centre crop 224.
  // For other checkpoints pass --mean/--std/--resize/--resize-kernel after --.
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
  resize: { shorterSide: 248, kernel: 'pil-bicubic' },
  recipe: 'imagenet-vit-b16',
};
