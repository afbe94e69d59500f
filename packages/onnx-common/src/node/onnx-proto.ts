/**
 * The generated ONNX protobuf module (`onnx-proto`) in Node, loaded with `require`: it is CommonJS, and an ES
 * `import` of it makes Node scan its 330 kB of source for export names first (cjs-module-lexer), which took 2 to 3
 * times as long as loading it, about 80 ms of every `opnp` command that opens a model on the benchmark machine.
 * The same module object either way (`module.exports`).
 */
import { createRequire } from 'node:module';
import type onnxProtoModule from 'onnx-proto';

const onnxProto = createRequire(import.meta.url)('onnx-proto') as typeof onnxProtoModule;

export default onnxProto;
