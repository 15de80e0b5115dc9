// The ONNX graphs of loaded models rebuilt from one (ONNX files, and PyTorch models exported to
// ONNX), remembered here with that graph when they are built (onnx/onnxModel.ts), with each
// layer's ONNX value. Models of other formats get the same from their layers when ONNX Runtime
// first runs them (exportLayers.ts, nativePasses.ts).
import type { ModelProto } from '../models/onnx/onnxProto';
import type * as tf from '../tf';

export interface OnnxSource {
  readonly proto: ModelProto;
  /** The model's input size, height × width × channels. */
  readonly hwc: [number, number, number];
  /** Layer name (as the engine lists it) → the ONNX value that layer outputs. */
  readonly layerValues: ReadonlyMap<string, string>;
}

const sources = new WeakMap<tf.LayersModel, OnnxSource>();

export function registerOnnxSource(model: tf.LayersModel, source: OnnxSource): void {
  sources.set(model, source);
}

export function onnxSourceOf(model: tf.LayersModel): OnnxSource | undefined {
  return sources.get(model);
}
