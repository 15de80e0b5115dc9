// The engine's single tfjs import. It pulls only what the engine uses (core, layers, the cpu
// backend and every gradient) instead of the @tensorflow/tfjs umbrella, which would also bundle
// webgl, converter and data. Backends beyond cpu are registered in backend.ts.
// tfjs-core's package entry comes first: the deep imports below resolve to its dist files, and
// loading the entry after them would register a second copy of the op and gradient tables.
import '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import '@tensorflow/tfjs-backend-cpu';
import { registerEngineGradients } from './kernels/gradients';

// After tfjs-core's gradients (above), so the engine's replacements overwrite theirs.
registerEngineGradients();

export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-layers';
