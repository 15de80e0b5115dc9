// The masked gradient of ReLU, ReLU6 and clipByValue (src/engine/kernels/gradients/maskedGradient.ts) for
// the wasm backend. Measured on [8, 112, 112, 64] float32 tensors (wasm 4.22, SIMD, warm):
// - clipByValue: tfjs-core's five kernels 83 ms, the shared one-pass loop on the heap 15 ms;
// - ReLU6: tfjs-core's five kernels 34 ms, the loop 19 ms;
// - ReLU: tfjs-core's Step + Cast (a no-op on float32) + Multiply 5 ms, the loop 20 ms: wasm's
//   SIMD kernels beat a JS loop when there are only two of them, so ReLU runs exactly those two.
import * as tf from '../../tf';
import { MaskedGrad, checkMaskedGradInputs, maskedGradient, type MaskedGradAttrs } from '../gradients/maskedGradient';
import { WASM, type WasmBackend, withScratch } from './wasmOps';

/** ReLU's mask: x > 0, NaN for NaN, which is what wasm's Step(x, alpha 0) computes. */
function isReluMask(attrs: MaskedGradAttrs): boolean {
  return attrs.combine === 'multiply' && attrs.lower === 0 && !attrs.lowerInclusive && attrs.upper === Infinity;
}

const maskedGradWasm: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, x } = checkMaskedGradInputs(inputs);
  const masked = attrs as unknown as MaskedGradAttrs;
  if (isReluMask(masked)) {
    return withScratch(backend, (scratch) => scratch.run(tf.Multiply, { a: dy, b: scratch.run(tf.Step, { x }, { alpha: 0 }) }));
  }
  const wasm = backend as WasmBackend;
  const out = wasm.makeOutput(x.shape, 'float32');
  // Views after makeOutput: an allocation may grow (and move) the wasm memory.
  maskedGradient(
    wasm.typedArrayFromHeap(x) as Float32Array,
    wasm.typedArrayFromHeap(dy) as Float32Array,
    wasm.typedArrayFromHeap(out) as Float32Array,
    masked,
  );
  return out;
};

export const maskedGradWasmConfig: tf.KernelConfig = { kernelName: MaskedGrad, backendName: WASM, kernelFunc: maskedGradWasm };
