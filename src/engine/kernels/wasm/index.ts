// Gradient kernels for the wasm backend, supplied through tfjs's kernel registry so that tf.grad
// on wasm works, and gives the cpu backend's numbers, for conv→batch-norm and depthwise networks
// (MobileNetV2, ResNet, VGG, ...) and for gather. Each kernel file explains its strategy.
//
// Measured on @tensorflow/tfjs-backend-wasm 4.22.0 by running gradients of such networks:
// - missing: Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropInput,
//   DepthwiseConv2dNativeBackpropFilter, UnsortedSegmentSum (the only cpu kernels that wasm lacks
//   and gradients reach); every other gradient kernel these networks use exists (Conv2DBackpropInput,
//   AvgPoolGrad, Step, Relu6's and FusedBatchNorm's ops, Prod, LRNGrad, EluGrad, ...);
// - present but wrong: MaxPoolGrad (picks the wrong window element on most shapes; its C++ starts the
//   running max at FLT_MIN, the smallest positive float, and so also misroutes windows of zeros or
//   negatives, e.g. after a ReLU) and ResizeNearestNeighborGrad (wrong for batches larger than 1).
//   Grad-CAM through a max-pool (ResNet's stem, VGG) would silently give wrong maps on wasm.
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '../../tf';
import { conv2dBackpropFilterConfig } from './conv2dBackpropFilter';
import { conv2dBackpropInputConfig } from './conv2dBackpropInput';
import { identityConfig } from './identity';
import { maxPoolGradConfig } from './maxPoolGrad';
import { cpuFallbackConfig } from './cpuFallback';
import { depthwiseConv2dNativeBackpropFilterConfig } from './depthwiseConv2dNativeBackpropFilter';
import { depthwiseConv2dNativeBackpropInputConfig } from './depthwiseConv2dNativeBackpropInput';
import { unsortedSegmentSumConfig } from './unsortedSegmentSum';
import { maskedGradWasmConfig } from './maskedGradient';
import { sliceConfig } from './slice';
import { rememberStockKernel } from './wasmOps';

/** Kernels that wasm lacks; registered only when no kernel of that name exists for wasm. */
export const MISSING_WASM_KERNELS: readonly tf.KernelConfig[] = [
  conv2dBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  unsortedSegmentSumConfig,
  // The engine's own kernel behind the ReLU / ReLU6 / clipByValue gradients (src/engine/kernels/gradients).
  maskedGradWasmConfig,
];

/**
 * Replacements for wasm kernels that compute wrong values in the listed tfjs-backend-wasm versions
 * (verified against the cpu kernels in test/unit/wasmKernels.test.ts): MaxPoolGrad as the cpu
 * kernel's definition in one loop over the wasm heap (maxPoolGrad.ts), ResizeNearestNeighborGrad
 * by running the cpu kernel on copied data (one cheap pass). Another wasm version keeps its own
 * kernels; the tests compare them with cpu and fail if they are still wrong.
 */
const BROKEN_IN_VERSIONS = ['4.22.0'];
export const REPLACED_WASM_KERNELS: readonly tf.KernelConfig[] = [maxPoolGradConfig, cpuFallbackConfig(tf.ResizeNearestNeighborGrad)];

/**
 * Replacements that compute the same values as wasm's own kernels, much faster (measured by
 * `npm run bench` and scripts/bench/kernelProfile.ts; equality with the cpu kernels in
 * test/unit/wasmKernels.test.ts and wasmSlice.test.ts). Registered in
 * every wasm version: they only use kernels every version has.
 */
export const FASTER_WASM_KERNELS: readonly tf.KernelConfig[] = [conv2dBackpropInputConfig, identityConfig, sliceConfig];

/**
 * Registers the kernels above for the 'wasm' backend. Idempotent: a missing kernel is added only if
 * none is registered (a later tfjs-backend-wasm that ships its own keeps it), a broken one is
 * replaced once. Safe before or after the wasm backend is initialised (none needs a setup function).
 */
export function registerWasmGradientKernels(): void {
  for (const config of MISSING_WASM_KERNELS) {
    if (tf.getKernel(config.kernelName, config.backendName) === undefined) {
      tf.registerKernel(config);
    }
  }
  const replacements = [...FASTER_WASM_KERNELS, ...(BROKEN_IN_VERSIONS.includes(version_wasm) ? REPLACED_WASM_KERNELS : [])];
  for (const config of replacements) {
    const current = tf.getKernel(config.kernelName, config.backendName);
    if (current !== config) {
      if (current !== undefined) {
        rememberStockKernel(current);
        tf.unregisterKernel(config.kernelName, config.backendName);
      }
      tf.registerKernel(config);
    }
  }
}
