/**
 * sharp (libvips) loaded on first use: IDX, CIFAR, SVHN and `.npy` datasets never need it, and loading it
 * costs a noticeable part of a command's start.
 */
import type sharpModule from 'sharp';

let loaded: Promise<typeof sharpModule> | undefined;

/** The sharp module's default export, imported once. */
export function loadSharp(): Promise<typeof sharpModule> {
  loaded ??= import('sharp').then((m) => m.default);
  return loaded;
}
