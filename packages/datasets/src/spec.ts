/**
 * One spec string per dataset: `[format:]path[#option,option=value,...]` (pure parsing; opening the path is
 * `openDataset` of `@opnp/datasets/node`).
 */
import type { DatasetFormat } from './types.js';
import type { CifarLabelKind } from './formats/cifar.js';
import { argumentError } from './errors.js';

/** Every format name, in spec-prefix spelling. */
export const DATASET_FORMATS: readonly DatasetFormat[] = Object.freeze(['idx', 'cifar10', 'cifar100', 'svhn', 'folder', 'imagenet', 'imglist', 'npy']);

/**
 * Options of `openDataset` (`@opnp/datasets/node`); each applies to the formats that have it. Spec-string options
 * (`#test,coarse,labels=...`) are applied first, these override them.
 */
export interface OpenDatasetOptions {
  /** Force a format (same as a spec prefix). */
  format?: DatasetFormat;
  /** `'train'` / `'test'` (IDX and CIFAR folders, default `'test'`), `'train'` / `'val'` (ImageNet, default `'val'`). */
  split?: string;
  /** Labels file: IDX labels file (or `false`), ImageNet `LOC_val_solution.csv`, SVHN labels variable name. */
  labels?: string | false;
  /** CIFAR-100 label kind (default `'fine'`). */
  cifarLabels?: CifarLabelKind;
  /** Root folder of an OpenOOD image list. */
  root?: string;
  /** Image folders / lists: fail on an unreadable image instead of skipping it (spec option `strict`). */
  strict?: boolean;
  /**
   * Image lists: accept entries that resolve outside the root folder (absolute paths, `../`); default false,
   * such an entry is an error naming the list file, line and entry (spec option `allow-outside-root`).
   */
  allowOutsideRoot?: boolean;
  /** Called for recoverable problems found while opening (e.g. image-list entries outside the root when allowed). */
  onWarning?: (message: string) => void;
}

/** A parsed spec string. */
export interface DatasetSpec {
  readonly format: DatasetFormat | undefined;
  readonly path: string;
  readonly options: OpenDatasetOptions;
}

/** The spec options {@link parseDatasetSpec} accepts, for messages. */
const SPEC_OPTIONS = 'train|test|val|fine|coarse|strict|nolabels|allow-outside-root|labels=<path>|root=<path>|split=<name>';

/** A spec prefix that names a format (letters, digits, `-`, `_`; two or more characters: `C:` is a drive). */
const PREFIX = /^[a-z][a-z0-9_-]+$/i;

/** Applies one `#` option to `options` (or throws `'INVALID_ARGUMENT'` naming it). */
function applySpecOption(options: OpenDatasetOptions, part: string, spec: string): void {
  const eq = part.indexOf('=');
  const key = eq < 0 ? part : part.slice(0, eq);
  const value = eq < 0 ? '' : part.slice(eq + 1);
  if (eq < 0 && (key === 'train' || key === 'test' || key === 'val')) options.split = key;
  else if (eq < 0 && (key === 'fine' || key === 'coarse')) options.cifarLabels = key;
  else if (eq < 0 && key === 'strict') options.strict = true;
  else if (eq < 0 && key === 'allow-outside-root') options.allowOutsideRoot = true;
  else if (eq < 0 && key === 'nolabels') options.labels = false;
  else if (key === 'labels' && value) options.labels = value;
  else if (key === 'root' && value) options.root = value;
  else if (key === 'split' && value) options.split = value;
  else throw argumentError(`Unknown dataset spec option "${part}"`, { actual: spec, expected: SPEC_OPTIONS });
}

/**
 * Parses `[format:]path[#options]`. Options after `#`, comma-separated: `train`, `test`, `val`
 * (split), `fine`, `coarse` (CIFAR-100 labels), `strict`, `nolabels`, `allow-outside-root`, `labels=<path>`,
 * `root=<path>`, `split=<name>`.
 *
 * A prefix that is not a format name (`noise:abc`, `nyp:x.npy`) is an error listing the formats; a
 * one-letter prefix is a Windows drive, and a path containing `:` can be written `./name:with:colons`.
 *
 * @example
 * ```ts
 * parseDatasetSpec('cifar100:./cifar-100-binary#train,coarse');
 * // { format: 'cifar100', path: './cifar-100-binary', options: { split: 'train', cifarLabels: 'coarse' } }
 * ```
 */
export function parseDatasetSpec(spec: string): DatasetSpec {
  if (typeof spec !== 'string' || spec.trim() === '') throw argumentError('A dataset spec must be a non-empty string', { actual: spec });
  let rest = spec.trim();
  let format: DatasetFormat | undefined;
  const colon = rest.indexOf(':');
  if (colon > 0) {
    const prefix = rest.slice(0, colon).toLowerCase();
    if ((DATASET_FORMATS as readonly string[]).includes(prefix)) {
      format = prefix as DatasetFormat;
      rest = rest.slice(colon + 1);
    } else if (PREFIX.test(prefix)) {
      throw argumentError(`Unknown dataset format prefix "${rest.slice(0, colon)}:"`, {
        actual: spec,
        expected: `one of ${DATASET_FORMATS.map((f) => `${f}:`).join(', ')} (or no prefix: detected from content)`,
        hint: 'A file whose name contains ":" can be given as ./<name>',
      });
    }
  }
  const options: OpenDatasetOptions = {};
  const hash = rest.lastIndexOf('#');
  if (hash >= 0) {
    const fragment = rest.slice(hash + 1);
    rest = rest.slice(0, hash);
    for (const part of fragment.split(',').map((s) => s.trim()).filter((s) => s.length > 0)) applySpecOption(options, part, spec);
  }
  if (rest === '') throw argumentError('The dataset spec has no path', { actual: spec });
  return { format, path: rest, options };
}
