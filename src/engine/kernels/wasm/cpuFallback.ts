// A wasm kernel that runs the cpu backend's registered kernel of the same name on copies of its
// inputs and writes the result into a wasm output. Used where tfjs-backend-wasm 4.22 has a kernel
// that computes wrong values (see index.ts) and the cpu kernel is right, cheap (linear in the data)
// and simple: an exact fix without re-implementing the operation. The copies cost one pass over
// the inputs and the output; the computation itself is the cpu backend's JavaScript loop.
import * as tf from '../../tf';
import { WASM, type WasmBackend } from './wasmOps';

const CPU = 'cpu';

function cpuBackend(kernelName: string): tf.KernelBackend {
  // findBackend initialises the cpu backend on first use (it is synchronous and always registered
  // by tf.ts); it does not change the active backend.
  const backend = tf.findBackend(CPU);
  if (!backend) {
    throw new Error(`src/engine/kernels/wasm: ${kernelName} on wasm runs the cpu kernel, but the cpu backend is not available.`);
  }
  return backend;
}

export function cpuFallbackConfig(kernelName: string): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = ({ inputs, attrs, backend }) => {
    const cpuKernel = tf.getKernel(kernelName, CPU);
    if (!cpuKernel) {
      throw new Error(`src/engine/kernels/wasm: the cpu backend has no "${kernelName}" kernel to run for wasm.`);
    }
    const wasm = backend as WasmBackend;
    const cpu = cpuBackend(kernelName);
    const cpuInputs: tf.NamedTensorInfoMap = {};
    const written: tf.DataId[] = [];
    try {
      for (const [name, info] of Object.entries(inputs)) {
        if (!info) continue;
        // readSync copies out of the wasm heap, so later wasm allocations cannot move the data.
        const values = wasm.readSync(info.dataId) as tf.backend_util.BackendValues;
        const dataId = cpu.write(values, info.shape, info.dtype);
        written.push(dataId);
        cpuInputs[name] = { dataId, shape: info.shape, dtype: info.dtype };
      }
      const result = cpuKernel.kernelFunc({ inputs: cpuInputs, attrs, backend: cpu });
      if (Array.isArray(result)) {
        written.push(...result.map((r) => r.dataId));
        throw new Error(`src/engine/kernels/wasm: the cpu "${kernelName}" kernel returned ${result.length} tensors; the fallback handles one.`);
      }
      written.push(result.dataId);
      const values = cpu.readSync(result.dataId) as Float32Array | Int32Array | Uint8Array;
      const out = wasm.makeOutput([...result.shape], result.dtype);
      wasm.typedArrayFromHeap(out).set(values);
      return out;
    } finally {
      for (const dataId of written) {
        cpu.disposeData(dataId, true);
      }
    }
  };
  return { kernelName, backendName: WASM, kernelFunc };
}
