/**
 * Reading ONNX models from files: the model bytes and its external-data files next to it (a location may not leave
 * the model's folder). Parsing itself is `@opnp/onnx-common`'s.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { OpnpError, type ModelSource } from '@opnp/core/base';
import { formatError, isOnnxModel, parseOnnxModel as parseOnnxBytes, type ExternalDataReader, type OnnxModel } from '@opnp/onnx-common';

/** Options of {@link parseOnnxModel}. */
export interface ParseOnnxOptions {
  /** File name for messages. */
  file?: string;
  /**
   * Folder that external-data `location`s are relative to (the model's folder). Without it, a model with
   * external data is rejected with `MODEL_FORMAT`.
   */
  baseDir?: string;
}

/** Reads external-data files from `baseDir`, refusing locations outside it. */
function folderReader(baseDir: string, file: string | undefined): ExternalDataReader {
  return async (location, tensorName) => {
    const path = normalize(join(baseDir, location));
    if (isAbsolute(location) || !(path + sep).startsWith(normalize(baseDir) + sep) && path !== normalize(baseDir)) {
      throw formatError(`External data location of tensor "${tensorName}" leaves the model's folder`, file, { actual: location });
    }
    try {
      return await readFile(path);
    } catch (cause) {
      throw formatError(`Cannot read the external data of tensor "${tensorName}"`, file, {
        expected: `a file "${location}" next to the model`,
        actual: (cause as NodeJS.ErrnoException).code ?? String(cause),
        cause,
      });
    }
  };
}

/** The reader of a model loaded from bytes: external data cannot be found. */
function bytesReader(file: string | undefined): ExternalDataReader {
  return (location, tensorName) => {
    throw formatError(`Tensor "${tensorName}" is stored in an external file "${location}"`, file, {
      hint: 'Load the model from its path (not from bytes) so the external data next to it can be found, or pass baseDir',
    });
  };
}

/**
 * Decodes ONNX bytes. Checks the result is a model with a graph, and loads external-data tensors from
 * `options.baseDir`.
 *
 * @throws OpnpError `MODEL_FORMAT` for bytes that are not ONNX, truncated files, or missing external data
 */
export function parseOnnxModel(bytes: Uint8Array, options: ParseOnnxOptions = {}): Promise<OnnxModel> {
  const { file, baseDir } = options;
  const externalData = baseDir === undefined ? bytesReader(file) : folderReader(baseDir, file);
  return parseOnnxBytes(bytes, { ...(file !== undefined ? { file } : {}), externalData });
}

/** Reads a model from a path (external data resolved next to it) or from bytes. */
export async function loadOnnxModel(source: ModelSource | OnnxModel, options: Omit<ParseOnnxOptions, 'file'> = {}): Promise<OnnxModel> {
  if (isOnnxModel(source)) return source;
  if (typeof source === 'string') {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(source);
    } catch (cause) {
      throw new OpnpError('IO_ERROR', 'Cannot read the model file', { file: source, actual: (cause as NodeJS.ErrnoException).code ?? String(cause), cause });
    }
    return parseOnnxModel(bytes, { file: source, baseDir: options.baseDir ?? dirname(source) });
  }
  if (!(source instanceof Uint8Array)) {
    throw new OpnpError('INVALID_ARGUMENT', 'A model source must be a file path or bytes', { expected: 'string | Uint8Array', actual: typeof source });
  }
  return parseOnnxModel(source, options);
}
