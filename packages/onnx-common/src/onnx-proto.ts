/**
 * The generated ONNX protobuf module (`onnx-proto`) where there is no Node: imported as an ES module. Code of this
 * package imports it as `#onnx-proto` (package.json `imports`), which Node resolves to `node/onnx-proto.ts` instead.
 */
import onnxProto from 'onnx-proto';

export default onnxProto;
