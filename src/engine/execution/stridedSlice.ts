// TensorFlow's StridedSlice (numpy's basic indexing: x[1:5:2, ..., tf.newaxis, 3]) with an exact
// gradient. tfjs has the op but registers no gradient for it, so tf.grad through a StridedSlice
// between the image and a layer would fail. The masks are resolved by tfjs's own port of
// TensorFlow's ValidateStridedSliceOp (slice_util.sliceInfo: ellipsis, new axes, shrunk axes,
// negative and out-of-range indices, begin/end masks), which gives a plain start, end and stride
// per input axis; the slice is then built from differentiable ops: reverse (negative strides),
// slice, and a pad + reshape + slice that keeps every s-th element.
import * as tf from '../tf';

export interface StridedSliceSpec {
  readonly begin: number[];
  readonly end: number[];
  readonly strides: number[];
  readonly beginMask: number;
  readonly endMask: number;
  readonly ellipsisMask: number;
  readonly newAxisMask: number;
  readonly shrinkAxisMask: number;
}

/** The output shape of a strided slice of `shape` (for size checks before computing). Throws on an invalid spec. */
export function stridedSliceShape(shape: readonly number[], spec: StridedSliceSpec): number[] {
  return resolve(shape, spec).finalShape;
}

function resolve(shape: readonly number[], spec: StridedSliceSpec): tf.slice_util.SliceInfo {
  const { begin, end, strides } = spec;
  if (begin.length !== end.length || begin.length !== strides.length) {
    throw new Error(`begin, end and strides have ${begin.length}, ${end.length} and ${strides.length} entries; they must have as many`);
  }
  return tf.slice_util.sliceInfo([...shape], begin, end, strides, spec.beginMask, spec.endMask, spec.ellipsisMask, spec.newAxisMask, spec.shrinkAxisMask);
}

/** Keeps `count` elements of `axis` starting at `start`, every `step`-th. */
function takeEvery(x: tf.Tensor, axis: number, start: number, count: number, step: number): tf.Tensor {
  const begin = x.shape.map((_, i) => (i === axis ? start : 0));
  const span = count === 0 ? 0 : (count - 1) * step + 1;
  const size = x.shape.map((d, i) => (i === axis ? span : d));
  const run = tf.slice(x, begin, size);
  if (step === 1 || count <= 1) {
    return run;
  }
  // [.., span, ..] -> padded to count*step -> [.., count, step, ..] -> the first of each step.
  const padded = tf.pad(run, x.shape.map((_, i) => (i === axis ? [0, count * step - span] : [0, 0])) as [number, number][]);
  const split = [...x.shape.slice(0, axis), count, step, ...x.shape.slice(axis + 1)];
  const firsts = tf.slice(tf.reshape(padded, split), split.map(() => 0), split.map((d, i) => (i === axis + 1 ? 1 : d)));
  return tf.reshape(firsts, size.map((d, i) => (i === axis ? count : d)));
}

/** x[spec] as TensorFlow computes it; differentiable with respect to x. */
export function stridedSlice(x: tf.Tensor, spec: StridedSliceSpec): tf.Tensor {
  const info = resolve(x.shape, spec);
  let y = x;
  for (let axis = 0; axis < x.rank; axis++) {
    const size = x.shape[axis] as number;
    let start = info.begin[axis] as number;
    const stop = info.end[axis] as number;
    let step = info.strides[axis] as number;
    // Elements start, start+step, ... before stop (sliceInfo has clamped both to the axis).
    const count = Math.max(0, Math.ceil((stop - start) / step));
    if (step < 0) {
      // Reversed, element i is size-1-i: the same elements, walked forwards.
      y = tf.reverse(y, axis);
      start = size - 1 - start;
      step = -step;
    }
    if (start === 0 && step === 1 && count === size) {
      continue; // the whole axis
    }
    y = takeEvery(y, axis, start, count, step);
  }
  // New axes (size 1) in, shrunk axes (size 1) out: the same values in the final shape.
  return y === x ? tf.reshape(tf.clone(x), info.finalShape) : tf.reshape(y, info.finalShape);
}
