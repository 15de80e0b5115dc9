// Identity for the wasm backend without the copy: wasm 4.22's kernel copies the whole buffer, and
// tfjs-layers reads every weight through Identity on each gradient pass (a MobileNetV2 input
// gradient runs it about 600 times). Tensors are immutable and a Variable's assign() swaps its
// data id rather than writing into the buffer, so sharing the buffer with a reference count is
// exactly what the cpu backend's Identity and wasm's own Reshape already do.
import * as tf from '../../tf';
import { WASM, requireInputs } from './wasmOps';

interface RefCountingBackend {
  incRef(dataId: tf.DataId): void;
}

const identity: tf.KernelFunc = ({ inputs, backend }) => {
  const { x } = requireInputs(tf.Identity, inputs, ['x']);
  (backend as unknown as RefCountingBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

export const identityConfig: tf.KernelConfig = {
  kernelName: tf.Identity,
  backendName: WASM,
  kernelFunc: identity,
};
