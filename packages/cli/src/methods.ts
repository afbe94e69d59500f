/**
 * `--methods` over the built-in method registry of @opnp/pipeline.
 */
import { createMethodRegistry, parseMethodList } from '@opnp/pipeline';
import { isOpnpError } from '@opnp/core';
import { flagError } from './errors.js';

/** The methods the command line knows. */
export const CLI_METHODS = createMethodRegistry();

/** Parses `--methods a,b,c` (case-insensitive, duplicates dropped); throws on unknown names. */
export function parseMethods(text: string): string[] {
  try {
    return parseMethodList(CLI_METHODS, text);
  } catch (error) {
    if (isOpnpError(error)) throw flagError('--methods', error.message.replace(/^Expected/, 'expected'));
    throw error;
  }
}
