/**
 * ImageNet's `LOC_val_solution.csv` (Kaggle's ILSVRC layout), which labels the flat validation folder
 * (pure parser, no file access).
 */
import { formatError } from '../errors.js';

/** A WordNet id as ImageNet names its classes (`n01440764`). */
export const WNID = /^n\d{8}$/;

/**
 * Parses `LOC_val_solution.csv` (`ImageId,PredictionString` with the WordNet id as the first token of the
 * prediction string) into image id -> wnid.
 *
 * @throws OpnpError `'DATASET_FORMAT'` naming the line of a malformed row.
 */
export function parseValSolution(text: string, file?: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '' || (i === 0 && line.startsWith('ImageId'))) continue;
    const comma = line.indexOf(',');
    const id = comma < 0 ? '' : line.slice(0, comma).trim();
    const wnid = comma < 0 ? undefined : line.slice(comma + 1).trim().split(/\s+/)[0];
    if (!id || !wnid || !WNID.test(wnid)) throw formatError('Malformed LOC_val_solution.csv row', { file, offset: i + 1, expected: 'ImageId,<wnid> x y x y ...', actual: line.slice(0, 80) });
    out.set(id, wnid);
  }
  return out;
}
