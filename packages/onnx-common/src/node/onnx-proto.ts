/**
 * The generated ONNX protobuf module (`onnx-proto`) in Node, loaded with `require` at the first call: it is
 * CommonJS, and an ES `import` of it makes Node scan its 330 kB of source for export names first
 * (cjs-module-lexer). Only encoding needs it (models are decoded by `onnx-decode.ts`), so commands that only read
 * models never load it.
 */
import { createRequire } from 'node:module';
import type onnxProtoModule from 'onnx-proto';

let loaded: typeof onnxProtoModule | undefined;

/** The `onnx-proto` module (`module.exports`), required at the first call. */
export default function loadOnnxProto(): typeof onnxProtoModule {
  return (loaded ??= createRequire(import.meta.url)('onnx-proto') as typeof onnxProtoModule);
}
