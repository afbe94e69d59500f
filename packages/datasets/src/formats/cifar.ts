/**
 * CIFAR-10 / CIFAR-100 binary format (pure parser, no file access). Each record is the label byte(s)
 * followed by 3072 pixel bytes: the 1024 red, then green, then blue values of a 32 x 32 image, rows first.
 * CIFAR-10: `<label><pixels>` (3073 bytes). CIFAR-100: `<coarse label><fine label><pixels>` (3074 bytes).
 */
import { argumentError, formatError } from '../errors.js';

/** Which CIFAR variant. */
export type CifarVariant = 'cifar10' | 'cifar100';

/** Which CIFAR-100 label to use: `'fine'` (100 classes, default) or `'coarse'` (20 superclasses). */
export type CifarLabelKind = 'fine' | 'coarse';

/** Bytes of the image part of a record. */
export const CIFAR_IMAGE_BYTES = 3072;

/** Options of {@link fromCifar}. */
export interface CifarParseOptions {
  /** Default: inferred from the byte length when only one record size divides it. */
  variant?: CifarVariant;
  /** CIFAR-100 label kind (default `'fine'`). */
  labels?: CifarLabelKind;
  /** File name used in error messages. */
  file?: string;
}

/** Parsed CIFAR records: `images [N, 3, 32, 32]` uint8 (channel-planar, as stored) and `labels [N]`. */
export interface CifarArray {
  readonly variant: CifarVariant;
  readonly count: number;
  readonly images: Uint8Array;
  readonly labels: Int32Array;
  readonly classes: number;
}

/** Record length of a variant: 3073 (CIFAR-10) or 3074 (CIFAR-100). */
export function cifarRecordBytes(variant: CifarVariant): number {
  return variant === 'cifar10' ? 3073 : 3074;
}

/** Number of classes of a variant and label kind (10, 100 or 20). */
export function cifarClasses(variant: CifarVariant, labels: CifarLabelKind = 'fine'): number {
  if (variant === 'cifar10') return 10;
  return labels === 'coarse' ? 20 : 100;
}

/** The variants whose record size divides `byteLength` (non-empty files only). */
export function cifarVariantsFor(byteLength: number): CifarVariant[] {
  if (byteLength === 0) return [];
  return (['cifar10', 'cifar100'] as const).filter((v) => byteLength % cifarRecordBytes(v) === 0);
}

/** Resolves the variant of a file of `byteLength` bytes, or throws `'DATASET_FORMAT'`. */
export function resolveCifarVariant(byteLength: number, variant: CifarVariant | undefined, file?: string): CifarVariant {
  if (variant !== undefined) {
    if (variant !== 'cifar10' && variant !== 'cifar100') throw argumentError('CIFAR variant must be "cifar10" or "cifar100"', { actual: variant });
    const record = cifarRecordBytes(variant);
    if (byteLength % record !== 0 || byteLength === 0) {
      throw formatError(`${variant} file size is not a whole number of ${record}-byte records (truncated?)`, { file, offset: byteLength - (byteLength % record), expected: `a multiple of ${record}`, actual: byteLength });
    }
    return variant;
  }
  const candidates = cifarVariantsFor(byteLength);
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length === 0) throw formatError('File size fits neither CIFAR-10 (3073-byte) nor CIFAR-100 (3074-byte) records', { file, actual: byteLength });
  throw formatError('File size fits both CIFAR-10 and CIFAR-100 records', { file, actual: byteLength, hint: 'Use the cifar10: or cifar100: prefix' });
}

/** Label of one record, validated against the class count. */
export function cifarRecordLabel(record: Uint8Array, variant: CifarVariant, kind: CifarLabelKind, file: string | undefined, offset: number): number {
  const label = variant === 'cifar10' ? record[0]! : kind === 'coarse' ? record[0]! : record[1]!;
  const classes = cifarClasses(variant, kind);
  if (label >= classes) throw formatError(`CIFAR label out of range`, { file, offset: offset + (variant === 'cifar100' && kind === 'fine' ? 1 : 0), expected: `0..${classes - 1}`, actual: label });
  return label;
}

/**
 * Parses CIFAR binary records from bytes.
 *
 * @throws OpnpError `'DATASET_FORMAT'` when the length is not a whole number of records or a label is out of range.
 */
export function fromCifar(bytes: Uint8Array, options: CifarParseOptions = {}): CifarArray {
  const variant = resolveCifarVariant(bytes.length, options.variant, options.file);
  const kind = options.labels ?? 'fine';
  const record = cifarRecordBytes(variant);
  const skip = record - CIFAR_IMAGE_BYTES;
  const count = bytes.length / record;
  const images = new Uint8Array(count * CIFAR_IMAGE_BYTES);
  const labels = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    const at = n * record;
    labels[n] = cifarRecordLabel(bytes.subarray(at, at + skip), variant, kind, options.file, at);
    images.set(bytes.subarray(at + skip, at + record), n * CIFAR_IMAGE_BYTES);
  }
  return { variant, count, images, labels, classes: cifarClasses(variant, kind) };
}
