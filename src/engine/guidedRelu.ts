// Guided backpropagation's ReLU (Springenberg et al., 2015; Captum's GuidedBackprop): the forward
// value is the ordinary ReLU (or ReLU6), but the backward pass lets a gradient through only where
// the input was positive (in range, for ReLU6) AND the incoming gradient is positive.
//
// Why a substituted op and not a swapped gradient: tfjs registers one gradient per kernel, but a
// Conv2D/Dense layer with a relu activation runs a *fused* kernel whose backward pass applies the
// ReLU derivative inside the fused op's own custom gradient, never the 'Relu' kernel's gradient.
// So the graph executor (graph.ts) runs such layers with a linear activation and applies this op
// after them; tf.customGrad is backend-independent (its gradient uses Greater/Less/Mul/Relu, which
// every backend, wasm included, has).
import * as tf from './tf';

type Save = (tensors: tf.Tensor[]) => void;

const guidedRelu = tf.customGrad((x, save) => {
  const input = x as tf.Tensor;
  (save as Save)([input]);
  return {
    value: tf.relu(input),
    gradFunc: (dy, saved) => tf.mul(tf.relu(dy as tf.Tensor), tf.cast(tf.greater(saved[0], 0), 'float32')),
  };
});

function guidedClippedRelu(maxValue: number): (x: tf.Tensor) => tf.Tensor {
  return tf.customGrad((x, save) => {
    const input = x as tf.Tensor;
    (save as Save)([input]);
    return {
      value: tf.clipByValue(input, 0, maxValue),
      gradFunc: (dy, saved) => {
        const open = tf.logicalAnd(tf.greater(saved[0], 0), tf.less(saved[0], maxValue));
        return tf.mul(tf.relu(dy as tf.Tensor), tf.cast(open, 'float32'));
      },
    };
  }) as (x: tf.Tensor) => tf.Tensor;
}

const clipped = new Map<number, (x: tf.Tensor) => tf.Tensor>();

/** ReLU (maxValue undefined) or ReLU capped at maxValue, with guided backpropagation's gradient. */
export function applyGuidedRelu(x: tf.Tensor, maxValue?: number): tf.Tensor {
  if (maxValue === undefined || maxValue === null) {
    return guidedRelu(x) as tf.Tensor;
  }
  let fn = clipped.get(maxValue);
  if (!fn) {
    fn = guidedClippedRelu(maxValue);
    clipped.set(maxValue, fn);
  }
  return fn(x);
}

/** The ReLU a layer applies, if guided backprop should replace it: its cap, or null for none. */
export function reluCapOf(activationClassName: string | undefined): number | undefined | null {
  if (activationClassName === 'relu') {
    return undefined;
  }
  if (activationClassName === 'relu6') {
    return 6;
  }
  return null;
}
