/**
 * `loadModel` on a path that is not a model file: a folder is named as a folder, with the file it should be
 * (and the model files it holds); a missing path stays "not found".
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isOpnpError } from '@opnp/core';
import { loadModel } from '../src/index.js';
import { MODEL, tempDir } from './helpers.js';

async function loadError(path: string) {
  const error = await loadModel(path).then(() => undefined, (e: unknown) => e);
  if (!isOpnpError(error)) throw new Error(`expected an OpnpError, got ${String(error)}`);
  return error;
}

describe('loadModel of a path that is not a model file', () => {
  it('says a folder is a folder, what file is expected, and names the model files in it', async () => {
    const dir = tempDir();
    copyFileSync(MODEL, join(dir, 'mnist-cnn.onnx'));
    writeFileSync(join(dir, 'notes.txt'), 'not a model');
    const error = await loadError(dir);
    expect(error.code).toBe('IO_ERROR');
    expect(error.message).toMatch(/^The model path is a directory, not a model file/);
    expect(error.message).not.toMatch(/not found/);
    expect(error.file).toBe(dir);
    expect(error.expected).toBe('an ONNX model file (.onnx) or a TensorFlow.js model.json');
    expect(error.hint).toBe(`Pass the path of the model file itself, e.g. ${join(dir, 'mnist-cnn.onnx')}`);
  });

  it('says so for a folder without model files too, and a missing path is still not found', async () => {
    const empty = join(tempDir(), 'models');
    mkdirSync(empty);
    const error = await loadError(empty);
    expect(error.message).toMatch(/is a directory, not a model file/);
    expect(error.hint).toMatch(/holds no \.onnx file or model\.json/);
    const missing = await loadError(join(empty, 'model.onnx'));
    expect(missing.message).toMatch(/^Model file not found/);
  });
});
