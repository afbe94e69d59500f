/**
 * The paper's four settings (Chen et al., NeurIPS 2023): datasets under a data root laid out as in
 * README.md, normalisation, and the recipe naming the paper table printed beside ours.
 */
import { BENCHMARKS } from '@opnp/pipeline';
import type { Setting } from './lib.js';

// The data layout, OOD sets and normalisations are the pipeline's benchmark protocols (`opnp eval --benchmark`).
const { cifar10, cifar100, imagenet } = BENCHMARKS;

export const CIFAR10: Setting = { ...cifar10, recipe: 'cifar10' };

export const CIFAR100: Setting = { ...cifar100, recipe: 'cifar100' };

export const IMAGENET_RESNET50: Setting = { ...imagenet, title: 'ImageNet-1K (ID), ResNet-50, vs iNaturalist, SUN, Places, Textures', recipe: 'imagenet-resnet50' };

export const IMAGENET_VIT_B16: Setting = {
  ...imagenet,
  title: 'ImageNet-1K (ID), ViT-B/16, vs iNaturalist, SUN, Places, Textures',
  // timm vit_base_patch16_224 (augreg): mean = std = 0.5, bicubic resize to floor(224 / 0.9) = 248, centre crop 224.
  // For other checkpoints pass --mean/--std/--resize/--resize-kernel after --.
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
  resize: { shorterSide: 248, kernel: 'pil-bicubic' },
  recipe: 'imagenet-vit-b16',
};
