/**
 * Names of image files: the extensions the image-folder loaders accept and the order they list files in.
 */

/** Default image extensions (lower case). */
export const IMAGE_EXTENSIONS: readonly string[] = Object.freeze(['.jpg', '.jpeg', '.png', '.webp']);

/** Code-unit string order (Python's `sorted` for BMP names). */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
