// Gradient functions that replace tfjs-core's where those do needless work (or, for average
// pooling, compute the wrong values). tfjs keeps one global
// gradient registry (shared by every copy of tfjs-core in the process), and registerGradient
// overwrites an entry, so registering once at engine start-up is enough for every backend.
import { getKernel, registerGradient, registerKernel } from '@tensorflow/tfjs-core';
import { avgPoolGradConfig } from './avgPool';
import { fusedBatchNormGradConfig } from './fusedBatchNorm';
import { clipByValueGradConfig, maskedGradCpuConfig, maskedGradGradConfig, relu6GradConfig, reluGradConfig } from './maskedGradient';

export const ENGINE_GRADIENTS = [avgPoolGradConfig, fusedBatchNormGradConfig, clipByValueGradConfig, reluGradConfig, relu6GradConfig, maskedGradGradConfig];

/** The cpu kernels those gradients call (the wasm ones are in src/engine/kernels/wasm). */
export const ENGINE_CPU_KERNELS = [maskedGradCpuConfig];

let registered = false;

/** Idempotent. Called by src/engine/tf.ts after tfjs-core's own gradients are registered. */
export function registerEngineGradients(): void {
  if (registered) {
    return;
  }
  for (const config of ENGINE_GRADIENTS) {
    registerGradient(config);
  }
  for (const config of ENGINE_CPU_KERNELS) {
    if (getKernel(config.kernelName, config.backendName) === undefined) {
      registerKernel(config);
    }
  }
  registered = true;
}
