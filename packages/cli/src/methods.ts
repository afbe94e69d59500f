/**
 * `--methods` over the built-in method registry of @opnp/pipeline.
 */
import { createMethodRegistry, methodOptionProblem, parseMethodList, type MethodOptionValue } from '@opnp/pipeline';
import { isOpnpError } from '@opnp/core';
import { flagError } from './errors.js';
import { splitList } from './options.js';
import { lowerFirstWord } from './message-case.js';
import { unknownNamesMessage } from './suggest.js';

/** The methods the command line knows. */
export const CLI_METHODS = createMethodRegistry();

/** Parses `--methods a,b,c` (case-insensitive, duplicates dropped); throws on unknown names, with the nearest known ones. */
export function parseMethods(text: string): string[] {
  const unknown = splitList('--methods', text).map((s) => s.toLowerCase()).filter((name) => !CLI_METHODS.has(name));
  if (unknown.length > 0) throw flagError('--methods', unknownNamesMessage('method', [...new Set(unknown)], CLI_METHODS.names()));
  try {
    return parseMethodList(CLI_METHODS, text);
  } catch (error) {
    if (isOpnpError(error)) throw flagError('--methods', lowerFirstWord(error.message));
    throw error;
  }
}

/**
 * Refuses `--method-option` overrides (as {@link parseMethodOptions} of options.ts returns them) of an unknown method
 * or option (naming the nearest ones) and values out of the option's range (naming the range), before any model is loaded.
 */
export function checkMethodOptions(overrides: Readonly<Record<string, Readonly<Record<string, unknown>>>>): void {
  for (const [method, options] of Object.entries(overrides)) {
    if (!CLI_METHODS.has(method)) throw flagError('--method-option', unknownNamesMessage('method', [method], CLI_METHODS.names()));
    const definition = CLI_METHODS.get(method);
    const known = [...Object.keys(definition.defaults), ...Object.keys(definition.optional ?? {})];
    const unknown = Object.keys(options).filter((key) => !known.includes(key));
    if (unknown.length > 0) throw flagError('--method-option', known.length === 0 ? `${method} has no options` : `${method}: ${unknownNamesMessage('option', unknown, known)}`);
    for (const [option, value] of Object.entries(options)) {
      const problem = methodOptionProblem(definition, option, value as MethodOptionValue);
      if (problem !== undefined) throw flagError(`--method-option ${method}.${option}`, problem);
    }
  }
}
