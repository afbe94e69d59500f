/**
 * `--methods` over the built-in method registry of @opnp/pipeline.
 */
import { createMethodRegistry, parseMethodList } from '@opnp/pipeline';
import { isOpnpError } from '@opnp/core';
import { flagError } from './errors.js';
import { unknownNamesMessage } from './suggest.js';

/** The methods the command line knows. */
export const CLI_METHODS = createMethodRegistry();

/** Parses `--methods a,b,c` (case-insensitive, duplicates dropped); throws on unknown names, with the nearest known ones. */
export function parseMethods(text: string): string[] {
  const unknown = text.split(',').map((s) => s.trim().toLowerCase()).filter((name) => name !== '' && !CLI_METHODS.has(name));
  if (unknown.length > 0) throw flagError('--methods', unknownNamesMessage('method', [...new Set(unknown)], CLI_METHODS.names()));
  try {
    return parseMethodList(CLI_METHODS, text);
  } catch (error) {
    if (isOpnpError(error)) throw flagError('--methods', error.message.replace(/^Expected/, 'expected'));
    throw error;
  }
}
