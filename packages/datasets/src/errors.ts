/**
 * Typed errors of the parsers and loaders: thin constructors around {@link OpnpError} so every parser
 * names the file and the byte offset (binary formats) or entry index (lists, folders) of a problem.
 * (The file-system errors of the Node loaders are in `node/fs-errors.ts`.)
 */
import { OpnpError } from '@opnp/core/base';
import type { OpnpErrorDetails } from '@opnp/core/base';

/** A `'DATASET_FORMAT'` error: the bytes are not what the format says they must be. */
export function formatError(summary: string, details: OpnpErrorDetails = {}): OpnpError {
  return new OpnpError('DATASET_FORMAT', summary, details);
}

/** A `'DATASET_NOT_FOUND'` error: a file, folder or companion file is missing. */
export function notFoundError(summary: string, details: OpnpErrorDetails = {}): OpnpError {
  return new OpnpError('DATASET_NOT_FOUND', summary, details);
}

/** An `'INVALID_ARGUMENT'` error for bad options. */
export function argumentError(summary: string, details: OpnpErrorDetails = {}): OpnpError {
  return new OpnpError('INVALID_ARGUMENT', summary, details);
}
