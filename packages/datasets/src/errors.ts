/**
 * Typed errors of the dataset loaders: thin constructors around {@link OpnpError} so every parser
 * names the file and the byte offset (binary formats) or entry index (lists, folders) of a problem.
 */
import { OpnpError } from '@opnp/core';
import type { OpnpErrorDetails } from '@opnp/core';

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

/** Wraps a Node file-system error: ENOENT/ENOTDIR become `'DATASET_NOT_FOUND'`, others `'IO_ERROR'`. */
export function fileSystemError(error: unknown, file: string): OpnpError {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return notFoundError('Dataset file or folder not found', { file, cause: error });
  }
  return new OpnpError('IO_ERROR', `Cannot read dataset file (${String(code ?? (error as Error)?.message ?? error)})`, { file, cause: error });
}
