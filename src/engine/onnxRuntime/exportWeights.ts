// Weights written into exported ONNX graphs (exportLayers.ts, exportGraphNodes.ts): TensorFlow's
// kernel layouts rearranged into ONNX's in plain arrays (no tfjs ops), stored as raw initializers.
import type { TensorProto } from '../models/onnx/onnxProto';
import { ONNX_DTYPE } from '../models/onnx/onnxProto';
import type { GraphBuilder } from './protoGraph';

/** A float initializer stored as raw little-endian bytes (compact to encode, as exporters write weights). */
export function weightInit(b: GraphBuilder, values: Float32Array, dims: number[]): string {
  const name = b.fresh('weight');
  const copy = new Float32Array(values);
  const tensor: TensorProto = {
    name,
    dims,
    dataType: ONNX_DTYPE.FLOAT,
    rawData: new Uint8Array(copy.buffer),
    floatData: [],
    int32Data: [],
    int64Data: [],
    doubleData: [],
    externalData: [],
  };
  b.initializers.push(tensor);
  return name;
}

/** A Conv2D kernel [kh, kw, in, out] as ONNX's [out, in, kh, kw]. */
export function convKernel(kernel: Float32Array, [kh, kw, cin, cout]: number[]): Float32Array {
  const out = new Float32Array(kernel.length);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < cin; i++) {
        const from = ((y * kw + x) * cin + i) * cout;
        for (let o = 0; o < cout; o++) out[((o * cin + i) * kh + y) * kw + x] = kernel[from + o];
      }
    }
  }
  return out;
}

/**
 * A depthwise kernel [kh, kw, C, M] as a grouped Conv's [C·M, 1, kh, kw] (output channel c·M + m,
 * as TensorFlow orders it): its values in memory are a Conv2D kernel [kh, kw, 1, C·M].
 */
export function depthwiseKernel(kernel: Float32Array, [kh, kw, channels, multiplier]: number[]): Float32Array {
  return convKernel(kernel, [kh, kw, 1, channels * multiplier]);
}

/** A Dense kernel [in, out] as a 1×1 Conv's [out, in, 1, 1]. */
export function denseAsConvKernel(kernel: Float32Array, cin: number, cout: number): Float32Array {
  const out = new Float32Array(kernel.length);
  for (let i = 0; i < cin; i++) {
    for (let o = 0; o < cout; o++) out[o * cin + i] = kernel[i * cout + o];
  }
  return out;
}
