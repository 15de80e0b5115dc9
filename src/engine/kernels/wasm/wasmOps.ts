// Building blocks for the gradient kernels that tfjs-backend-wasm 4.22 lacks. They call the wasm
// backend's own registered kernels (Conv2D, Transpose, PadV2, ...) directly on TensorInfos, the way
// the backend's kernels call one another: no engine round trip, no tape, and every intermediate is
// a backend data id that this file frees again (kernels must return exactly one new data id, or the
// engine reports a leak in test mode and wasm memory grows for real).
import * as tf from '../../tf';

type TensorInfo = tf.TensorInfo;
type DataType = tf.DataType;

/** The parts of tfjs-backend-wasm's BackendWasm that these kernels use (see backend_wasm.d.ts). */
export interface WasmBackend extends tf.KernelBackend {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

export const WASM = 'wasm';

/** [top, bottom] and [left, right] padding of an NHWC tensor's spatial axes; negative numbers crop. */
export type SpatialPads = [[number, number], [number, number]];

/**
 * A scope for intermediates: each op's result is remembered and freed by dispose(), except the one
 * handed to keep(). Reshape shares its input's buffer (the backend counts references), so freeing
 * a reshaped intermediate and keeping its reshape is safe.
 */
export class WasmScratch {
  private readonly temps: TensorInfo[] = [];

  constructor(readonly backend: WasmBackend) {}

  run(kernelName: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): TensorInfo {
    const kernel = tf.getKernel(kernelName, WASM);
    if (!kernel) {
      throw new Error(`src/engine/kernels/wasm: the wasm backend has no "${kernelName}" kernel, which a gradient kernel builds on.`);
    }
    const out = kernel.kernelFunc({ inputs, attrs, backend: this.backend });
    if (Array.isArray(out)) {
      throw new Error(`src/engine/kernels/wasm: the wasm "${kernelName}" kernel returned ${out.length} tensors, expected one.`);
    }
    this.temps.push(out);
    return out;
  }

  /** Marks `info` as the kernel's result: dispose() leaves it alone. */
  keep(info: TensorInfo): TensorInfo {
    const index = this.temps.indexOf(info);
    if (index >= 0) {
      this.temps.splice(index, 1);
    }
    return info;
  }

  dispose(): void {
    for (const info of this.temps.splice(0)) {
      this.backend.disposeData(info.dataId);
    }
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run(tf.Transpose, { x }, { perm });
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run(tf.Reshape, { x }, { shape });
  }

  reverse(x: TensorInfo, dims: number[]): TensorInfo {
    return this.run(tf.Reverse, { x }, { dims });
  }

  sum(x: TensorInfo, axis: number[]): TensorInfo {
    return this.run(tf.Sum, { x }, { axis, keepDims: false });
  }

  /** Zero-pads (positive numbers) and crops (negative numbers) the H and W axes of an NHWC tensor. */
  padOrCrop(x: TensorInfo, pads: SpatialPads): TensorInfo {
    const [[top, bottom], [left, right]] = pads;
    let out = x;
    if (top > 0 || bottom > 0 || left > 0 || right > 0) {
      const paddings = [[0, 0], [Math.max(top, 0), Math.max(bottom, 0)], [Math.max(left, 0), Math.max(right, 0)], [0, 0]];
      out = this.run(tf.PadV2, { x: out }, { paddings, constantValue: 0 });
    }
    if (top < 0 || bottom < 0 || left < 0 || right < 0) {
      const [n, h, w, c] = out.shape;
      const begin = [0, Math.max(-top, 0), Math.max(-left, 0), 0];
      const size = [n, h - begin[1] - Math.max(-bottom, 0), w - begin[2] - Math.max(-right, 0), c];
      if (size[1] <= 0 || size[2] <= 0) {
        throw new Error(`src/engine/kernels/wasm: cropping [${pads}] leaves nothing of a [${out.shape}] tensor.`);
      }
      out = this.run(tf.Slice, { x: out }, { begin, size });
    }
    return out;
  }

  /**
   * Zero insertion of a transposed convolution: row i of x moves to row i*strideH (strideH-1 zero
   * rows between rows), the same for columns. Done as reshape → pad → reshape on the backend's
   * PadV2, exact by construction. The result has extraRows (extraCols) trailing zero rows (columns)
   * beyond the last moved row, which the caller folds into its padOrCrop.
   */
  spread(x: TensorInfo, strideH: number, strideW: number): { spread: TensorInfo; extraRows: number; extraCols: number } {
    if (strideH === 1 && strideW === 1) {
      return { spread: x, extraRows: 0, extraCols: 0 };
    }
    const [n, h, w, c] = x.shape;
    const split = this.reshape(x, [n, h, 1, w, 1, c]);
    const padded = this.run(tf.PadV2, { x: split }, { paddings: [[0, 0], [0, 0], [0, strideH - 1], [0, 0], [0, strideW - 1], [0, 0]], constantValue: 0 });
    const spread = this.reshape(padded, [n, h * strideH, w * strideW, c]);
    return { spread, extraRows: strideH - 1, extraCols: strideW - 1 };
  }

  /** An all-zero tensor: the exact value of a sum over nothing (an empty batch or output). */
  zeros(shape: number[], dtype: DataType): TensorInfo {
    return this.run(tf.Fill, {}, { shape, value: 0, dtype });
  }
}

/** Runs `body` with a scratch scope; frees every intermediate, also when `body` throws. */
export function withScratch(backend: unknown, body: (scratch: WasmScratch) => TensorInfo): TensorInfo {
  const scratch = new WasmScratch(backend as WasmBackend);
  try {
    return scratch.keep(body(scratch));
  } finally {
    scratch.dispose();
  }
}

/**
 * A convolution's `pad` attribute for the NHWC computation: explicit pads come in the data
 * format's axis order, [[0,0],[0,0],[t,b],[l,r]] for NCHW; 'same', 'valid' and numbers are as they are.
 */
export function padInNhwcOrder<P extends tf.Conv2DAttrs['pad']>(pad: P, channelsFirst: boolean): P {
  return channelsFirst && Array.isArray(pad) ? ([[0, 0], pad[2], pad[3], [0, 0]] as P) : pad;
}

/** An explicit-padding attribute for NHWC Conv2D / DepthwiseConv2dNative. */
export function explicitPad(pads: SpatialPads): tf.backend_util.ExplicitPadding {
  return [[0, 0], pads[0], pads[1], [0, 0]];
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Throws a clear error when a gradient's dy does not have the forward convolution's output shape. */
export function checkOutputShape(kernel: string, dy: TensorInfo, expected: readonly number[]): void {
  if (dy.shape.length !== 4 || dy.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`src/engine/kernels/wasm ${kernel}: dy has shape [${dy.shape}], but the convolution's output shape is [${expected}].`);
  }
}

/** The named inputs of a kernel call, each checked to be present. */
export function requireInputs<K extends string>(kernel: string, inputs: tf.NamedTensorInfoMap, names: readonly K[]): Record<K, TensorInfo> {
  const found = {} as Record<K, TensorInfo>;
  for (const name of names) {
    const info = inputs[name];
    if (!info) {
      throw new Error(`src/engine/kernels/wasm ${kernel}: input "${name}" is missing.`);
    }
    found[name] = info;
  }
  return found;
}

/**
 * wasm's own kernels that registerWasmGradientKernels replaced, by kernel name, for replacements
 * that handle the common cases themselves and hand the rest (e.g. string tensors) to the original.
 */
const stockKernels = new Map<string, tf.KernelConfig>();

export function rememberStockKernel(config: tf.KernelConfig): void {
  if (!stockKernels.has(config.kernelName)) {
    stockKernels.set(config.kernelName, config);
  }
}

export function stockKernel(kernelName: string): tf.KernelConfig | undefined {
  return stockKernels.get(kernelName);
}
