// Conv2DBackpropInput for the wasm backend, replacing tfjs-backend-wasm's own: the gradient of
// conv2d with respect to its input, which every attribution method that reaches the image (and
// Grad-CAM at an early layer) runs once per convolution. wasm 4.22's kernel is a plain loop nest;
// this one is a single forward Conv2D, which wasm runs through XNNPACK (measured here: 5-6x faster
// on MobileNetV2's and ResNet-18's shapes).
//
// The identity behind it: with forward stride s and top/left padding p,
//   dx[h] = Σ_{o, k : o·s + k − p = h} dy[o] · W[k].
// With s = 1 that is a stride-1 correlation of dy, padded by KH − 1 − p on top (bottom: whatever
// gives H rows), with the kernel flipped in space and its in/out channels swapped. With s > 1, the
// rows h of one phase r = (h + p) mod s only meet the taps k ≡ r (mod s), so dx is s × s such
// correlations of the unspread dy, one per phase with that phase's taps, interleaved (the
// "sub-pixel" form of a transposed convolution): the forward convolution's cost, where
// correlating a zero-spread dy would cost s² times more. Exact up to summation order.
//
// The flipped kernel is cached per filter (see FlippedFilterCache): wasm's Conv2D builds an XNNPACK
// operator, packing the weights, the first time it sees a filter, and keeps it while that filter's
// data lives. A fresh flipped copy per call would repack every time, which for ResNet's 3×3×512×512
// kernels costs ten times the convolution itself.
import * as tf from '../../tf';
import { type WasmBackend, WasmScratch, WASM, checkOutputShape, explicitPad, padInNhwcOrder, requireInputs, sizeOf, withScratch } from './wasmOps';

interface StorageBackend extends WasmBackend {
  dataIdMap: { has(dataId: tf.DataId): boolean };
}

/**
 * Flipped kernels ([KH, KW, out, in], reversed in space) of the filters this backend has seen,
 * keyed by the filter's data id. tfjs data is immutable per data id (a Variable's assign() moves
 * it to a new one), so an entry stays right for as long as its filter's data exists; entries
 * whose filter was disposed are freed at the next call (a sweep over one entry per conv layer).
 */
class FlippedFilterCache {
  /** Per filter data id, per variant ("1x1" for the whole flipped kernel, "2x2" for stride-2 phases). */
  private readonly entries = new Map<tf.DataId, Map<string, Array<tf.TensorInfo | null>>>();

  constructor(private readonly backend: StorageBackend) {}

  get(filter: tf.TensorInfo, variant: string, make: () => Array<tf.TensorInfo | null>): Array<tf.TensorInfo | null> {
    this.sweep();
    let variants = this.entries.get(filter.dataId);
    if (!variants) {
      variants = new Map();
      this.entries.set(filter.dataId, variants);
    }
    let kernels = variants.get(variant);
    if (!kernels) {
      kernels = make();
      variants.set(variant, kernels);
    }
    return kernels;
  }

  /** Whether kernels derived from this filter data are cached (for tests). */
  holds(dataId: tf.DataId): boolean {
    return this.entries.has(dataId);
  }

  private sweep(): void {
    for (const [dataId, variants] of this.entries) {
      if (!this.backend.dataIdMap.has(dataId)) {
        for (const kernels of variants.values()) {
          for (const kernel of kernels) {
            if (kernel) {
              this.backend.disposeData(kernel.dataId);
            }
          }
        }
        this.entries.delete(dataId);
      }
    }
  }
}

const caches = new WeakMap<object, FlippedFilterCache>();

/** The cache of one backend instance (tests and a removed-and-re-added backend get a fresh one). */
export function flippedFilterCache(backend: unknown): FlippedFilterCache {
  let cache = caches.get(backend as object);
  if (!cache) {
    cache = new FlippedFilterCache(backend as StorageBackend);
    caches.set(backend as object, cache);
  }
  return cache;
}

const conv2dBackpropInput: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, filter } = requireInputs(tf.Conv2DBackpropInput, inputs, ['dy', 'filter']);
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  return withScratch(backend, (scratch) => {
    const channelsFirst = dataFormat === 'NCHW';
    // inputShape is in the data format's order; the computation runs in NHWC (wasm Conv2D's only layout).
    const [n, a, b, c] = inputShape;
    const inputNhwc: [number, number, number, number] = channelsFirst ? [n, b, c, a] : [n, a, b, c];
    const dyNhwc = channelsFirst ? scratch.transpose(dy, [0, 2, 3, 1]) : dy;
    const padNhwc = padInNhwcOrder(pad, channelsFirst);
    const dx = inputGradientNhwc(scratch, dyNhwc, filter, inputNhwc, strides, padNhwc, dimRoundingMode, backend);
    return channelsFirst ? scratch.transpose(dx, [0, 3, 1, 2]) : dx;
  });
};

/**
 * The kernels the input gradient convolves with, for strides (sH, sW): with stride 1 the whole
 * kernel flipped in space with in/out swapped ([KH, KW, out, in]); with larger strides one such
 * kernel per phase (ry, rx) in [0, sH) × [0, sW), made of the taps ky ≡ ry (mod sH), kx ≡ rx
 * (mod sW), or null for a phase no tap reaches (a 1×1 kernel with stride 2). From the cache, or
 * (in tfjs's test mode) built per call in the caller's scratch scope.
 */
function phaseKernels(scratch: WasmScratch, filter: tf.TensorInfo, strideH: number, strideW: number, backend: unknown): Array<tf.TensorInfo | null> {
  const build = (own: WasmScratch): Array<tf.TensorInfo | null> => {
    const [kh, kw, inChannels, outChannels] = filter.shape;
    const kernels: Array<tf.TensorInfo | null> = [];
    for (let ry = 0; ry < strideH; ry++) {
      for (let rx = 0; rx < strideW; rx++) {
        if (ry >= kh || rx >= kw) {
          kernels.push(null);
          continue;
        }
        const taps =
          strideH === 1 && strideW === 1
            ? filter
            : own.run(tf.StridedSlice, { x: filter }, { begin: [ry, rx, 0, 0], end: [kh, kw, inChannels, outChannels], strides: [strideH, strideW, 1, 1], beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 });
        kernels.push(own.transpose(own.reverse(taps, [0, 1]), [0, 1, 3, 2]));
      }
    }
    return kernels;
  };
  // IS_TEST makes the engine check that a kernel leaves exactly one new data id behind; cached
  // kernels are more, by design, so test mode builds them per call (the cache itself is tested
  // with IS_TEST off).
  if (tf.env().getBool('IS_TEST')) {
    return build(scratch);
  }
  return flippedFilterCache(backend).get(filter, `${strideH}x${strideW}`, () => {
    // A scope of its own: cached kernels outlive this call; only their intermediates are freed.
    const own = new WasmScratch(backend as WasmBackend);
    try {
      const kernels = build(own);
      kernels.forEach((k) => k && own.keep(k));
      return kernels;
    } finally {
      own.dispose();
    }
  });
}

function inputGradientNhwc(
  scratch: WasmScratch,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  inputShape: [number, number, number, number],
  strides: tf.Conv2DBackpropInputAttrs['strides'],
  pad: tf.Conv2DBackpropInputAttrs['pad'],
  dimRoundingMode: tf.Conv2DBackpropInputAttrs['dimRoundingMode'],
  backend: unknown,
): tf.TensorInfo {
  const filterShape = filter.shape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(inputShape, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  checkOutputShape('Conv2DBackpropInput', dy, info.outShape);
  const [kh, kw, inChannels] = filterShape;
  if (inputShape[3] !== inChannels) {
    throw new Error(`src/engine/kernels/wasm Conv2DBackpropInput: filter [${filterShape}] does not fit the input shape [${inputShape}].`);
  }
  if (sizeOf(inputShape) === 0 || sizeOf(dy.shape) === 0) {
    return scratch.zeros(inputShape, 'float32'); // nothing flows back
  }
  const [batch, height, width] = inputShape;
  const [, outHeight, outWidth] = dy.shape;
  const { top, left } = info.padInfo;
  const { strideHeight: sH, strideWidth: sW } = info;
  const kernels = phaseKernels(scratch, filter, sH, sW, backend);
  if (sH === 1 && sW === 1) {
    // dx = dy padded by KH−1−top (top) and what gives H rows (bottom), correlated with the flipped kernel.
    const padTop = kh - 1 - top;
    const padLeft = kw - 1 - left;
    const padBottom = height + top - outHeight;
    const padRight = width + left - outWidth;
    const cut = scratch.padOrCrop(dy, [[Math.min(padTop, 0), Math.min(padBottom, 0)], [Math.min(padLeft, 0), Math.min(padRight, 0)]]);
    return scratch.run(
      tf.Conv2D,
      { x: cut, filter: kernels[0] as tf.TensorInfo },
      { strides: [1, 1], dilations: [1, 1], pad: explicitPad([[Math.max(padTop, 0), Math.max(padBottom, 0)], [Math.max(padLeft, 0), Math.max(padRight, 0)]]), dataFormat: 'NHWC' },
    );
  }
  // Strided: per axis, dx[h] with h + top = q·s + r collects dy[q − j]·W[r + s·j] over the taps j of
  // phase r: a stride-1 "full" correlation of the unspread dy with that phase's flipped taps. Each
  // phase (ry, rx) fills the rows q·sH + ry and columns q'·sW + rx of a canvas that starts `top`
  // rows and `left` columns before dx; no multiplication by inserted zeros, so the cost is the
  // forward convolution's. Phases are padded to a common size with zeros, which is exact: those
  // positions receive nothing from any output.
  const rowsPerPhase = outHeight + Math.ceil(kh / sH) - 1;
  const colsPerPhase = outWidth + Math.ceil(kw / sW) - 1;
  const rows: tf.TensorInfo[] = [];
  for (let ry = 0; ry < sH; ry++) {
    const phases: tf.TensorInfo[] = [];
    for (let rx = 0; rx < sW; rx++) {
      const kernel = kernels[ry * sW + rx];
      let phase: tf.TensorInfo;
      if (kernel === null) {
        phase = scratch.zeros([batch, rowsPerPhase, colsPerPhase, inChannels], 'float32');
      } else {
        const [jy, jx] = kernel.shape;
        const full = scratch.run(
          tf.Conv2D,
          { x: dy, filter: kernel },
          { strides: [1, 1], dilations: [1, 1], pad: explicitPad([[jy - 1, jy - 1], [jx - 1, jx - 1]]), dataFormat: 'NHWC' },
        ); // [N, OH + jy − 1, OW + jx − 1, Cin]
        phase = scratch.padOrCrop(full, [[0, rowsPerPhase - full.shape[1]], [0, colsPerPhase - full.shape[2]]]);
      }
      phases.push(scratch.reshape(phase, [batch, rowsPerPhase, 1, colsPerPhase, 1, inChannels]));
    }
    rows.push(phases.length === 1 ? phases[0] : scratch.run(tf.Concat, phases as unknown as tf.NamedTensorInfoMap, { axis: 4 }));
  }
  const stacked = rows.length === 1 ? rows[0] : scratch.run(tf.Concat, rows as unknown as tf.NamedTensorInfoMap, { axis: 2 });
  const canvas = scratch.reshape(stacked, [batch, rowsPerPhase * sH, colsPerPhase * sW, inChannels]);
  // dx[h] = canvas[h + top]: crop `top` rows, then crop or zero-pad the end to H rows (same for columns).
  return scratch.padOrCrop(canvas, [[-top, height + top - rowsPerPhase * sH], [-left, width + left - colsPerPhase * sW]]);
}

export const conv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: WASM,
  kernelFunc: conv2dBackpropInput,
};
