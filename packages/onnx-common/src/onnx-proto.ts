/**
 * The generated ONNX protobuf module (`onnx-proto`) where there is no Node: imported as an ES module. Code of this
 * package reads it through `#onnx-proto` (package.json `imports`), which Node resolves to `node/onnx-proto.ts`
 * instead (loaded there at the first call).
 */
import onnxProto from 'onnx-proto';

/** The `onnx-proto` module. */
export default function loadOnnxProto(): typeof onnxProto {
  return onnxProto;
}
