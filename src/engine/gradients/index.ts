// Gradient functions that replace tfjs-core's where those do needless work. tfjs keeps one global
// gradient registry (shared by every copy of tfjs-core in the process), and registerGradient
// overwrites an entry, so registering once at engine start-up is enough for every backend.
import { registerGradient } from '@tensorflow/tfjs-core';
import { fusedBatchNormGradConfig } from './fusedBatchNorm';

export const ENGINE_GRADIENTS = [fusedBatchNormGradConfig];

let registered = false;

/** Idempotent. Called by src/engine/tf.ts after tfjs-core's own gradients are registered. */
export function registerEngineGradients(): void {
  if (registered) {
    return;
  }
  for (const config of ENGINE_GRADIENTS) {
    registerGradient(config);
  }
  registered = true;
}
