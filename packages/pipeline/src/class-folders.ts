/**
 * The class count of a dataset whose labels are positions in a list of folder names (an image folder
 * `root/<class>/*`, ImageNet's class folders) against the model's: such labels are only right when every
 * class of the model has its folder. With one folder missing, every later class is off by one and accuracy and
 * the class-conditional fits are silently wrong.
 */
import { OpnpError } from '@opnp/core/base';
import type { Dataset } from '@opnp/datasets/node';

/** Formats whose labels are positions in the sorted list of class folder names. */
const FOLDER_LABELLED = new Set(['folder', 'imagenet']);

/** At most this many class names are listed in a message. */
const LISTED_NAMES = 12;

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, LISTED_NAMES).join(', ');
  return names.length > LISTED_NAMES ? `${shown}, ... (${names.length - LISTED_NAMES} more)` : shown;
}

/**
 * Throws unless a folder-labelled dataset has as many classes as the model (`modelClasses`, C of the head).
 * Datasets of other formats (their labels are stored numbers) and unlabelled folders pass.
 *
 * @param labelsOption how the caller's user passes a labels file for this set instead (e.g. `--test-labels`)
 * @throws OpnpError `SHAPE_MISMATCH` naming the folder, the classes found and the model's class count
 */
export function assertFolderClasses(dataset: Dataset, modelClasses: number, labelsOption: string): void {
  if (!FOLDER_LABELLED.has(dataset.format) || dataset.classes === undefined || dataset.classes === modelClasses) return;
  const names = dataset.classNames ?? [];
  const found = names.length > 0 ? ` (${listNames(names)})` : '';
  throw new OpnpError('SHAPE_MISMATCH', `The image folder ${dataset.source} has ${dataset.classes} class folders${found} but the model has ${modelClasses} classes: labels are positions in the sorted folder names, so with a class folder missing or extra the labels would not be the model's classes`, {
    hint: `Give every class of the model its folder (in the model's class order when sorted), or pass ${labelsOption} <file> with the labels`,
  });
}
