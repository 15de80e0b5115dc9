// Slice for the wasm backend, copying whole contiguous runs. wasm 4.22's kernel first copies the
// entire input out of the heap (readSync), then copies one innermost row (C values) at a time;
// for the gradient of ZeroPadding2D (a slice that crops H and W of dy, MobileNetV2 runs five on
// [8, 113, 113, 96..960] tensors) that was 60 ms per call on wasm.
//
// Here the copy reads the heap directly, and its unit is the longest contiguous run: the trailing
// axes the slice keeps whole merge with the innermost cropped axis (cropping only W of NHWC copies
// W'·C values per row, cropping only H copies whole H'·W·C images). Same values for every rank
// and begin/size form (parseSliceParams, as the stock kernel); dtypes other than float32, int32 and
// bool (strings) go to the stock kernel.
import * as tf from '../../tf';
import { WASM, type WasmBackend, requireInputs, sizeOf, stockKernel } from './wasmOps';

/** Runs shorter than this are copied by a loop; longer ones by TypedArray.set (a memcpy). */
const MIN_SET_RUN = 16;

type Values = Float32Array | Int32Array | Uint8Array;

/**
 * Copies the slice of `x` (shape `shape`) starting at `begin` of extent `size` into `out`, in
 * row-major order, one contiguous run at a time. Exported for the tests.
 */
export function copySlice(x: Values, shape: readonly number[], begin: readonly number[], size: readonly number[], out: Values): void {
  const rank = shape.length;
  const strides = tf.util.computeStrides(shape as number[]);
  const stride = (axis: number) => (axis === rank - 1 ? 1 : strides[axis]);
  // Trailing axes kept whole, plus the innermost cropped one, form one run in x and in out.
  let axis = rank - 1;
  let run = 1;
  while (axis >= 0 && size[axis] === shape[axis]) {
    run *= size[axis];
    axis--;
  }
  if (axis < 0) {
    out.set(x.subarray(0, run));
    return;
  }
  run *= size[axis];
  let offset = 0;
  for (let d = 0; d <= axis; d++) {
    offset += begin[d] * stride(d);
  }
  // Odometer over the outer axes 0..axis-1; each step moves the start by that axis's stride.
  const outer = axis;
  const counter = new Array<number>(outer).fill(0);
  const runs = sizeOf(size.slice(0, outer));
  for (let r = 0, o = 0; r < runs; r++, o += run) {
    if (run >= MIN_SET_RUN) {
      out.set(x.subarray(offset, offset + run), o);
    } else {
      for (let i = 0; i < run; i++) {
        out[o + i] = x[offset + i];
      }
    }
    for (let d = outer - 1; d >= 0; d--) {
      offset += stride(d);
      if (++counter[d] < size[d]) {
        break;
      }
      offset -= size[d] * stride(d);
      counter[d] = 0;
    }
  }
}

const FAST_DTYPES: readonly tf.DataType[] = ['float32', 'int32', 'bool'];

const slice: tf.KernelFunc = (args) => {
  const { inputs, attrs, backend } = args;
  const { x } = requireInputs(tf.Slice, inputs, ['x']);
  if (!FAST_DTYPES.includes(x.dtype)) {
    const stock = stockKernel(tf.Slice);
    if (!stock) {
      throw new Error(`src/engine/kernels/wasm Slice: ${x.dtype} tensors need wasm's own Slice kernel, which was not found.`);
    }
    return stock.kernelFunc(args);
  }
  const { begin, size } = attrs as unknown as tf.SliceAttrs;
  const [begin_, size_] = tf.slice_util.parseSliceParams(x, begin, size);
  tf.slice_util.assertParamsValid(x, begin_, size_);
  const wasm = backend as WasmBackend;
  const out = wasm.makeOutput(size_, x.dtype);
  if (sizeOf(size_) === 0) {
    return out;
  }
  // Views after makeOutput: an allocation may grow (and move) the wasm memory.
  copySlice(wasm.typedArrayFromHeap(x), x.shape, begin_, size_, wasm.typedArrayFromHeap(out));
  return out;
};

export const sliceConfig: tf.KernelConfig = { kernelName: tf.Slice, backendName: WASM, kernelFunc: slice };
