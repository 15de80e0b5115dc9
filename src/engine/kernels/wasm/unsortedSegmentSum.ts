// UnsortedSegmentSum for the wasm backend: out[s, ...] = Σ_{i : ids[i] = s} x[i, ...]. It is the
// gradient of gather (tf.gather's backward pass scatters dy back to the gathered rows).
//
// Strategy: a scatter-add loop in JavaScript over views of the wasm heap, written straight into the
// output buffer. No wasm forward op does a scatter-add cheaply (the cpu kernel builds one mask per
// segment, O(segments × size)); this loop is O(size), exact, and needs no copy to another backend.
// Rows whose id is outside [0, numSegments) are dropped, as in the cpu kernel (and TensorFlow for
// negative ids). segmentIds of rank r segment the first r axes of x (TensorFlow's definition); tfjs
// itself only passes rank 1.
import * as tf from '../../tf';
import { WASM, type WasmBackend, requireInputs, sizeOf } from './wasmOps';

const unsortedSegmentSum: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, segmentIds } = requireInputs(tf.UnsortedSegmentSum, inputs, ['x', 'segmentIds']);
  const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
  const wasm = backend as WasmBackend;
  const idRank = segmentIds.shape.length;
  if (!Number.isInteger(numSegments) || numSegments < 0) {
    throw new Error(`src/engine/kernels/wasm UnsortedSegmentSum: numSegments must be a whole number ≥ 0, got ${numSegments}.`);
  }
  if (idRank > x.shape.length || segmentIds.shape.some((d, i) => d !== x.shape[i])) {
    throw new Error(`src/engine/kernels/wasm UnsortedSegmentSum: segmentIds [${segmentIds.shape}] must match the leading axes of x [${x.shape}].`);
  }
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`src/engine/kernels/wasm UnsortedSegmentSum: x must be float32 or int32, got ${x.dtype}.`);
  }
  if (segmentIds.dtype !== 'int32') {
    throw new Error(`src/engine/kernels/wasm UnsortedSegmentSum: segmentIds must be int32, got ${segmentIds.dtype}.`);
  }
  const innerShape = x.shape.slice(idRank);
  const inner = sizeOf(innerShape);
  const rows = sizeOf(segmentIds.shape);

  // Allocate first: a heap allocation may grow wasm memory, which detaches older typed-array views.
  const out = wasm.makeOutput([numSegments, ...innerShape], x.dtype);
  const outValues = wasm.typedArrayFromHeap(out);
  const xValues = wasm.typedArrayFromHeap(x);
  const ids = wasm.typedArrayFromHeap(segmentIds);
  // Accumulate in float64 so the result does not depend on the order rows arrive in.
  const sums = new Float64Array(outValues.length);
  for (let row = 0; row < rows; row++) {
    const segment = ids[row];
    if (segment < 0 || segment >= numSegments) {
      continue;
    }
    const from = row * inner;
    const to = segment * inner;
    for (let j = 0; j < inner; j++) {
      sums[to + j] += xValues[from + j];
    }
  }
  outValues.set(sums);
  return out;
};

export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: WASM,
  kernelFunc: unsortedSegmentSum,
};
