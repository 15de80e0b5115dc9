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
import * as tf from '../tf';

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

/**
 * What the graph executor tells an operator node (graph models, ONNX) about the pass it runs in.
 * It travels with each call (the call's kwargs, then the node's run), never in module state, so a
 * guided pass and a plain one running side by side (a compare, helper workers) cannot mix.
 */
export interface NodePass {
  /** Guided backpropagation: every ReLU-family node passes back only positive gradients. */
  readonly guided?: boolean;
}

/** The kwarg under which graph.ts hands a node layer its NodePass (tfjs layers ignore kwargs they do not know). */
export const NODE_PASS_KWARG = 'cnnLensNodePass';

/**
 * The one ReLU every operator node runs (graph models' Relu, Relu6 and fused activations, ONNX
 * Relu and Clip(0, cap)): capped at `cap` when given, guided in a guided pass. Outside a guided
 * pass it is the plain op, with tfjs's own gradient.
 */
export function nodeRelu(x: tf.Tensor, pass: NodePass | undefined, cap?: number): tf.Tensor {
  if (pass?.guided === true) {
    return applyGuidedRelu(x, cap === Infinity ? undefined : cap);
  }
  if (cap === undefined || cap === Infinity) {
    return tf.relu(x);
  }
  return cap === 6 ? tf.relu6(x) : tf.clipByValue(x, 0, cap);
}
