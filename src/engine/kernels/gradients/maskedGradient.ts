// The gradients of ReLU, ReLU6 and clipByValue as one kernel each. All three pass dy through where
// x lies inside an interval and give zero elsewhere, but tfjs-core 4.22 builds that from generic ops:
// - ClipByValue_grad: where(logicalAnd(greaterEqual(x, min), lessEqual(x, max)), dy, zerosLike(dy)),
//   five kernels and four full-size temporaries (tf.layers' ReLU with maxValue 6, MobileNetV2's
//   activation, runs through clipByValue);
// - Relu_grad: mul(dy, cast(step(x), 'float32')), three kernels;
// - Relu6_grad: mul(dy, cast(mul(lessEqual(x, 6), step(x)), 'float32')), five kernels.
// On wasm they were a fifth of a MobileNetV2 input gradient. MaskedGrad computes the same numbers
// in one kernel (cpu kernel here, one pass; the wasm one in src/engine/kernels/wasm/maskedGradient.ts
// picks per mask what measured fastest); on a backend without it (tfjs-node, webgl) the gradient
// functions run tfjs-core's composites.
//
// Exact semantics kept (the tests compare bit patterns with tfjs-core's composites):
// - 'select' (clipByValue): dy where lower <= x <= upper, +0 elsewhere, also where x is NaN;
// - 'multiply' (relu, relu6): dy · m with m = 1 inside, 0 outside and NaN where x is NaN (tfjs's
//   Step maps NaN to NaN), so an outside dy of −3 gives −0 and an outside dy of Inf gives NaN.
import * as tf from '@tensorflow/tfjs-core';
import { ClipByValue, Relu, Relu6, cast, lessEqual, greaterEqual, logicalAnd, mul, step, where, zerosLike } from '@tensorflow/tfjs-core';
import type { GradConfig, KernelConfig, KernelFunc, NamedAttrMap, Tensor, TensorInfo } from '@tensorflow/tfjs-core';

export const MaskedGrad = 'CnnLensMaskedGrad';

export interface MaskedGradAttrs {
  lower: number;
  lowerInclusive: boolean;
  upper: number;
  upperInclusive: boolean;
  /** 'select': dy inside, +0 outside (a where); 'multiply': dy times a 0/1/NaN mask (a step). */
  combine: 'select' | 'multiply';
}

const float32 = new Float32Array(1);
const float32Bits = new Int32Array(float32.buffer);

/**
 * The float32 next to `value` (a float32) in `direction`, NaN past ±Infinity (nothing lies beyond).
 * For float32 v, v > b ⇔ v >= next(b, +1) and v < b ⇔ v <= next(b, −1): exclusive bounds become
 * inclusive ones, so the loops below need no per-element choice between > and >=.
 */
export function nextFloat32(value: number, direction: 1 | -1): number {
  if (Number.isNaN(value) || value === direction * Infinity) {
    return NaN;
  }
  if (value === 0) {
    return direction * 2 ** -149; // the smallest subnormal, on either side of ±0
  }
  float32[0] = value;
  float32Bits[0] += value > 0 === direction > 0 ? 1 : -1; // away from zero: larger magnitude
  return float32[0];
}

/** [lo, hi] such that lo <= v <= hi exactly when v is inside the attrs' interval, for float32 v. */
function inclusiveBounds(attrs: MaskedGradAttrs): [number, number] {
  // tfjs compares float32 x with the bound made a float32 scalar: 2.0000002 is 2.00000024 there.
  const lower = Math.fround(attrs.lower);
  const upper = Math.fround(attrs.upper);
  return [attrs.lowerInclusive ? lower : nextFloat32(lower, 1), attrs.upperInclusive ? upper : nextFloat32(upper, -1)];
}

/** 0 for a number, NaN for NaN, indexed by Number(v !== v): Step's NaN without a branch. */
const NAN_IF_NAN = new Float64Array([0, NaN]);

/**
 * The kernel's definition, shared by the cpu and wasm kernels: one pass, no temporaries. The loops
 * are branch-free (Number(boolean) and integer masks): a mask that follows the sign of activations
 * defeats branch prediction, and the branching form measured 7x slower on a [8, 112, 112, 64] tensor.
 */
export function maskedGradient(x: Float32Array, dy: Float32Array, out: Float32Array, attrs: MaskedGradAttrs): void {
  const [lo, hi] = inclusiveBounds(attrs);
  const n = out.length;
  if (attrs.combine === 'select') {
    // dy's bits where inside, all-zero bits (+0) elsewhere: exactly where(mask, dy, zerosLike(dy)).
    const dyBits = new Int32Array(dy.buffer, dy.byteOffset, dy.length);
    const outBits = new Int32Array(out.buffer, out.byteOffset, out.length);
    for (let i = 0; i < n; i++) {
      const v = x[i];
      outBits[i] = dyBits[i] & -(Number(v >= lo) & Number(v <= hi));
    }
  } else {
    // dy · (1 inside, 0 outside, NaN for NaN): exactly mul(dy, cast(step-based mask)).
    for (let i = 0; i < n; i++) {
      const v = x[i];
      out[i] = dy[i] * (Number(v >= lo) * Number(v <= hi) + NAN_IF_NAN[Number(v !== v)]);
    }
  }
}

/** Throws unless dy and x are what the gradient functions below hand over. */
export function checkMaskedGradInputs(inputs: tf.NamedTensorInfoMap): { dy: TensorInfo; x: TensorInfo } {
  const { dy, x } = inputs;
  if (!dy || !x) {
    throw new Error(`src/engine/kernels/gradients ${MaskedGrad}: inputs "dy" and "x" are required.`);
  }
  if (dy.shape.length !== x.shape.length || dy.shape.some((d, i) => d !== x.shape[i])) {
    throw new Error(`src/engine/kernels/gradients ${MaskedGrad}: dy has shape [${dy.shape}] but x has [${x.shape}].`);
  }
  if (dy.dtype !== 'float32' || x.dtype !== 'float32') {
    throw new Error(`src/engine/kernels/gradients ${MaskedGrad}: float32 dy and x expected, got ${dy.dtype} and ${x.dtype}.`);
  }
  return { dy, x };
}

interface CpuBackend {
  data: { get(dataId: tf.DataId): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): TensorInfo;
}

const maskedGradCpu: KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, x } = checkMaskedGradInputs(inputs);
  const cpu = backend as unknown as CpuBackend;
  const out = new Float32Array(tf.util.sizeFromShape(x.shape));
  maskedGradient(cpu.data.get(x.dataId).values as Float32Array, cpu.data.get(dy.dataId).values as Float32Array, out, attrs as unknown as MaskedGradAttrs);
  return cpu.makeTensorInfo(x.shape, 'float32', out);
};

export const maskedGradCpuConfig: KernelConfig = { kernelName: MaskedGrad, backendName: 'cpu', kernelFunc: maskedGradCpu };

/**
 * The masked gradient through the kernel when the active backend has it and the dtypes are the
 * float32 it handles; otherwise `composite`, tfjs-core's own formula.
 */
function maskedOrComposite(dy: Tensor, x: Tensor, attrs: MaskedGradAttrs, composite: () => Tensor): Tensor {
  if (dy.dtype === 'float32' && x.dtype === 'float32' && tf.getKernel(MaskedGrad, tf.getBackend()) !== undefined) {
    return tf.engine().runKernel(MaskedGrad, { dy, x }, attrs as unknown as NamedAttrMap) as Tensor;
  }
  return composite();
}

/**
 * The gradient of an activation `x → f(x)` whose derivative is a mask: MaskedGrad with the mask's
 * bounds where the backend has it, else tfjs-core's own formula (`composite`).
 */
function maskedGradConfig(
  kernelName: string,
  maskOf: (attrs: NamedAttrMap) => MaskedGradAttrs,
  composite: (dy: Tensor, x: Tensor, attrs: NamedAttrMap) => Tensor,
): GradConfig {
  return {
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const grad = dy as Tensor;
      const [x] = saved;
      return { x: () => maskedOrComposite(grad, x, maskOf(attrs), () => composite(grad, x, attrs)) };
    },
  };
}

export const clipByValueGradConfig = maskedGradConfig(
  ClipByValue,
  (attrs) => {
    const { clipValueMin, clipValueMax } = attrs as unknown as tf.ClipByValueAttrs;
    return { lower: clipValueMin, lowerInclusive: true, upper: clipValueMax, upperInclusive: true, combine: 'select' };
  },
  (dy, x, attrs) => {
    const { clipValueMin, clipValueMax } = attrs as unknown as tf.ClipByValueAttrs;
    return where(logicalAnd(greaterEqual(x, clipValueMin), lessEqual(x, clipValueMax)), dy, zerosLike(dy));
  },
);

export const reluGradConfig = maskedGradConfig(
  Relu,
  () => ({ lower: 0, lowerInclusive: false, upper: Infinity, upperInclusive: true, combine: 'multiply' }),
  (dy, x) => mul(dy, cast(step(x), 'float32')),
);

export const relu6GradConfig = maskedGradConfig(
  Relu6,
  () => ({ lower: 0, lowerInclusive: false, upper: 6, upperInclusive: true, combine: 'multiply' }),
  (dy, x) => mul(dy, cast(mul(lessEqual(x, 6), step(x)), 'float32')),
);

/**
 * MaskedGrad's own gradient, for second derivatives: linear in dy with the same mask (so the same
 * kernel), and zero almost everywhere in x, as tfjs-core's composites give.
 */
export const maskedGradGradConfig: GradConfig = {
  kernelName: MaskedGrad,
  inputsToSave: ['x'],
  gradFunc: (ddy, saved, attrs) => {
    const grad = ddy as Tensor;
    const [x] = saved;
    return {
      dy: () => tf.engine().runKernel(MaskedGrad, { dy: grad, x }, attrs) as Tensor,
      x: () => zerosLike(x),
    };
  },
};
