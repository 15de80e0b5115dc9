// Image resizing as TensorFlow's ResizeBilinear and ResizeNearestNeighbor define it
// (tensorflow/core/kernels/image/resize_bilinear_op.cc, resize_nearest_neighbor_op.cc), built from
// gathers and element-wise ops so its gradient is exact.
//
// Why not tf.image.resizeBilinear / resizeNearestNeighbor: their forward passes honour
// halfPixelCenters, but tfjs's ResizeBilinearGrad and ResizeNearestNeighborGrad kernels ignore it
// (tfjs-backend-cpu 4.22: only alignCorners is read), so the gradient of a half-pixel resize (what
// TF2's tf.image.resize and Keras' Resizing/UpSampling2D(bilinear) write) would be the gradient of
// another function; and tf.grad through resizeBilinear of a non-square image fails on cpu (its
// gradient comes back with height and width swapped). test/unit/graphModelOps.test.ts catches both. Here each axis is resized on its own (both ops are separable): the source
// positions are computed once in JS, then one or two gathers and a lerp; gather's gradient is a
// segment sum, which every backend has (wasm through wasmKernels/unsortedSegmentSum.ts).
import * as tf from '../tf';

export type ResizeMethod = 'bilinear' | 'nearest';

export interface ResizeOptions {
  /** TF's align_corners: the corner pixels of input and output line up. */
  readonly alignCorners: boolean;
  /** TF's half_pixel_centers: pixels are sampled at their centres (TF2's default). */
  readonly halfPixelCenters: boolean;
}

/** TF's CalculateResizeScale, in float32 as TF computes it. */
function resizeScale(inSize: number, outSize: number, alignCorners: boolean): number {
  return alignCorners && outSize > 1 ? Math.fround((inSize - 1) / (outSize - 1)) : Math.fround(inSize / outSize);
}

/** Per output index: the two source indices and the weight of the upper one (TF's compute_interpolation_weights). */
export function bilinearWeights(inSize: number, outSize: number, options: ResizeOptions): { lower: Int32Array; upper: Int32Array; lerp: Float32Array } {
  const scale = resizeScale(inSize, outSize, options.alignCorners);
  const lower = new Int32Array(outSize);
  const upper = new Int32Array(outSize);
  const lerp = new Float32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    // HalfPixelScaler: (i + 0.5) * scale - 0.5; LegacyScaler: i * scale.
    const source = options.halfPixelCenters ? Math.fround(Math.fround((i + 0.5) * scale) - 0.5) : Math.fround(i * scale);
    const floor = Math.floor(source);
    lower[i] = Math.max(floor, 0);
    upper[i] = Math.min(Math.ceil(source), inSize - 1);
    lerp[i] = source - floor;
  }
  return { lower, upper, lerp };
}

/** Per output index, the source index nearest-neighbour resizing copies. */
export function nearestIndices(inSize: number, outSize: number, options: ResizeOptions): Int32Array {
  const scale = resizeScale(inSize, outSize, options.alignCorners);
  const indices = new Int32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    // HalfPixelScalerForNN: (i + 0.5) * scale (no -0.5); LegacyScaler: i * scale.
    const source = options.halfPixelCenters ? Math.fround((i + 0.5) * scale) : Math.fround(i * scale);
    // TF rounds with roundf (half away from zero; sources are never negative here, so Math.round agrees).
    let index = Math.min(options.alignCorners ? Math.round(source) : Math.floor(source), inSize - 1);
    if (options.halfPixelCenters) index = Math.max(0, index);
    indices[i] = index;
  }
  return indices;
}

/** Resizes one axis of x. Differentiable with respect to x. */
function resizeAxis(x: tf.Tensor, axis: number, outSize: number, method: ResizeMethod, options: ResizeOptions): tf.Tensor {
  const inSize = x.shape[axis] as number;
  if (inSize === outSize) {
    return x; // scale 1 on every grid: each output is its source pixel (lerp 0)
  }
  if (method === 'nearest') {
    return tf.gather(x, tf.tensor1d(nearestIndices(inSize, outSize, options), 'int32'), axis);
  }
  const { lower, upper, lerp } = bilinearWeights(inSize, outSize, options);
  const shape = x.shape.map((_, i) => (i === axis ? outSize : 1));
  const weight = tf.reshape(tf.tensor1d(lerp), shape);
  const low = tf.gather(x, tf.tensor1d(lower, 'int32'), axis);
  const high = tf.gather(x, tf.tensor1d(upper, 'int32'), axis);
  // TF: top + (bottom - top) * lerp, per axis (rows, then columns: the same bilinear value).
  return tf.add(low, tf.mul(tf.sub(high, low), weight));
}

/**
 * Resizes NHWC images [n, h, w, c] to [n, height, width, c] as TensorFlow does. The caller checks
 * the output's size (limits.ts) first. align_corners with half_pixel_centers is refused by TF and
 * must be refused by the caller.
 */
export function resizeImages(images: tf.Tensor4D, [height, width]: [number, number], method: ResizeMethod, options: ResizeOptions): tf.Tensor4D {
  // No tidy: under a gradient tape the intermediates belong to the caller's scope (the executor's).
  const resized = resizeAxis(resizeAxis(images, 1, height, method, options), 2, width, method, options) as tf.Tensor4D;
  // A node's output must be its own tensor (the executor disposes outputs and inputs separately).
  return resized === images ? tf.clone(images) : resized;
}
